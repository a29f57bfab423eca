"""One local endpoint, live or replayed: its status and health, a request panel (a body,
its content type and accept; the answer, its status and latency; every request sent to
it), the container's log and its status transitions.

Everything but the answers comes from the endpoint's event stream (`api.follow_events`),
as the training monitor reads a job's, so an endpoint opened later, or one fed requests
from a terminal, shows the same history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane
from textual.worker import get_current_worker

from workbench.engine import api
from workbench.engine import events as ev
from workbench.engine.record import is_final, record_name, record_status, set_status
from workbench.errors import JobNotFound, WorkbenchError
from workbench.tui.commands import ScreenCommands
from workbench.tui.job_actions import JobActions
from workbench.tui.pump import Batch, EventPump, flush_loop, pump_events
from workbench.tui.widgets.footer import WorkbenchFooter
from workbench.tui.widgets.host_log import HostLog
from workbench.tui.widgets.job_header import JobHeader
from workbench.tui.widgets.request_panel import RequestPanel
from workbench.tui.widgets.status_transitions import StatusTransitions

if TYPE_CHECKING:  # deferred (types only): the app imports this screen, a cycle
    from workbench.tui.app import WorkbenchApp

LOG_LINES = 10_000
HEALTH_EVENTS = (ev.StatusChanged, ev.JobFinished, ev.EndpointReady, ev.HealthChecked)


class EndpointScreen(Screen):
    HELP = """\
# Endpoint

A local endpoint: the model's inference container run as SageMaker hosting runs it
(`docker run IMAGE serve`, port 8080 published on 127.0.0.1). The header shows its
status, its address and its health (GET /ping).

- **Requests**: write a body, its content type and accept, **ctrl+s** sends it as
  InvokeEndpoint would (at most 6 MiB, answered within 60 s); the answer, its status and
  latency show beside it, and every request sent to the endpoint, from here or from
  `sm-workbench invoke`, is listed below (enter shows a past answer)
- **Log**: the container's output; **Status**: its transitions and notices
- **s** stops the endpoint (SIGTERM, then SIGKILL after 30 s), **[** and **]** switch
  tabs, **escape** goes back (the endpoint keeps serving)
