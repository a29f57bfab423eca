"""Spec files: YAML in, YAML out, key order kept, syntax errors with line and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.errors import SpecError
from workbench.fileio import write_text_atomic


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    result: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in result:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"found the key {key!r} twice; keep one of them", key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, long strings unwrapped."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def parse_spec_text(text: str, source: str = "spec") -> dict:
    """YAML text -> spec dict. An empty document is an empty spec."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = err.problem or err.context or "invalid YAML"
        raise SpecError(f"{where}: YAML syntax error: {what}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{source}: YAML error: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a spec is a mapping of CreateTrainingJob fields "
            f"(TrainingJobName:, AlgorithmSpecification:, ...), not a {type(data).__name__}"
        )
    return data


def read_spec_file(path: Path | str) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file; check the path") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a folder; give the spec's .yaml file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: cannot read it ({err})") from None
    return parse_spec_text(text, str(path))


def dump_spec(data: dict) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
        allow_unicode=True, width=1000,
    )


def write_spec_file(path: Path | str, data: dict) -> None:
    write_text_atomic(path, dump_spec(data))
