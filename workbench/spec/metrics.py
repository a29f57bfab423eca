"""MetricDefinitions as SageMaker reads them: each Regex compiled once, here, for both
`validate` (one line per problem) and the engine's extraction (`engine/metrics`).

SageMaker documents its regexes as Python regular expressions and reads a metric's
value from the first capture group. A regex that does not compile can never match, so
it is refused; one without a group, or a name used twice, is accepted by SageMaker and
so only warned about here (what the workbench does with them: docs/metrics.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

FIELD = ("AlgorithmSpecification", "MetricDefinitions")


@dataclass(frozen=True)
class MetricRegex:
    """One definition, compiled. `pattern` is None when the regex does not compile, and
    `usable` only when it compiles and has a group to read the value from."""

    name: str
    regex: str
    pattern: re.Pattern | None
    error: str = ""  # why it does not compile

    @property
    def usable(self) -> bool:
        return self.pattern is not None and self.pattern.groups > 0


def compile_regex(name: str, regex: str) -> MetricRegex:
    try:
        return MetricRegex(name, regex, re.compile(regex))
    except (re.error, RecursionError, OverflowError) as err:
        where = f" at position {err.pos}" if getattr(err, "pos", None) is not None else ""
        message = getattr(err, "msg", None) or str(err)
        return MetricRegex(name, regex, None, f"{message}{where}")


def metric_definitions(spec: dict) -> list[dict]:
    """The spec's AlgorithmSpecification.MetricDefinitions ([] when it has none)."""
    algo = spec.get("AlgorithmSpecification") if isinstance(spec, dict) else None
    found = algo.get("MetricDefinitions") if isinstance(algo, dict) else None
    return found if isinstance(found, list) else []


def _entries(definitions: Any) -> Iterator[tuple[int, str, str]]:
    """(index, name, regex) of the well-formed items; the model walk reports the others."""
    if not isinstance(definitions, list):
        return
    for index, item in enumerate(definitions):
        if isinstance(item, dict) and isinstance(item.get("Name"), str) and isinstance(item.get("Regex"), str):
            yield index, item["Name"], item["Regex"]


def compile_definitions(definitions: Any) -> list[MetricRegex]:
    """Every well-formed definition, compiled (usable or not), in the spec's order."""
    return [compile_regex(name, regex) for _, name, regex in _entries(definitions)]


def definition_problems(definitions: Any) -> list[tuple[list, str, str]]:
    """(path under MetricDefinitions, message, severity) for each definition SageMaker
    would refuse or that would never give a value."""
    problems: list[tuple[list, str, str]] = []
    first_of: dict[str, int] = {}
    for index, name, regex in _entries(definitions):
        if not regex:
            continue  # the model walk says it is too short
        compiled = compile_regex(name, regex)
        if compiled.pattern is None:
            problems.append(([index, "Regex"], f"does not compile as a regular expression: {compiled.error}",
                             "error"))
        elif compiled.pattern.groups == 0:
            problems.append(([index, "Regex"], f"{name!r} has no capture group, so no value is ever read: "
                             "SageMaker takes the value from the first group; put the number in ( ), "
                             "e.g. loss=([0-9.eE+-]+)", "warning"))
        if name in first_of:
            problems.append(([index, "Name"], f"{name!r} is also defined at MetricDefinitions[{first_of[name]}]: "
                             "both regexes feed one metric (one series, one FinalMetricDataList entry)", "warning"))
        else:
            first_of[name] = index
    return problems
