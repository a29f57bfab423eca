"""How the TUI writes times, sizes, statuses and resources (pure functions, no Textual)."""

from __future__ import annotations

import time

from workbench.engine.record import epoch, instances, instances_line, is_final, record_end, record_status

# Theme variable (without `$`) that colours a status.
_STATUS_COLOURS = {
    "Completed": "success",
    "Failed": "error",
    "Stopped": "warning",
    "Stopping": "warning",
    "MaxRuntimeExceeded": "warning",
    "MaxWaitTimeExceeded": "warning",
    "Interrupted": "warning",
    "Restarting": "warning",
    "Training": "accent",
    "InProgress": "primary",
    # endpoints and transform jobs
    "InService": "success",
    "Serving": "success",
    "OutOfService": "warning",
    "Deleting": "warning",
    "Transforming": "accent",
}


def status_colour(status: str) -> str:
    """The theme colour name for a TrainingJobStatus or SecondaryStatus."""
    return _STATUS_COLOURS.get(status, "primary")


def human_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days}d{hours:02d}h{minutes:02d}m"
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def clock_time(moment: float, millis: bool = False) -> str:
    """Local wall-clock time of an epoch, as log timestamps show it."""
    text = time.strftime("%H:%M:%S", time.localtime(moment))
    return text + f".{int(moment % 1 * 1000):03d}" if millis else text


def date_time(moment: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(moment)) if moment else "-"


def short_date_time(moment: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(moment)) if moment else "-"


def resources(record: dict) -> tuple[str, str]:
    """(host count, instance type or groups) of a record or spec."""
    return instances(record)


def resources_line(record: dict) -> str:
    """"2 × ml.c5.2xlarge", or the instance groups."""
    return instances_line(record)


def elapsed(record: dict, now: float) -> float | None:
    """Seconds from creation to the end (or to now, while it runs)."""
    start = epoch(record.get("CreationTime"))
    if start is None:
        return None
    end = epoch(record_end(record)) if is_final(record) else None
    return max(0.0, (end or now) - start)


def deadline_left(record: dict, now: float) -> float | None:
    """Seconds left before StoppingCondition.MaxRuntimeInSeconds stops the job, from the
    deadline the job's runner wrote in its record (it counts training over spot attempts);
    None when it does not apply (yet)."""
    if is_final(record) or record_status(record) == "Stopping":
        return None
    deadline = epoch((record.get("Workbench") or {}).get("MaxRuntimeDeadline"))
    return None if deadline is None else deadline - now


def first_line(text: str | None, width: int = 80) -> str:
    lines = (text or "").strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def serving_line(record: dict) -> str:
    """An endpoint's address and health, or a transform job's progress ("" for others)."""
    bench = record.get("Workbench") or {}
    progress = bench.get("Progress")
    if progress:
        return (f"{progress.get('ObjectsDone', 0)} of {progress.get('Objects', 0)} objects · "
                f"{progress.get('Records', 0):,} records in {progress.get('Requests', 0):,} requests"
                + (f" · {progress['ObjectsFailed']} failed" if progress.get("ObjectsFailed") else ""))
    if not bench.get("Url"):
        return ""
    line = bench["Url"]
    health = bench.get("Health") or {}
    if health and not is_final(record):
        latency = health.get("LatencyMs")
        line += (f" · healthy (/ping {latency:.0f} ms)" if health.get("Healthy") and latency is not None else
                 " · healthy" if health.get("Healthy") else f" · NOT healthy: {health.get('Message', '')}")
    return line

