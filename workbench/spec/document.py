"""Spec files: YAML in, YAML out, key order kept, syntax errors with line and column.

A spec is read with limits (size, nesting, what aliases expand to) and only the values
JSON has, so that nothing downstream (validation, json.dumps of the record, the TUI)
can be crashed or held up by a document: each refusal is one line naming the limit.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import SpecError
from workbench.fileio import write_text_atomic

MAX_SPEC_BYTES = 1024 * 1024  # a CreateTrainingJob request is a few KB; PyYAML reads ~1.5 MB/s
MAX_NESTING = 50  # CreateTrainingJob nests 6 levels deep
MAX_VALUES = 1_000_000  # what aliases (*name) may expand a document to: about what 1 MiB holds written out
_REFUSED_TAGS = ("binary", "timestamp", "set", "omap", "pairs")


class _Refused(yaml.MarkedYAMLError):
    """YAML that parses but that a spec does not take; `problem` is the whole message."""


class _StrictLoader(yaml.SafeLoader):
    """Safe loader for specs: duplicate keys refused (PyYAML silently keeps the last one),
    dates left as the text written (the API has no timestamps; `start: 2024-01-01` in
    HyperParameters means the string), tags for values JSON lacks refused, nesting bounded
    (PyYAML composes recursively) and alias expansion bounded (no "billion laughs")."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = False

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases = True
        elif self.check_event(yaml.CollectionStartEvent):
            if self._depth >= MAX_NESTING:
                raise _Refused(None, None, f"nested more than {MAX_NESTING} levels deep; a spec is a few "
                                           "levels of mappings and lists", self.peek_event().start_mark)
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)

    def compose_document(self):
        node = super().compose_document()
        if node is not None and self._aliases:
            _check_expansion(node)
        return node


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document that its aliases make recursive, deeper than MAX_NESTING or
    bigger than MAX_VALUES values (each use of an alias counts in full downstream)."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth)
    visiting: set[int] = set()

    def measure(node: yaml.Node) -> tuple[int, int]:  # recursion follows the text: at most MAX_NESTING deep
        key = id(node)
        if key in measured:
            return measured[key]
        if key in visiting:
            raise _Refused(None, None, "an alias (*name) refers to a list or mapping that holds it; "
                                       "a spec cannot contain itself", node.start_mark)
        children: list = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        visiting.add(key)
        values, depth = 1, 0
        for child in children:
            child_values, child_depth = measure(child)
            values, depth = min(values + child_values, MAX_VALUES + 1), max(depth, child_depth)
        visiting.discard(key)
        depth += isinstance(node, yaml.CollectionNode)
        if depth > MAX_NESTING:
            raise _Refused(None, None, f"its aliases (*name) nest it more than {MAX_NESTING} levels deep; "
                                       "a spec is a few levels of mappings and lists", node.start_mark)
        measured[key] = (values, depth)
        return values, depth

    if measure(root)[0] > MAX_VALUES:
        raise _Refused(None, None, f"its aliases (*name) expand it to more than {MAX_VALUES:,} values; "
                                   "write the spec out without them", root.start_mark)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    result: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            raise _Refused(None, None, f"a key must be a plain value, not a {type(key).__name__}; "
                                       "write it as a string", key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"found the key {key!r} twice; keep one of them", key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> int:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise _Refused(None, None, f"a number of {len(node.value):,} characters is too long to use; no field "
                                   "takes one (quote it to make it a string)", node.start_mark) from None


def _refuse_tag(loader: _StrictLoader, node: yaml.Node) -> None:
    tag = node.tag.rsplit(":", 1)[-1]
    raise _Refused(None, None, f"!!{tag} values cannot go in a spec (the API takes strings, numbers, "
                               "booleans, lists and mappings); write the value as a plain string",
                   node.start_mark)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
for _tag in _REFUSED_TAGS:
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, long strings unwrapped."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _too_big(source: str) -> SpecError:
    return SpecError(f"{source}: bigger than {MAX_SPEC_BYTES // (1024 * 1024)} MiB, the most a spec may be "
                     "(a CreateTrainingJob request is a few KB); check that this is the spec file")


def parse_yaml_value(text: str, source: str = "spec") -> Any:
    """YAML text -> a value, read by the spec's rules and limits (`--set` values, form fields)."""
    if len(text) > MAX_SPEC_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise _too_big(source)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as err:
        mark = err.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise SpecError(f"{where}: {err.problem}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = err.problem or err.context or "invalid YAML"
        raise SpecError(f"{where}: YAML syntax error: {what}") from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (NUL, control characters)
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise SpecError(f"{source}:{line}:{column}: not YAML text: character #x{err.character:04x} is not "
                        "allowed (is this a binary file?)") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{source}: YAML error: {' '.join(str(err).split())}") from None


def parse_spec_text(text: str, source: str = "spec") -> dict:
    """YAML text -> spec dict. An empty document is an empty spec."""
    data = parse_yaml_value(text, source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a spec is a mapping of CreateTrainingJob fields "
            f"(TrainingJobName:, AlgorithmSpecification:, ...), not a {type(data).__name__}"
        )
    return data


def read_spec_file(path: Path | str) -> dict:
    """Read at most MAX_SPEC_BYTES (+1 to know there is more): never all of /dev/zero."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file; check the path") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a folder; give the spec's .yaml file") from None
    except OSError as err:
        raise SpecError(f"{path}: cannot read it ({err})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise _too_big(str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: cannot read it: not UTF-8 text (byte {err.start + 1} is not; "
                        "is this a binary file?)") from None
    return parse_spec_text(text, str(path))


def dump_spec(data: dict) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
        allow_unicode=True, width=1000,
    )


def write_spec_file(path: Path | str, data: dict) -> None:
    write_text_atomic(path, dump_spec(data))
