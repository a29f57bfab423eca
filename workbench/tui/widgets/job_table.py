"""The job history as a table, newest first, updated in place as jobs progress.

A tuning job's training jobs (its trials) are folded under it, not listed again at the
top level: `t` unfolds or folds them (on a trial, folds its tuning job)."""

from __future__ import annotations

from typing import Callable

from textual.binding import Binding
from textual.widgets import DataTable

from workbench.engine.record import KIND_LOCAL, KIND_SAGEMAKER, TUNING_KINDS, epoch, is_final, record_kind, record_name, \
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
    BINDINGS = [Binding("t", "toggle_trials", "Trials", id="jobs.trials")]  # --- tuning ---

    def __init__(self, clock: Callable[[], float], id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.clock = clock
        self.records: dict[str, dict] = {}
        self.order: list[str] = []
        self.marked: list[str] = []  # jobs to compare, in the order they were marked
        self.trials: dict[str, list[str]] = {}  # --- tuning: tuning job -> its trials (api.trials_of)
        self.parent_of: dict[str, str] = {}  # a trial shown -> its tuning job
        self.unfolded: set[str] = set()  # tuning jobs whose trials are shown
        self._shown: tuple[list[dict], str] = ([], "")

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        self.app.theme_changed_signal.subscribe(self, self._recolour)

    def _recolour(self, theme: object) -> None:
        """Cells carry the theme's colours: draw every row again."""
        self.order = []
        self.show(*self._shown, trials=self.trials)

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

    def show(self, records: list[dict], text: str = "", trials: dict[str, list[str]] | None = None) -> None:
        """Show the records matching `text`; rows are updated in place when the order holds.
        `trials` (tuning job -> its training jobs) folds those under their tuning job."""
        self._shown = (records, text)
        if trials is not None:
            self.trials = trials
        shown = self._rows(records, text)
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

    def _rows(self, records: list[dict], text: str) -> list[dict]:
        """Top-level records (trials left out), each unfolded tuning job followed by its
        trials in launch order. A filter that matches only trials shows them under their
        tuning job, unfolded."""
        by_name = {record_name(r): r for r in records}
        self.parent_of = {}
        folded = {trial for names in self.trials.values() for trial in names if trial in by_name}
        rows: list[dict] = []
        for record in records:
            name = record_name(record)
            if name in folded:
                continue
            children = [by_name[t] for t in self.trials.get(name, ()) if t in by_name]
            own = matches(record, text)
            hits = [c for c in children if matches(c, text)]
            if not own and not hits:
                continue
            rows.append(record)
            if name in self.unfolded or (hits and not own):
                for child in children if own else hits:
                    rows.append(child)
                    self.parent_of[record_name(child)] = name
        return rows

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "toggle_trials":  # hidden without tuning jobs, dimmed off them
            name = self.selected_name
            if not self.trials:
                return False
            return True if name and (name in self.trials or name in self.parent_of) else None
        return True

    def action_toggle_trials(self) -> None:
        """Unfold or fold the selected tuning job's trials; on a trial, fold its tuning job."""
        name = self.selected_name
        if name in self.parent_of:
            name = self.parent_of[name]
        if name not in self.trials:
            return
        if name in self.unfolded:
            self.unfolded.discard(name)
        else:
            self.unfolded.add(name)
        self.show(*self._shown)
        self.select(name)
        self.update_cell(name, "name", self._name_cell(self.records[name]), update_width=True)
        self.refresh_bindings()

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
        if name in self.parent_of:  # --- tuning: a trial under its tuning job
            return f"  └ {marked}{name}"
        if kind in TUNING_KINDS:
            count = len(self.trials.get(name, ()))
            fold = "▾" if name in self.unfolded else "▸"
            return f"{fold} {marked}{name} · {kind} ({count} trial{'s' if count != 1 else ''})"
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
