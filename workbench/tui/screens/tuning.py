"""One tuning job, live or finished: its status, counters, objective and strategy; its
training jobs (trials) with their hyperparameters, objective and early stops, the best
marked; and a chart of the objective per trial with the best so far.

The record is read in a thread worker (`api.current_job`), once a second while the
tuning job runs, as the endpoint screen reads its own; nothing blocks the UI thread.
A trial is an ordinary training job: enter opens its own monitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from workbench.engine import api
from workbench.engine.record import is_final, record_status
from workbench.errors import JobNotFound, WorkbenchError
from workbench.tui.commands import ScreenCommands
from workbench.tui.job_actions import JobActions
from workbench.tui.widgets.footer import WorkbenchFooter
from workbench.tui.widgets.trial_table import TrialTable
from workbench.tui.widgets.tuning_header import TuningHeader

if TYPE_CHECKING:  # deferred (types only): the app imports this screen, a cycle
    from workbench.tui.app import WorkbenchApp


def load_chart_class():
    """TuningChart, importing textual-plot and numpy on first use (call it in a thread)."""
    from workbench.tui.widgets.tuning_chart import TuningChart  # deferred: textual-plot and numpy (~0.5 s)

    return TuningChart


class TuningScreen(Screen):
    HELP = """\
# Tuning job

A hyperparameter tuning job run as SageMaker's automatic model tuning runs one: each
trial is an ordinary training job (its own record, logs, metrics and monitor). The header
shows the tuning job's status, its objective, strategy and limits, and its counters
(training jobs by status, objectives reported).

- The table lists the trials as ListTrainingJobsForHyperParameterTuningJob does: status,
  the tuned hyperparameters, the final objective, and why one was stopped early; the best
  training job is marked ★
- The chart shows the objective of each trial (in launch order) and the best so far
- **enter** opens the selected trial's own monitor
- **s** stops the tuning job (its running training jobs are stopped; it ends Stopped)
- **e** opens the tuning spec in the tuning composer, **escape** goes back
"""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("enter", "open_trial", "Open trial", id="tuning.open-trial"),
        Binding("s", "stop", "Stop", id="tuning.stop"),
        Binding("e", "edit_spec", "Edit spec", id="tuning.edit-spec"),
        Binding("escape", "back", "Back", id="tuning.back"),
    ]

    @dataclass
    class RecordLoaded(Message):
        record: dict

    @dataclass
    class LoadFailed(Message):
        message: str
        gone: bool = False

    def __init__(self, name: str) -> None:
        super().__init__()
        self.job = name
        self.record: dict = {}
        self.chart = None
        self._chart_loading = False
        self._failed = ""

    @property
    def workbench(self) -> "WorkbenchApp":
        return cast("WorkbenchApp", self.app)

    def compose(self) -> ComposeResult:
        yield TuningHeader(self.workbench.clock, id="tuning-header")
        yield TrialTable(id="tuning-trials")
        with Vertical(id="tuning-chart-box"):
            yield Static("objective per training job (●) and the best so far (line)", id="tuning-chart-title")
            yield Static("No objective values yet.", id="tuning-chart-empty")
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        known = next((r for r in self.workbench.records or [] if r.get("HyperParameterTuningJobName") == self.job),
                     None)
        if known is not None:
            self._show(known)
        self._load_record()
        self.set_interval(1.0, self._tick)
        self.query_one(TrialTable).focus()

    @property
    def loaded(self) -> bool:
        """The record was read at least once (tests wait on it)."""
        return bool(self.record)

    # --- the record ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="tuning-record", exit_on_error=False)
    def _load_record(self) -> None:
        try:
            # the first read as asked for (errors shown); then polls, which never call AWS every second
            record = api.current_job(self.job) if self.record else api.describe_job(self.job)
        except (WorkbenchError, OSError) as err:
            self.post_message(self.LoadFailed(str(err), isinstance(err, JobNotFound)))
            return
        self.post_message(self.RecordLoaded(record))

    def _tick(self) -> None:
        self.query_one(TuningHeader).redraw()
        if not self.record or not is_final(self.record):
            self._load_record()

    @on(RecordLoaded)
    def _record_loaded(self, event: RecordLoaded) -> None:
        self._failed = ""
        if event.record != self.record:
            self._show(event.record)

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.message != self._failed:
            self._failed = event.message
            self.notify(event.message, severity="error", title="Cannot read the tuning job")
        if event.gone and not self.record and self.is_current:
            self.dismiss()

    def _show(self, record: dict) -> None:
        self.record = record
        self.query_one(TuningHeader).show(record)
        self.query_one(TrialTable).show(record)
        self._draw_chart()
        self.refresh_bindings()

    # --- the chart -------------------------------------------------------------------

    def _draw_chart(self) -> None:
        points = api.tuning_chart(self.record)
        self.query_one("#tuning-chart-empty").display = not points[0]
        if not points[0]:
            return
        if self.chart is not None:
            self.chart.show_points(*points)
        elif not self._chart_loading:
            self._chart_loading = True
            self._load_chart()

    @work(thread=True, group="tuning-chart", exit_on_error=False)
    def _load_chart(self) -> None:
        chart_class = load_chart_class()
        self.app.call_from_thread(self._mount_chart, chart_class)

    async def _mount_chart(self, chart_class) -> None:
        if self.chart is not None or not self.is_attached:
            return
        self.chart = chart_class(id="tuning-chart")
        self.chart.points = api.tuning_chart(self.record)
        await self.query_one("#tuning-chart-box").mount(self.chart)

    # --- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "stop" and record_status(self.record):
            return None if is_final(self.record) else True
        if action == "open_trial":
            return True if self.query_one(TrialTable).selected_name else None
        return True

    def action_open_trial(self) -> None:
        name = self.query_one(TrialTable).selected_name
        if name:
            self.post_message(JobActions.Open(name))

    @on(DataTable.RowSelected, "#tuning-trials")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_trial()

    @on(DataTable.RowHighlighted, "#tuning-trials")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def action_stop(self) -> None:
        self.post_message(JobActions.Stop(self.job, self.record or None))

    def action_edit_spec(self) -> None:
        self.post_message(JobActions.OpenSpec(self.job, str((self.record.get("Workbench") or {}).get("Source") or "")))

    def action_back(self) -> None:
        self.dismiss()

    def palette_commands(self):
        yield ("Stop this tuning job", self.action_stop, "its running training jobs are stopped (s)")
        yield ("Edit the tuning spec", self.action_edit_spec, "in the tuning composer (e)")
        for name in self.query_one(TrialTable).order:
            yield (f"Open trial: {name}", lambda name=name: self.post_message(JobActions.Open(name)), "")
