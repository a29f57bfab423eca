"""The tuning monitor's header: status, the objective and strategy, the limits, and the
counters DescribeHyperParameterTuningJob gives (training jobs by status, objectives)."""

from __future__ import annotations

from workbench.engine import api
from workbench.tui.formatting import elapsed, human_seconds
from workbench.tui.widgets.job_header import JobHeader, escape

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


class TuningHeader(JobHeader):
    """The job header's status line, then the tuning job's settings, counters and best."""

    DEFAULT_CSS = """
    TuningHeader { height: auto; max-height: 7; background: $panel; padding: 0 1; }
    """

    def detail_lines(self, record: dict, now: float) -> list[str]:
        spent = elapsed(record, now)
        first = settings_line(record) + (f" · elapsed {human_seconds(spent)}" if spent is not None else "")
        return [first, counters_line(record), best_line(record)]
