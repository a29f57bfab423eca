"""The monitor's header: status and secondary status, elapsed time, the deadline countdown."""

from __future__ import annotations

from typing import Callable

from textual.widgets import Static

from workbench.engine.record import record_kind, record_name, record_secondary, record_status
from workbench.tui.formatting import (
    deadline_left, elapsed, first_line, human_seconds,  resources_line, serving_line, status_colour,
)


def escape(text: str) -> str:
    return text.replace("[", r"\[")


def status_line(record: dict) -> str:
    """The job's name, kind, status and secondary status."""
    status = record_status(record) or "?"
    secondary = record_secondary(record)
    return (f"[b]{escape(record_name(record) or '?')}[/b]  [dim]{record_kind(record)}[/dim]  "
            f"[b ${status_colour(status)}]{status}[/] / [${status_colour(secondary)}]{escape(secondary)}[/]")


class JobHeader(Static):
    """Redrawn from the job's record and the app's clock (once a second while it runs)."""

    DEFAULT_CSS = """
    JobHeader { height: auto; max-height: 4; background: $panel; padding: 0 1; }
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
        lines = [status_line(record), *self.detail_lines(record, self.clock())]
        reason = first_line(record.get("FailureReason"), 200)
        if reason:
            lines.append(f"[$error]{escape(reason)}[/]")
        self.update("\n".join(lines))

    def detail_lines(self, record: dict, now: float) -> list[str]:
        """What follows the status line: elapsed time, the deadline, the resources."""
        parts = []
        spent = elapsed(record, now)
        if spent is not None:
            parts.append(f"elapsed {human_seconds(spent)}")
        left = deadline_left(record, now)
        limit = (record.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        if left is not None:
            colour = "$warning" if left < 60 else "$text"
            parts.append(f"[{colour}]deadline in {human_seconds(left)}[/] (MaxRuntime {human_seconds(float(limit))})")
        elif limit and record_status(record) == "InProgress":
            parts.append(f"deadline {human_seconds(float(limit))} after training starts")
        serving = serving_line(record)
        parts.append(escape(serving) if serving else escape(resources_line(record)))
        return [" · ".join(parts)]
