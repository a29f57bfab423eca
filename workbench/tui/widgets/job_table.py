"""The job history as a table, newest first, updated in place as jobs progress."""

from __future__ import annotations

from typing import Callable

from textual.widgets import DataTable

from workbench.engine.record import KIND_LOCAL, KIND_SAGEMAKER, epoch, is_final, record_kind, record_name, \
    record_secondary, record_status
from workbench.tui.formatting import (
    elapsed, short_date_time, first_line, human_seconds,  resources, status_colour,
)
from workbench.tui.widgets.cells import coloured

COLUMNS = (("name", "Name"), ("status", "Status"), ("secondary", "Secondary"), ("started", "Started"),
           ("duration", "Duration"), ("hosts", "Hosts"), ("instances", "Instances"),
           ("failure", "FailureReason"))


def matches(record: dict, text: str) -> bool:
    """Does the record mention `text` (name, statuses, instance types, failure)?"""
    if not text:
        return True
    hay = " ".join([record_name(record), record_status(record),
                    record_secondary(record), record_kind(record), *resources(record),
                    record.get("FailureReason", "") or ""]).lower()
    return all(word in hay for word in text.lower().split())


class JobTable(DataTable):
    DEFAULT_CSS = """
    JobTable { height: 1fr; }
    """

    def __init__(self, clock: Callable[[], float], id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.clock = clock
        self.records: dict[str, dict] = {}
        self.order: list[str] = []
        self.marked: list[str] = []  # jobs to compare, in the order they were marked

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        self.app.theme_changed_signal.subscribe(self, self._recolour)

    def _recolour(self, theme: object) -> None:
        """Cells carry the theme's colours: draw every row again."""
        shown = [self.records[name] for name in self.order]
        self.order = []
        self.show(shown)

    @property
    def selected_name(self) -> str | None:
        if not self.order or self.cursor_row < 0 or self.cursor_row >= len(self.order):
            return None
        return self.order[self.cursor_row]

    @property
    def selected_record(self) -> dict | None:
        name = self.selected_name
        return self.records.get(name) if name else None

    def select(self, name: str) -> bool:
        """Put the cursor on a job; False when it is not (yet) shown."""
        if name not in self.order:
            return False
        self.move_cursor(row=self.order.index(name), animate=False)
        return True

    def show(self, records: list[dict], text: str = "") -> None:
        """Show the records matching `text`; rows are updated in place when the order holds."""
        shown = [r for r in records if matches(r, text)]
        names = [record_name(r) for r in shown]
        selected = self.selected_name
        before, self.records = self.records, {record_name(r): r for r in shown}
        if names != self.order:
            self.clear()
            self.order = names
            for record in shown:
                self.add_row(*self._cells(record), key=record_name(record))
            if selected in names:
                self.move_cursor(row=names.index(selected), animate=False)
            return
        for record in shown:  # a column widens when a value outgrows it (Starting -> MaxRuntimeExceeded)
            if before.get(record_name(record)) is record:  # the history hands back unchanged records as is
                continue
            for (key, _), value in zip(COLUMNS, self._cells(record)):
                self.update_cell(record_name(record), key, value, update_width=True)

    def tick(self) -> None:
        """Durations of running jobs grow."""
        for name, record in self.records.items():
            if not is_final(record):
                self.update_cell(name, "duration", self._duration(record), update_width=True)

    def _duration(self, record: dict) -> str:
        spent = elapsed(record, self.clock())
        return human_seconds(spent) if spent is not None else "-"

    # --- metrics: jobs marked to compare ---

    def toggle_mark(self, name: str) -> None:
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        if name in self.records:
            self.update_cell(name, "name", self._name_cell(self.records[name]), update_width=True)

    def _name_cell(self, record: dict) -> str:
        kind = record_kind(record)
        name = record_name(record)
        marked = "● " if name in self.marked else ""
        return marked + name + ("" if kind == KIND_LOCAL else f" ☁ {kind}" if kind == KIND_SAGEMAKER else f" · {kind}")

    def _cells(self, record: dict) -> tuple:
        status = record_status(record) or "?"
        secondary = record_secondary(record)
        hosts, kinds = resources(record)
        return (
            self._name_cell(record),
            coloured(self, status, status_colour(status), bold=True),
            coloured(self, secondary, status_colour(secondary)),
            short_date_time(epoch(record.get("CreationTime"))),
            self._duration(record),
            hosts,
            kinds,
            coloured(self, first_line(record.get("FailureReason"), 60), "error"),
        )
