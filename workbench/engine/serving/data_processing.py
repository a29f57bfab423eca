"""DataProcessing of a batch transform: InputFilter, JoinSource, OutputFilter.

The developer guide (batch-transform-data-processing) supports a subset of JSONPath: `$`,
`.name`, `*`, `['name'(,'name')]`, `[n(,n)]` (negative indexes count from the end) and
`[start:end]`, where the colon "tells SageMaker to include all of the elements between two
values, inclusive" (`$[1:4]` is the second through fifth columns: unlike Python, the end is
included); an omitted start is the first element, an omitted end the last. Selectors may
be mixed in one bracket (`$[0,5:]`, the API's own example). A CSV row is "taken as a JSON
array", so only index paths apply to it. An index outside the record is an error.

JoinSource Input: a JSON object gains the output under `SageMakerOutput`; anything else
becomes `{"SageMakerInput": ..., "SageMakerOutput": ...}`; a CSV row gets the output's
columns appended (`[1,2,3]` and `[1]` give `1,2,3,1`). The join uses the input as read,
before the InputFilter. OutputFilter then picks from the joined record (or, without a
join, from the output).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkbenchError

CSV = "text/csv"
_TOKEN = re.compile(r"\.(\*|[A-Za-z_][A-Za-z0-9_\-]*)|\[([^\]]*)\]")


class PathError(WorkbenchError):
    pass


@dataclass(frozen=True)
class Step:
    kind: str  # name, names, wildcard, indexes
    names: tuple[str, ...] = ()
    items: tuple[tuple[int | None, int | None, bool], ...] = ()  # (start, end, is_slice); an index: (i, i, False)

    @property
    def many(self) -> bool:
        """Selects a list (or an object of several names), not one value."""
        return self.kind == "wildcard" or len(self.names) > 1 or len(self.items) > 1 or \
            any(is_slice for _, _, is_slice in self.items)


def parse(path: str) -> list[Step]:
    """The steps of a JSONPath of the supported subset; PathError otherwise."""
    text = (path or "$").strip()
    if not text.startswith("$"):
        raise PathError(f"JSONPath {path!r} must start with $")
    steps: list[Step] = []
    position = 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise PathError(f"JSONPath {path!r}: cannot read {text[position:]!r}; supported: $, .name, .*, "
                            "['a','b'], [1,3], [-1], [2:5] (inclusive), [*]")
        position = match.end()
        if match.group(1) is not None:
            steps.append(Step("wildcard") if match.group(1) == "*" else Step("name", (match.group(1),)))
        else:
            steps.append(_bracket(match.group(2).strip(), path))
    return steps


def _bracket(inner: str, path: str) -> Step:
    if inner == "*":
        return Step("wildcard")
    parts = [part.strip() for part in inner.split(",")]
    if all(len(p) >= 2 and p[0] == p[-1] and p[0] in "'\"" for p in parts):
        return Step("names", tuple(p[1:-1] for p in parts))
    items = []
    for part in parts:
        try:
            if ":" in part:
                start, _, end = part.partition(":")
                items.append((int(start) if start.strip() else None, int(end) if end.strip() else None, True))
            else:
                index = int(part)
                items.append((index, index, False))
        except ValueError:
            raise PathError(f"JSONPath {path!r}: [{inner}] is neither indexes, a slice nor quoted names") from None
    return Step("indexes", items=tuple(items))


def select(value: Any, steps: list[Step], path: str = "$") -> Any:
    """The part of `value` the steps pick."""
    for step in steps:
        value = _apply(value, step, path)
    return value


def _apply(value: Any, step: Step, path: str) -> Any:
    if step.kind == "wildcard":
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, list):
            return list(value)
        raise PathError(f"JSONPath {path!r}: * needs an object or an array, not {_kind(value)}")
    if step.kind in ("name", "names"):
        if not isinstance(value, dict):
            raise PathError(f"JSONPath {path!r}: a name needs a JSON object, not {_kind(value)}")
        missing = [name for name in step.names if name not in value]
        if missing:
            raise PathError(f"JSONPath {path!r}: the record has no {missing[0]!r}")
        if len(step.names) == 1:
            return value[step.names[0]]
        return {name: value[name] for name in step.names}
    if not isinstance(value, list):
        raise PathError(f"JSONPath {path!r}: an index needs an array (a CSV row), not {_kind(value)}")
    picked: list[Any] = []
    size = len(value)
    for start, end, is_slice in step.items:
        first = 0 if start is None else start + size if start < 0 else start
        last = size - 1 if end is None else end + size if end < 0 else end
        if not is_slice:
            if not 0 <= first < size:
                raise PathError(f"JSONPath {path!r}: index {start} is outside the record's {size} elements")
            picked.append(value[first])
            continue
        if first < 0 or first >= size or last >= size:
            raise PathError(f"JSONPath {path!r}: the slice {_slice_text(start, end)} (inclusive) reaches outside "
                            f"the record's {size} elements")
        picked.extend(value[first:last + 1])
    return picked if step.many else picked[0]


def _slice_text(start: int | None, end: int | None) -> str:
    return f"[{'' if start is None else start}:{'' if end is None else end}]"


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def is_identity(path: str | None) -> bool:
    return (path or "$").strip() == "$"


# --- records in and out ----------------------------------------------------------------


def _parse_csv(data: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return rows[0] if rows else []


def _csv(values: Any) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values if isinstance(values, list) else [values])
    return out.getvalue().encode("utf-8")


def _parse(data: bytes, content_type: str) -> Any:
    if content_type == CSV:
        return _parse_csv(data)
    try:
        return json.loads(data)
    except ValueError:
        raise PathError(f"a record is not valid JSON ({data[:60]!r}); DataProcessing needs JSON or CSV") from None


def _dump(value: Any, content_type: str) -> bytes:
    if content_type == CSV:
        return _csv(value)
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def filter_input(record: bytes, content_type: str, input_filter: str | None) -> bytes:
    """What is sent to the model of one input record."""
    if is_identity(input_filter):
        return record
    steps = parse(input_filter or "$")
    return _dump(select(_parse(record, content_type), steps, input_filter or "$"), content_type)


def join_output(original: bytes, output: bytes, content_type: str, accept: str, join_source: str | None,
                output_filter: str | None) -> bytes:
    """One output record as it is written: joined with its input (JoinSource Input), then filtered."""
    joining = join_source == "Input"
    if not joining and is_identity(output_filter):
        return output
    out_type = CSV if accept == CSV else "application/json"
    produced = _parse(output, out_type) if out_type == CSV else _parse_output_json(output)
    if joining:
        source = _parse(original, content_type)
        if content_type == CSV:
            joined: Any = list(source) + (produced if isinstance(produced, list) else [produced])
        elif isinstance(source, dict):
            joined = {**source, "SageMakerOutput": produced}
        else:
            joined = {"SageMakerInput": source, "SageMakerOutput": produced}
        result_type = content_type
    else:
        joined, result_type = produced, out_type
    if not is_identity(output_filter):
        joined = select(joined, parse(output_filter or "$"), output_filter or "$")
    return _dump(joined, result_type)


def _parse_output_json(output: bytes) -> Any:
    try:
        return json.loads(output)
    except ValueError:
        return output.decode("utf-8", errors="replace")  # a model answering plain text: joined as a string


def split_outputs(body: bytes, count: int, accept: str) -> list[bytes]:
    """One answer for `count` records, cut into one output per record (needed to join):
    JSON Lines and CSV by line, a JSON array by element. The count must match."""
    if count == 1:
        return [body.rstrip(b"\n")]
    if accept == "application/json":
        try:
            values = json.loads(body)
        except ValueError:
            values = None
        if isinstance(values, list) and len(values) == count:
            return [json.dumps(v, separators=(",", ":")).encode("utf-8") for v in values]
    lines = [line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()]
    if len(lines) != count:
        raise PathError(f"the container answered {len(lines)} lines for a mini-batch of {count} records; to join "
                        "or filter outputs each record needs one output line (or use BatchStrategy SingleRecord)")
    return lines
