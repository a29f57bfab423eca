"""A job's metric samples: as recorded while it ran, or read again from its stored output
with other definitions (so a regex is fixed against real output without a rerun).

Both stream: a job's log is read in bounded batches and never held whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from workbench.engine import events as ev
from workbench.engine.metrics.extract import Extractor
from workbench.errors import SpecInvalid, WorkbenchError
from workbench.spec.metrics import compile_definitions, definition_problems
from workbench.spec import Problem

BATCH_LINES = 2000  # lines read again per extraction call
PREVIEW_EXAMPLES = 5


def is_metric_event(event: ev.Event) -> bool:
    return isinstance(event, (ev.MetricSamples, ev.MetricSample))


def check_definitions(definitions: list[dict], source: str) -> list[Problem]:
    """Definitions given on the command line or in a file, checked as `validate` checks a
    spec's: SpecInvalid for any that cannot work, the warnings returned."""
    problems = []
    if not definitions:
        raise WorkbenchError(f"{source}: no MetricDefinitions given; use --regex NAME=REGEX or a spec that has "
                             "AlgorithmSpecification.MetricDefinitions")
    for index, item in enumerate(definitions):
        if not (isinstance(item, dict) and isinstance(item.get("Name"), str) and item["Name"]
                and isinstance(item.get("Regex"), str) and item["Regex"]):
            problems.append(Problem(f"MetricDefinitions[{index}]", "needs a Name and a Regex, both non-empty"))
    for path, message, severity in definition_problems(definitions):
        problems.append(Problem("MetricDefinitions" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in path), message, severity))
    if any(p.severity == "error" for p in problems):
        raise SpecInvalid(problems, source)
    return [p for p in problems if p.severity != "error"]


def reextract(lines: Iterable[tuple[float, str, str]], definitions: list[dict]) -> Iterator[ev.MetricSamples]:
    """MetricSamples for (time, host, text) lines, as the engine would have read them with
    these definitions; each batch's samples in time order."""
    extractor = Extractor(compile_definitions(definitions))
    pending: dict[str, list[tuple[float, str]]] = {}
    count = 0

    def flush() -> Iterator[ev.MetricSamples]:
        found = [ev.MetricSamples(host, tuple(points), time=points[-1][0])
                 for host, batch in pending.items() if (points := extractor.extract(batch))]
        pending.clear()
        yield from sorted(found, key=lambda e: e.points[0][0])

    for moment, host, text in lines:
        pending.setdefault(host, []).append((moment, text))
        count += 1
        if count >= BATCH_LINES:
            yield from flush()
            count = 0
    yield from flush()


@dataclass
class Matched:
    """What one definition finds in a job's last run (the composer's live check)."""

    name: str
    regex: str
    problem: str = ""  # does not compile, no group
    lines: int = 0  # lines it matched
    values: int = 0  # of which gave a number
    examples: list[tuple[str, str, float | None]] = field(default_factory=list)  # (host, line, value)


def preview(lines: Iterable[tuple[float, str, str]], definitions: list[dict]) -> list[Matched]:
    """For each definition: how many of these lines it matches, how many give a number,
    and the first few lines with their values."""
    compiled = compile_definitions(definitions)
    results = []
    for definition in compiled:
        problem = ""
        if definition.pattern is None:
            problem = f"does not compile: {definition.error}"
        elif not definition.usable:
            problem = "has no capture group: no value is read"
        results.append(Matched(definition.name, definition.regex, problem))
    kept = list(lines)
    for definition, result in zip(compiled, results):
        if definition.pattern is None:
            continue
        extractor = Extractor([definition]) if definition.usable else None
        for moment, host, text in kept:
            match = definition.pattern.search(text)
            if match is None:
                continue
            result.lines += 1
            value = None
            if extractor is not None:
                points = extractor.extract([(moment, text)])
                value = points[0][2] if points else None
            if value is not None:
                result.values += 1
            if len(result.examples) < PREVIEW_EXAMPLES:
                result.examples.append((host, text, value))
    return results


def last_run(records: list[dict], spec: dict) -> str | None:
    """The job a spec's regexes are best checked against: one of the spec's name, else the
    newest (records come newest first) that ran the same image, entrypoint and arguments."""
    name = spec.get("TrainingJobName")
    if name and any(r.get("TrainingJobName") == name for r in records):
        return name
    algo = spec.get("AlgorithmSpecification") or {}
    wanted = tuple(algo.get(key) for key in ("TrainingImage", "ContainerEntrypoint", "ContainerArguments"))
    if not wanted[0]:
        return None
    for record in records:
        ran = record.get("AlgorithmSpecification") or {}
        if tuple(ran.get(key) for key in ("TrainingImage", "ContainerEntrypoint", "ContainerArguments")) == wanted:
            return record.get("TrainingJobName")
    return None
