"""Home: the job history, newest first, live."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from workbench.engine import api
from workbench.engine.record import KIND_ENDPOINT, KIND_TRANSFORM, TUNING_KINDS, is_final, record_kind, record_status
from workbench.tui.commands import ScreenCommands
from workbench.tui.job_actions import JobActions
from workbench.tui.widgets.job_table import JobTable
from workbench.tui.widgets.footer import WorkbenchFooter

if TYPE_CHECKING:  # deferred (types only): the app imports this screen, a cycle
    from workbench.tui.app import WorkbenchApp

JOB_ACTIONS = ("open_job", "rerun", "stop", "interrupt", "delete")


def applies(action: str, record: dict) -> bool | None:
    """Does a job key apply to this job? None (dimmed) when it would only say why not:
    stop and interrupt need a job still running (interrupt a managed spot job), delete
    a finished one; rerun and the composer take training specs only; serve needs a
    Completed training job (its model)."""
    final = is_final(record)
    serving = record_kind(record) in (KIND_ENDPOINT, KIND_TRANSFORM)
    if action == "stop":
        return None if final else True
    if action == "interrupt":
        return None if final or serving or not record.get("EnableManagedSpotTraining") else True
    if action == "delete":
        return True if final else None
    if action == "rerun" and record_kind(record) in TUNING_KINDS:  # --- tuning: edit its spec (e), then run it
        return None
    if action in ("rerun", "open_spec"):
        return None if serving else True
    if action == "serve":
        done = record_status(record) == "Completed" and (record.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        return True if done and not serving else None
    return True


class JobsScreen(Screen):
    HELP = """\
# Jobs

Every job run on this machine (and imported from SageMaker), newest first. Running jobs
update live; jobs keep running when the workbench is closed.

- **enter** opens a job's monitor (logs per host, files, checkpoints, signals, GPUs)
- **n** composes a new spec, **o** opens a spec file in the composer
- **r** reruns the selected job (new name and overrides, or edit it first)
- **s** stops it (SIGTERM, the grace period, SIGKILL), **i** interrupts a spot job
- **d** deletes a finished job's folder, **/** filters the table
- **space** marks jobs (●), **c** compares the marked ones: hyperparameters side by side,
  final metrics and a metric's curves overlaid

