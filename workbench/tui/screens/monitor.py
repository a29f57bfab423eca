"""One job, live or replayed: its status, a log tab per host (and all hosts), its /opt/ml
trees, checkpoints, signals, status transitions and GPUs.

Everything comes from the engine's event stream (`api.follow_events`): a finished job
replays its stored events, so it looks exactly as it did live. The stream is read in a
thread worker and reaches the screen in batches (see `workbench.tui.pump`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane, Tabs
from textual.css.query import NoMatches
from textual.worker import get_current_worker

from workbench.engine import api
from workbench.engine import events as ev
from workbench.engine.record import KIND_LOCAL, is_final, record_kind, record_name, record_status, set_status
from workbench.engine.times import epoch
from workbench.errors import JobNotFound, WorkbenchError
from workbench.tui.commands import ScreenCommands
from workbench.tui.job_actions import JobActions
from workbench.tui.pump import Batch, EventPump, flush_loop, pump_events
from workbench.tui.screens.jobs import applies
from workbench.tui.widgets.build_panel import BuildPanel
from workbench.tui.widgets.checkpoint_panel import CheckpointPanel
from workbench.tui.widgets.footer import WorkbenchFooter
from workbench.tui.widgets.gpu_panel import GpuPanel
from workbench.tui.widgets.host_log import HostLog
from workbench.tui.widgets.job_header import JobHeader
from workbench.tui.widgets.metrics_panel import MetricsPanel
from workbench.tui.widgets.opt_ml_browser import OptMlBrowser
from workbench.tui.widgets.signal_timeline import SignalTimeline
from workbench.tui.widgets.status_transitions import StatusTransitions

if TYPE_CHECKING:  # deferred (types only): the app imports this screen, a cycle
    from workbench.tui.app import WorkbenchApp

MONITOR_ACTIONS = ("stop", "interrupt", "rerun", "open_spec", "serve")
HOST_LOG_LINES = 10_000
ALL_LOG_LINES = 20_000
CLOUD_ONLY = "not available for SageMaker jobs: they run on AWS, not on this machine"


class MonitorScreen(Screen):
    HELP = """\
# Job monitor

