"""The tuning monitor's header: status, the objective and strategy, the limits, and the
counters DescribeHyperParameterTuningJob gives (training jobs by status, objectives)."""

from __future__ import annotations

from typing import Callable

from textual.widgets import Static

from workbench.engine import api
from workbench.engine.record import record_kind, record_name, record_secondary, record_status
from workbench.tui.formatting import elapsed, first_line, human_seconds, status_colour
from workbench.tui.widgets.job_header import escape

JOB_COUNTERS = ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped")
OBJECTIVE_COUNTERS = ("Succeeded", "Pending", "Failed")


def counters_line(record: dict) -> str:
    """"training jobs 3 Completed · 1 InProgress …" and "objectives 3 Succeeded …" (the
    counters that are not zero, so the header stays short in a narrow terminal)."""
    def part(counts: dict, keys: tuple[str, ...]) -> str:
        return " · ".join(f"{counts[k]} {k}" for k in keys if counts.get(k)) or "none yet"

    return (f"training jobs {part(record.get('TrainingJobStatusCounters') or {}, JOB_COUNTERS)}\n"
            f"objectives {part(record.get('ObjectiveStatusCounters') or {}, OBJECTIVE_COUNTERS)}")


def settings_line(record: dict) -> str:
    """The objective, the strategy, early stopping and the limits."""
    config = record.get("HyperParameterTuningJobConfig") or {}
    objective = api.tuning_objective(record)
    limits = config.get("ResourceLimits") or {}
    parts = [f"{objective.get('Type', '?')} {escape(str(objective.get('MetricName', '?')))}",
             f"strategy {config.get('Strategy', 'Bayesian')}",
             f"early stopping {config.get('TrainingJobEarlyStoppingType', 'Off')}"]
    if limits.get("MaxNumberOfTrainingJobs"):
        parts.append(f"{limits['MaxNumberOfTrainingJobs']} jobs, {limits.get('MaxParallelTrainingJobs', 1)} parallel")
    if limits.get("MaxRuntimeInSeconds"):
        parts.append(f"MaxRuntime {human_seconds(float(limits['MaxRuntimeInSeconds']))}")
    return " · ".join(parts)


def best_line(record: dict) -> str:
    best = record.get("BestTrainingJob") or {}
    metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    if not best:
        return "best: none yet (no training job has reported the objective)"
    return f"best: [b $success]{escape(best.get('TrainingJobName', '?'))}[/] {metric.get('Value', '?'):.6g}" \
        if isinstance(metric.get("Value"), (int, float)) else f"best: {escape(best.get('TrainingJobName', '?'))}"


class TuningHeader(Static):
    """Redrawn from the tuning job's record and the app's clock (once a second while it runs)."""

    DEFAULT_CSS = """
    TuningHeader { height: auto; max-height: 7; background: $panel; padding: 0 1; }
    """

    def __init__(self, clock: Callable[[], float], id: str | None = None) -> None:
        super().__init__("", id=id)
        self.clock = clock
        self.record: dict = {}

    def show(self, record: dict) -> None:
        self.record = record
        self.redraw()

    def redraw(self) -> None:
        record = self.record
        if not record:
            self.update("loading…")
            return
        status = record_status(record) or "?"
        secondary = record_secondary(record)
        spent = elapsed(record, self.clock())
        line1 = (f"[b]{escape(record_name(record) or '?')}[/b]  [dim]{record_kind(record)}[/dim]  "
                 f"[b ${status_colour(status)}]{status}[/] / [${status_colour(secondary)}]{escape(secondary)}[/]"
                 + (f" · elapsed {human_seconds(spent)}" if spent is not None else ""))
        lines = [line1, settings_line(record), counters_line(record), best_line(record)]
        reason = first_line(record.get("FailureReason"), 200)
        if reason:
            lines.append(f"[$error]{escape(reason)}[/]")
        self.update("\n".join(lines))