Endpoints (`sm-workbench serve`, or **v** on a Completed job's monitor) and batch
transform jobs are listed too, with their status; **enter** opens an endpoint's screen:
its health, log and a request panel.

Tuning jobs list their training jobs (trials) folded under them: **t** unfolds or folds
them; **enter** on a tuning job opens its tuning monitor, on a trial its own monitor.
"""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("enter", "open_job", "Open", id="jobs.open"),
        Binding("n", "new_spec", "New spec", id="jobs.new"),
        Binding("o", "open_spec", "Open spec", id="jobs.open-spec"),
        Binding("r", "rerun", "Rerun", id="jobs.rerun"),
        Binding("s", "stop", "Stop", id="jobs.stop"),
        Binding("i", "interrupt", "Interrupt", id="jobs.interrupt"),
        Binding("d", "delete", "Delete", id="jobs.delete"),
        Binding("slash", "filter", "Filter", id="jobs.filter"),
        Binding("space", "mark", "Mark", id="jobs.mark"),
        Binding("c", "compare", "Compare", id="jobs.compare"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="jobs.clear-filter"),
        Binding("q", "app.quit", "Quit", show=False, id="jobs.quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("sm-workbench · jobs", id="jobs-title", classes="screen-title")
        yield Input(placeholder="filter: name, status, instance type, failure… (esc clears)", id="jobs-filter")
        yield JobTable(self.workbench.clock, id="jobs-table")
        yield Static("", id="jobs-empty")
        yield WorkbenchFooter()

    def __init__(self) -> None:
        super().__init__()
        self._select: str | None = None  # a job just launched: the cursor goes to it once it is listed

    def select_when_listed(self, name: str) -> None:
        self._select = name
        if self.is_mounted:
            self.show_records(self.workbench.records)

    @property
    def workbench(self) -> "WorkbenchApp":
        return cast("WorkbenchApp", self.app)

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    def on_mount(self) -> None:
        self.query_one("#jobs-filter").display = False
        self.workbench.jobs_changed.subscribe(self, self.show_records)
        self.show_records(self.workbench.records)
        self.set_interval(1.0, self._tick)
        self.table.focus()

    def _tick(self) -> None:
        self.table.tick()

    def show_records(self, records: list[dict] | None) -> None:
        if records is None:
            self.query_one("#jobs-empty", Static).update("Loading the job history…")
            return
        text = self.query_one("#jobs-filter", Input).value
        self.table.show(records, text, trials=api.trials_of(records))
        if self._select and self.table.select(self._select):
            self._select = None
        running = sum(1 for r in records if not is_final(r))
        title = f"sm-workbench · {len(records)} job{'s' if len(records) != 1 else ''}"
        if running:
            title += f" · {running} running"
        if text:
            title += f" · filter “{text}”: {len(self.table.order)} shown"
        self.query_one("#jobs-title", Static).update(title)
        empty = self.query_one("#jobs-empty", Static)
        if not records:
            empty.update("No jobs yet. Press [b]n[/b] to compose a spec, or [b]o[/b] to open one "
                         "(try sample_jobs/hello/job.yaml), then ctrl+r runs it.")
        elif not self.table.order:
            empty.update("No job matches the filter (escape clears it).")
        else:
            empty.update("")
        empty.display = not self.table.order
        self.refresh_bindings()

    @property
    def selected(self) -> str | None:
        return self.table.selected_name

    def _need_selection(self) -> str | None:
        name = self.selected
        if name is None:
            self.notify("Select a job first", severity="warning")
        return name

    # --- actions ---------------------------------------------------------------------

    def action_open_job(self) -> None:
        name = self._need_selection()
        if name:
            self.post_message(JobActions.Open(name))

    @on(DataTable.RowSelected, "#jobs-table")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_job()

    def action_new_spec(self) -> None:
        self.post_message(JobActions.NewSpec())

    def action_open_spec(self) -> None:
        self.post_message(JobActions.OpenSpecFile())

    def action_rerun(self) -> None:
        name = self._need_selection()
        if name:
            self.post_message(JobActions.Rerun(name))

    def action_stop(self) -> None:
        name = self._need_selection()
        if name:
            self.post_message(JobActions.Stop(name, self.table.records.get(name)))

    def action_interrupt(self) -> None:
        name = self._need_selection()
        if name:
            self.post_message(JobActions.Interrupt(name, self.table.records.get(name)))

    def action_delete(self) -> None:
        name = self._need_selection()
        if name:
            self.post_message(JobActions.Delete(name, self.table.records.get(name)))

    # --- metrics: comparing jobs ---

    def action_mark(self) -> None:
        name = self._need_selection()
        if name:
            self.table.toggle_mark(name)
            self.refresh_bindings()

    def action_compare(self) -> None:
        marked = [name for name in self.table.marked if name in self.table.records]
        self.post_message(JobActions.Compare(marked))

    def action_filter(self) -> None:
        box = self.query_one("#jobs-filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#jobs-filter", Input)
        box.value = ""
        box.display = False
        self.table.focus()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Keys that do not apply to the selected job are dimmed in the footer (None)."""
        if action == "clear_filter":
            return self.query_one("#jobs-filter").display
        if action == "compare":  # --- metrics: two marked jobs or more
            tables = self.query(JobTable)
            return True if tables and len(tables.first().marked) >= 2 else None
        if action in JOB_ACTIONS:
            tables = self.query(JobTable)
            record = tables.first().selected_record if tables else None
            return None if record is None else applies(action, record)
        return True

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    @on(Input.Changed, "#jobs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.show_records(self.workbench.records)

    @on(Input.Submitted, "#jobs-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        self.table.focus()