The job's status, secondary status, elapsed time and the MaxRuntimeInSeconds deadline
counting down, then a tab per host plus **All hosts**, and the job's panels: **Files**
(each host's /opt/ml, with a preview), **Checkpoints** (and **TensorBoard**, **Debugger**,
**Profiler** when the job syncs them), **Signals** (SIGTERM, exits,
SIGKILL per host), **Status** (transitions and notices), **GPU** and **Metrics** (the
MetricDefinitions' values: up/down choose a metric, its chart has one line per host).

Logs follow new lines while you are at the bottom; scroll up to pause (the status line
counts new lines), **f** follows again. **/** filters lines, **ctrl+f** searches (enter,
then n/N jump between matches: "3 of 12"), **w** wraps long lines, **t** shows
timestamps. The display keeps the newest lines; `sm-workbench logs JOB` has them all.

- **s** stops the job, **i** interrupts a spot job, **r** reruns it, **e** opens the spec it ran with
- **x** opens a shell in the host of the tab you are on (algo-1 from the other tabs; the workbench
  suspends until you exit it), **k** sends that host one signal (SIGKILL asks first), **g**
  releases training held by Workbench.PauseBeforeTrain, **W** reruns the spec whenever its files
  change (as `run --watch`; W again stops); a job with Workbench.Build has a **Build** tab
- **v** serves a Completed job's model: its inference container as a local endpoint, with a
  request panel (`sm-workbench serve JOB` does the same)
- **[** and **]** switch tabs; **escape** clears a filter or search, then goes back
"""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("s", "stop", "Stop", id="monitor.stop"),
        Binding("i", "interrupt", "Interrupt", id="monitor.interrupt"),
        Binding("r", "rerun", "Rerun", id="monitor.rerun"),
        Binding("e", "open_spec", "Spec", id="monitor.spec"),
        Binding("x", "shell", "Shell", id="monitor.shell"),
        Binding("k", "signal", "Signal", id="monitor.signal"),
        Binding("g", "release", "Release", id="monitor.release"),
        Binding("W", "watch", "Watch", show=False, id="monitor.watch"),
        Binding("v", "serve", "Serve", id="monitor.serve"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False, id="monitor.prev-tab"),
        Binding("right_square_bracket", "tab(1)", "Next tab", show=False, id="monitor.next-tab"),
        Binding("escape", "back", "Back", id="monitor.back"),
    ]

    @dataclass
    class BatchArrived(Message):
        batch: Batch

    @dataclass
    class RecordLoaded(Message):
        record: dict
        roots: dict[str, Path]

    @dataclass
    class StreamFailed(Message):
        message: str
        gone: bool = False  # no such job (any more)

    def __init__(self, job: str) -> None:
        super().__init__()
        self.job = job
        self.record: dict = {}
        self.hosts: list[str] = []
        self.source = ""
        self.pump = EventPump(HOST_LOG_LINES, dropped_note=(
            "… {count:,} lines skipped here under load; `sm-workbench logs %s --host {host}` has every line" % job))
        self.replayed = False
        self.lines_seen = 0
        self._adding: set[str] = set()
        self._synced: set[str] = set()  # folders synced like checkpoints that have a tab
        self._leaving = False

    @property
    def workbench(self) -> "WorkbenchApp":
        return cast("WorkbenchApp", self.app)

    def compose(self) -> ComposeResult:
        yield JobHeader(self.workbench.clock, id="monitor-header")
        with TabbedContent(id="monitor-tabs"):
            with TabPane("All hosts", id="tab-all"):
                yield HostLog(None, max_lines=ALL_LOG_LINES, id="log-all")
            with TabPane("Files", id="tab-files"):
                yield OptMlBrowser(id="files")
            with TabPane("Checkpoints", id="tab-checkpoints"):
                yield CheckpointPanel(id="checkpoints")
            with TabPane("Signals", id="tab-signals"):
                yield SignalTimeline(id="signals")
            with TabPane("Status", id="tab-status"):
                yield StatusTransitions(self.workbench.clock, id="status")
            with TabPane("GPU", id="tab-gpu"):
                yield GpuPanel(id="gpu")
            # --- metrics ---
            with TabPane("Metrics", id="tab-metrics"):
                yield MetricsPanel(id="metrics")
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        known = next((r for r in self.workbench.records or [] if record_name(r) == self.job), None)
        if known is not None:  # the history's copy shows at once (and stays if describing fails)
            self._show_record(dict(known), {})
        else:
            self.query_one("#monitor-header", JobHeader).show({})
        self.workbench.jobs_changed.subscribe(self, self._history_changed)
        self.query_one("#metrics", MetricsPanel).attach(self.pump.metric_view)
        self._load_record()
        self._follow()
        self._flush()
        self.set_interval(1.0, self._tick)
        self.query_one("#log-all", HostLog).focus_log()

    # --- workers (blocking engine calls, never on the event loop) ----------------------

    @work(thread=True, exclusive=True, group="monitor-record", exit_on_error=False)
    def _load_record(self) -> None:
        try:
            record = api.describe_job(self.job)
            hosts = api.job_hosts(self.job)
            paths = api.job_paths(self.job)
        except (WorkbenchError, OSError) as err:
            self.post_message(self.StreamFailed(str(err), isinstance(err, JobNotFound)))
            return
        roots = {host: paths.opt_ml(host) for host in hosts}
        self.post_message(self.RecordLoaded(record, roots))

    @work(thread=True, group="monitor-follow", exit_on_error=False)
    def _follow(self) -> None:
        worker = get_current_worker()
        try:
            pump_events(api.follow_events(self.job, stop=lambda: worker.is_cancelled), self.pump)
        except (WorkbenchError, OSError) as err:
            self.post_message(self.StreamFailed(str(err), isinstance(err, JobNotFound)))

    @work(thread=True, group="monitor-flush", exit_on_error=False)
    def _flush(self) -> None:
        worker = get_current_worker()
        flush_loop(self.pump, lambda batch: self.post_message(self.BatchArrived(batch)),
                   lambda: worker.is_cancelled)

    def _tick(self) -> None:
        self.query_one("#monitor-header", JobHeader).redraw()
        self.query_one("#status", StatusTransitions).tick()
        if self.record and not is_final(self.record):
            self._load_record()

    # --- what arrives ----------------------------------------------------------------

    def _history_changed(self, records: list[dict]) -> None:
        """Until the job has been described (SageMaker may not answer), the history's copy."""
        if not self.record:
            known = next((r for r in records if record_name(r) == self.job), None)
            if known is not None:
                self._show_record(dict(known), {})

    @on(RecordLoaded)
    async def _record_loaded(self, event: RecordLoaded) -> None:
        self._show_record(event.record, event.roots)
        for host in event.roots:
            await self._ensure_host(host)
        for folder in api.synced_folders(event.record):
            await self._ensure_synced(folder.sync, folder.label)

    def _show_record(self, record: dict, roots: dict[str, Path]) -> None:
        self.record = record
        self.refresh_bindings()
        self.query_one("#monitor-header", JobHeader).show(record)
        for panel in self.query(CheckpointPanel):
            panel.configure(record)
        self.query_one("#metrics", MetricsPanel).set_origin(epoch(record.get("TrainingStartTime")))
        if record_kind(record) != KIND_LOCAL:
            self.query_one("#files", OptMlBrowser).set_unavailable(f"/opt/ml trees are {CLOUD_ONLY}.")
            self.query_one("#gpu", GpuPanel).set_unavailable(f"GPU metrics are {CLOUD_ONLY}.")
        elif roots:
            self.query_one("#files", OptMlBrowser).set_roots(roots)

    @on(BatchArrived)
    async def _batch(self, event: BatchArrived) -> None:
        batch = event.batch
        for item in batch.events:
            hosts: tuple[str, ...] = ()
            if isinstance(item, ev.JobCreated):
                hosts = item.hosts
                self.source = item.source
            elif isinstance(item, (ev.HostStarted, ev.HostExited)):
                hosts = (item.host,)
            for host in hosts:
                await self._ensure_host(host)
        for host in batch.entries:
            await self._ensure_host(host)
        for item in batch.events:  # a synced folder's first event: its tab, before the event is shown
            if isinstance(item, (ev.CheckpointFileState, ev.CheckpointSummary)):
                await self._ensure_synced(item.sync, api.sync_label(item.sync))
        try:
            self._show_lines(batch)
            self._show_events(batch.events)
            await self.query_one("#gpu", GpuPanel).apply(batch.events)
            await self._show_build(batch.events)
            self._held(batch.events)
            if batch.metrics:
                self.query_one("#metrics", MetricsPanel).changed()
        except NoMatches:  # the monitor closed (escape) while a host's tab was being added
            if self in self.app.screen_stack:
                raise
            return
        if batch.finished:
            self.replayed = True
            self._load_record()

    def _show_lines(self, batch: Batch) -> None:
        """Lines come prepared (cleaned, measured, numbered) by the flusher thread; a host's
        tab and the all-hosts tab share the same entries."""
        for host, entries in batch.entries.items():
            self._host_log(host).add_entries(entries)
        if batch.merged:
            self.query_one("#log-all", HostLog).add_entries(batch.merged)
            self.lines_seen += batch.line_count - sum(batch.dropped.values())

    def _show_events(self, events: list[ev.Event]) -> None:
        if not events:
            return
        header_changed = False
        for item in events:
            if isinstance(item, (ev.StatusChanged, ev.JobFinished)):
                set_status(self.record, item.status, item.secondary)
                header_changed = True
                if isinstance(item, ev.JobFinished) and item.failure_reason:
                    self.record["FailureReason"] = item.failure_reason
        if header_changed and record_name(self.record):
            self.query_one("#monitor-header", JobHeader).show(self.record)
            self.refresh_bindings()
        for panel in self.query(CheckpointPanel):  # checkpoints, and TensorBoard, debugger, profiler output
            panel.apply(events)
        self.query_one("#signals", SignalTimeline).apply(events)
        self.query_one("#status", StatusTransitions).apply(events)

    @on(StreamFailed)
    def _stream_failed(self, event: StreamFailed) -> None:
        if self._leaving:
            return
        self.notify(event.message, severity="error", title="Cannot follow the job")
        if event.gone and not self.record and self.is_current:  # nothing to show: go back
            self._leaving = True
            self.dismiss()

    async def _ensure_synced(self, sync: str, label: str) -> None:
        """A tab for a folder synced like checkpoints (TensorBoard, Debugger, Profiler), after Checkpoints."""
        if sync == "checkpoints" or sync in self._synced:
            return
        self._synced.add(sync)
        panel = CheckpointPanel(id=f"synced-{sync}", sync=sync, label=label)
        await self.query_one("#monitor-tabs", TabbedContent).add_pane(
            TabPane(label, panel, id=f"tab-synced-{sync}"), before="tab-signals")
        if self.record:
            panel.configure(self.record)

    def _host_log(self, host: str) -> HostLog:
        return self.query_one(f"#log-{host}", HostLog)

    async def _ensure_host(self, host: str) -> None:
        """A tab for each host, in host order, before the panels."""
        if host in self.hosts or host in self._adding:
            return
        self._adding.add(host)
        tabs = self.query_one("#monitor-tabs", TabbedContent)
        await tabs.add_pane(TabPane(host, HostLog(host, max_lines=HOST_LOG_LINES, id=f"log-{host}"),
                                    id=f"tab-host-{host}"), before="tab-files")
        self.hosts.append(host)
        self._adding.discard(host)

    # --- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Stop and interrupt are dimmed once the job has ended (interrupt: unless a spot job);
        a shell and signals only for a running local job, release only while training is held."""
        if action in MONITOR_ACTIONS and record_status(self.record):
            return applies(action, self.record)
        if action in ("shell", "signal"):
            return self.record.get("TrainingJobStatus") == "InProgress" and record_kind(self.record) == KIND_LOCAL
        if action == "release":
            return bool((self.record.get("Workbench") or {}).get("Held"))
        return True

    def action_stop(self) -> None:
        self.post_message(JobActions.Stop(self.job, self.record))

    def action_interrupt(self) -> None:
        self.post_message(JobActions.Interrupt(self.job, self.record))

    def action_rerun(self) -> None:
        self.post_message(JobActions.Rerun(self.job))

    def action_open_spec(self) -> None:
        self.post_message(JobActions.OpenSpec(self.job, self.source))

    # --- inner loop ---

    @property
    def current_host(self) -> str | None:
        """The host of the tab on screen (None: the first host)."""
        active = self.query_one("#monitor-tabs", TabbedContent).active or ""
        return active.removeprefix("tab-host-") if active.startswith("tab-host-") else None

    def action_shell(self) -> None:
        self.post_message(JobActions.Shell(self.job, self.current_host))

    def action_signal(self) -> None:
        self.post_message(JobActions.Signal(self.job, self.current_host or (self.hosts or ["algo-1"])[0]))

    def action_release(self) -> None:
        self.post_message(JobActions.Release(self.job))

    def action_watch(self) -> None:
        self.post_message(JobActions.Watch(self.job, self.source))

    async def _show_build(self, events: list[ev.Event]) -> None:
        """A Build tab once the job builds its image (Workbench.Build)."""
        if not any(isinstance(e, (ev.BuildStarted, ev.BuildOutput, ev.BuildFinished)) for e in events):
            return
        tabs = self.query_one("#monitor-tabs", TabbedContent)
        if not tabs.query("#build"):
            await tabs.add_pane(TabPane("Build", BuildPanel(id="build"), id="tab-build"), before="tab-all")
        self.query_one("#build", BuildPanel).apply(events)

    def _held(self, events: list[ev.Event]) -> None:
        bench = self.record.setdefault("Workbench", {})
        for item in events:
            if isinstance(item, ev.TrainingHeld):
                bench["Held"] = sorted(set(bench.get("Held") or []) | {item.host})
            elif isinstance(item, ev.TrainingReleased):
                bench["Held"] = [h for h in bench.get("Held") or [] if h not in item.hosts]
            else:
                continue
            self.refresh_bindings()


    def action_serve(self) -> None:
        self.post_message(JobActions.Serve(self.job, self.record))

    def action_back(self) -> None:
        self.dismiss()

    def action_tab(self, step: int) -> None:
        """The next tab as the tab bar shows them (host tabs are added before Files, while
        their panes come last among the panes)."""
        tabs = self.query_one("#monitor-tabs", TabbedContent).query_one("ContentTabs", Tabs)
        if step > 0:
            tabs.action_next_tab()
        else:
            tabs.action_previous_tab()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        logs = list(event.pane.query(HostLog))
        if logs:
            logs[0].focus_log()

    # --- metrics ---

    @on(TabbedContent.TabActivated)
    def _metrics_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-metrics":
            panel = self.query_one("#metrics", MetricsPanel)
            panel.focus_list()
            panel.redraw_now()

    def palette_commands(self):
        yield ("Stop this job", self.action_stop, "SIGTERM now, SIGKILL after the grace period (s)")
        yield ("Interrupt this job", self.action_interrupt, "simulate a spot interruption (i)")
        yield ("Rerun this job", self.action_rerun, "run its spec again, optionally edited (r)")
        yield ("Open this job's spec", self.action_open_spec, "in the composer (e)")
        yield ("Shell in this host", self.action_shell, "the tab's host, or algo-1; the workbench suspends (x)")
        yield ("Send a signal to this host", self.action_signal, "one signal, on the Signals tab (k)")
        yield ("Release held training", self.action_release, "Workbench.PauseBeforeTrain (g)")
        yield ("Rerun on every change", self.action_watch, "as run --watch; again to stop (W)")
        yield ("Serve this job's model", self.action_serve, "start a local endpoint with its inference image (v)")
        tabs = self.query_one("#monitor-tabs", TabbedContent)
        for pane in tabs.query(TabPane):
            label = str(tabs.get_tab(pane.id).label) if pane.id else ""
            yield (f"Show tab: {label}", lambda pane_id=pane.id: setattr(tabs, "active", pane_id), "")
