"""`--set Path=value` overrides, typed by the API model (and by the Workbench settings)."""

from __future__ import annotations

from typing import Any

from workbench.errors import SpecError, WorkbenchError
from workbench.spec.document import parse_yaml_value
from workbench.spec.model import OPERATION, request_model
from workbench.spec.paths import format_path, parse_path
from workbench.spec.settings import WORKBENCH_KEY, setting_fields, setting_kind


def _typed(raw: str, kind: str, where: str) -> Any:
    """Convert the text after `=` to the type the field takes."""
    if kind in ("string", "str"):
        return raw
    if kind in ("integer", "long", "int"):
        try:
            return int(raw)
        except ValueError:
            raise WorkbenchError(f"--set {where}: {raw!r} is not a whole number") from None
    if kind in ("float", "double"):
        try:
            return float(raw)
        except ValueError:
            raise WorkbenchError(f"--set {where}: {raw!r} is not a number") from None
    if kind in ("boolean", "bool"):
        lowered = raw.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise WorkbenchError(f"--set {where}: {raw!r} is not true or false")
    try:  # lists, mappings and custom kinds are written as YAML: [a, b] or {k: v}
        return parse_yaml_value(raw, f"--set {where}")
    except SpecError as err:
        raise WorkbenchError(f"{err}; write lists as [a, b] and mappings as {{k: v}}") from None


def _field_kind(parts: list, operation: str = OPERATION, settings: dict[str, str] | None = None) -> str:
    """The type of the field `parts` names, in `operation`'s request model or, under
    `Workbench:`, among `settings` (name to kind; default: the training spec's settings)."""
    where = format_path(parts)
    if parts[0] == WORKBENCH_KEY:
        if len(parts) == 1:
            return "dict"
        name = parts[1]
        known = settings if settings is not None else {n: setting_kind(n) for n in setting_fields()}
        if not isinstance(name, str) or name not in known:
            raise WorkbenchError(
                f"--set {where}: unknown Workbench setting; known: {', '.join(known)}"
            )
        return known[name] if len(parts) == 2 else "yaml"
    shape = request_model(operation).root
    walked: list = []
    for part in parts:
        if shape.type == "structure":
            if not isinstance(part, str) or part not in shape.members:
                raise WorkbenchError(
                    f"--set {where}: {format_path(walked) or 'the spec'} has no field {part!r}; "
                    f"{shape.name} accepts: {', '.join(shape.members)}"
                )
            shape = shape.members[part]
        elif shape.type == "list":
            if not isinstance(part, int):
                raise WorkbenchError(f"--set {where}: {format_path(walked)} is a list; index it like [0]")
            shape = shape.member
        elif shape.type == "map":
            shape = shape.value
        else:
            raise WorkbenchError(f"--set {where}: {format_path(walked)} is a single value; it has no {part!r}")
        walked.append(part)
    return shape.type


def apply_override(data: dict, assignment: str, operation: str = OPERATION,
                   settings: dict[str, str] | None = None) -> dict:
    """Apply one `Path=value` to `data` in place (creating missing parents); returns data.
    `operation` and `settings` type the fields of specs other than training specs."""
    if "=" not in assignment:
        raise WorkbenchError(f"--set {assignment!r}: write it as Field.Path=value, e.g. HyperParameters.epochs=5")
    path_text, raw = assignment.split("=", 1)
    parts = parse_path(path_text)
    value = _typed(raw, _field_kind(parts, operation, settings), path_text.strip())
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        following = parts[depth + 1]
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            if not isinstance(node, list):
                raise WorkbenchError(f"--set {path_text}: {format_path(parts[:depth])} is not a list in the spec")
            if part == len(node):
                node.append(empty)
            elif not -len(node) <= part < len(node):
                raise WorkbenchError(
                    f"--set {path_text}: {format_path(parts[:depth])} has {len(node)} items; "
                    f"use an index below {len(node)}, or {len(node)} to add one"
                )
            if node[part] is None:
                node[part] = empty
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise WorkbenchError(f"--set {path_text}: {format_path(parts[:depth])} is not a mapping in the spec")
            if node.get(part) is None:
                node[part] = empty
            node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise WorkbenchError(f"--set {path_text}: {format_path(parts[:-1])} is not a list in the spec")
        if last == len(node):
            node.append(value)
        elif -len(node) <= last < len(node):
            node[last] = value
        else:
            raise WorkbenchError(f"--set {path_text}: index {last} is past the end ({len(node)} items)")
    else:
        if not isinstance(node, dict):
            raise WorkbenchError(f"--set {path_text}: {format_path(parts[:-1])} is not a mapping in the spec")
        node[last] = value
    return data


def apply_overrides(data: dict, assignments: list[str] | tuple[str, ...], operation: str = OPERATION,
                    settings: dict[str, str] | None = None) -> dict:
    for assignment in assignments or ():
        apply_override(data, assignment, operation, settings)
    return data
