"""Status transitions (SecondaryStatusTransitions), folded from the job's events as the
record folds them, so a replayed job shows exactly what a live one did; below them the
job's notices, image lint findings and where its outputs went."""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.engine import events as ev
from workbench.engine.record import apply_event, epoch
from workbench.tui.formatting import clock_time, human_seconds, status_colour
from workbench.tui.widgets.cells import coloured


class StatusTransitions(Vertical):
    DEFAULT_CSS = """
    StatusTransitions { height: 1fr; }
    StatusTransitions > #transitions-notes { height: auto; max-height: 8; padding: 0 1; }
    StatusTransitions > DataTable { height: 1fr; }
    """

    def __init__(self, clock: Callable[[], float], id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.folded: dict = {}
        self.notices: list[tuple[float, str, str]] = []  # (time, level, text)

    def compose(self) -> ComposeResult:
        table = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns("Status", "Start", "Took", "Message")
        yield table
        yield Static("", id="transitions-notes")

    def on_mount(self) -> None:
        self._redraw()

    @property
    def transitions(self) -> list[dict]:
        return self.folded.get("SecondaryStatusTransitions") or []

    def apply(self, events: list[ev.Event]) -> None:
        changed = False
        for event in events:
            if isinstance(event, (ev.StatusChanged, ev.JobFinished)):
                apply_event(self.folded, event)
                changed = True
            elif isinstance(event, (ev.Notice, ev.LintFinding, ev.OutputsUploaded)):
                self.notices.append(_note(event))
                self.notices = self.notices[-50:]
                changed = True
        if changed:
            self._redraw()

    def tick(self) -> None:
        """The running transition's duration grows."""
        if self.transitions and "EndTime" not in self.transitions[-1]:
            self._redraw()

    def _redraw(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for item in self.transitions:
            start = epoch(item.get("StartTime")) or 0.0
            end = epoch(item.get("EndTime"))
            took = human_seconds((end or self.clock()) - start) + ("" if end else " …")
            table.add_row(coloured(self, item["Status"], status_colour(item["Status"]), bold=True),
                          clock_time(start, True), took, item.get("StatusMessage", ""))
        notes = self.query_one("#transitions-notes", Static)
        if not self.transitions and not self.notices:
            notes.update("No status recorded yet.")
            return
        colours = {"warning": "$warning", "error": "$error"}
        notes.update("\n".join(
            f"[{colours.get(level, '$text-muted')}]{clock_time(moment)} {level}: {text.replace('[', chr(92) + '[')}[/]"
            for moment, level, text in self.notices[-6:]))


def _note(event: ev.Event) -> tuple[float, str, str]:
    if isinstance(event, ev.Notice):
        return event.time, event.level, (f"{event.host}: " if event.host else "") + event.message
    if isinstance(event, ev.LintFinding):
        return event.time, "warning", f"image: {event.message} (fix: {event.fix})"
    assert isinstance(event, ev.OutputsUploaded)
    return event.time, "info", f"outputs: {event.model_artifacts} ({event.files} files)"