"""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("s", "stop", "Stop", id="endpoint.stop"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False, id="endpoint.prev-tab"),
        Binding("right_square_bracket", "tab(1)", "Next tab", show=False, id="endpoint.next-tab"),
        Binding("escape", "back", "Back", id="endpoint.back"),
    ]

    @dataclass
    class BatchArrived(Message):
        batch: Batch

    @dataclass
    class RecordLoaded(Message):
        record: dict

    @dataclass
    class StreamFailed(Message):
        message: str
        gone: bool = False

    @dataclass
    class Answered(Message):
        """The outcome of a request this screen sent: an answer, or why there was none."""

        status: int | None
        body: bytes
        content_type: str
        latency_ms: float
        error: str

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.job = endpoint
        self.record: dict = {}
        self.pump = EventPump(LOG_LINES)
        self.replayed = False
        self._leaving = False

    @property
    def workbench(self) -> "WorkbenchApp":
        return cast("WorkbenchApp", self.app)

    def compose(self) -> ComposeResult:
        yield JobHeader(self.workbench.clock, id="endpoint-header")
        with TabbedContent(id="endpoint-tabs"):
            with TabPane("Requests", id="tab-requests"):
                yield RequestPanel(id="requests")
            with TabPane("Log", id="tab-log"):
                yield HostLog(None, max_lines=LOG_LINES, id="endpoint-log")
            with TabPane("Status", id="tab-status"):
                yield StatusTransitions(self.workbench.clock, id="endpoint-status")
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        known = next((r for r in self.workbench.records or [] if record_name(r) == self.job), None)
        self._show_record(dict(known) if known is not None else {})
        self._load_record()
        self._follow()
        self._flush()
        self.set_interval(1.0, self._tick)
        self.query_one(RequestPanel).body.focus()

    # --- workers ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="endpoint-record", exit_on_error=False)
    def _load_record(self) -> None:
        try:
            record = api.describe_job(self.job)
        except (WorkbenchError, OSError) as err:
            self.post_message(self.StreamFailed(str(err), isinstance(err, JobNotFound)))
            return
        self.post_message(self.RecordLoaded(record))

    @work(thread=True, group="endpoint-follow", exit_on_error=False)
    def _follow(self) -> None:
        worker = get_current_worker()
        try:
            pump_events(api.follow_events(self.job, stop=lambda: worker.is_cancelled), self.pump)
        except (WorkbenchError, OSError) as err:
            self.post_message(self.StreamFailed(str(err), isinstance(err, JobNotFound)))

    @work(thread=True, group="endpoint-flush", exit_on_error=False)
    def _flush(self) -> None:
        worker = get_current_worker()
        flush_loop(self.pump, lambda batch: self.post_message(self.BatchArrived(batch)),
                   lambda: worker.is_cancelled)

    @work(thread=True, group="endpoint-invoke", exit_on_error=False)
    def _invoke(self, body: bytes, content_type: str, accept: str) -> None:
        try:
            result = api.invoke(self.job, body, content_type=content_type or None, accept=accept or None)
        except WorkbenchError as err:
            self.post_message(self.Answered(None, b"", "", 0.0, str(err)))
            return
        self.post_message(self.Answered(result.status, result.body, result.content_type, result.latency_ms,
                                        "" if result.ok else result.model_error()))

    def _tick(self) -> None:
        self.query_one("#endpoint-header", JobHeader).redraw()
        self.query_one("#endpoint-status", StatusTransitions).tick()
        if self.record and not is_final(self.record):
            self._load_record()

    # --- what arrives ----------------------------------------------------------------

    def _show_record(self, record: dict) -> None:
        self.record = record
        self.query_one("#endpoint-header", JobHeader).show(record)
        self.refresh_bindings()

    @on(RecordLoaded)
    def _record_loaded(self, event: RecordLoaded) -> None:
        self._show_record(event.record)

    @on(BatchArrived)
    def _batch(self, event: BatchArrived) -> None:
        batch = event.batch
        if batch.merged:
            self.query_one("#endpoint-log", HostLog).add_entries(batch.merged)
        if batch.events:
            self.query_one(RequestPanel).add_history(batch.events)
            self.query_one("#endpoint-status", StatusTransitions).apply(batch.events)
            changed = False
            for item in batch.events:
                if isinstance(item, (ev.StatusChanged, ev.JobFinished)) and self.record:
                    set_status(self.record, item.status, item.secondary)
                    changed = True
            if changed:
                self.query_one("#endpoint-header", JobHeader).show(self.record)
                self.refresh_bindings()
            if any(isinstance(item, HEALTH_EVENTS) for item in batch.events):
                self._load_record()
        if batch.finished:
            self.replayed = True
            self._load_record()

    @on(StreamFailed)
    def _stream_failed(self, event: StreamFailed) -> None:
        if self._leaving:
            return
        self.notify(event.message, severity="error", title="Cannot follow the endpoint")
        if event.gone and not self.record and self.is_current:
            self._leaving = True
            self.dismiss()

    @on(RequestPanel.Send)
    def _send(self, event: RequestPanel.Send) -> None:
        event.stop()
        self._invoke(event.body, event.content_type, event.accept)

    @on(Answered)
    def _answered(self, event: Answered) -> None:
        panel = self.query_one(RequestPanel)
        if event.status is None:
            panel.show_error(event.error)
        else:
            panel.show_answer(event.status, event.body, event.content_type, event.latency_ms, event.error)

    # --- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "stop" and record_status(self.record):
            return None if is_final(self.record) else True
        return True

    def action_stop(self) -> None:
        self.post_message(JobActions.Stop(self.job, self.record))

    def action_back(self) -> None:
        self.dismiss()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#endpoint-tabs", TabbedContent)
        ids = [pane.id for pane in tabs.query(TabPane)]
        if tabs.active in ids:
            tabs.active = ids[(ids.index(tabs.active) + step) % len(ids)]

    def palette_commands(self):
        yield ("Stop this endpoint", self.action_stop, "SIGTERM now, SIGKILL after 30 s (s)")
        yield ("Send the request", self.query_one(RequestPanel).action_send, "POST /invocations (ctrl+s)")
        tabs = self.query_one("#endpoint-tabs", TabbedContent)
        for pane in tabs.query(TabPane):
            label = str(tabs.get_tab(pane.id).label) if pane.id else ""
            yield (f"Show tab: {label}", lambda pane_id=pane.id: setattr(tabs, "active", pane_id), "")
