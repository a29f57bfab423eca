"""The workbench app: screens, themes, the job history watcher, and the actions on jobs
that several screens share (stop, interrupt, rerun, delete, open).

Every engine call runs in a thread worker; results come back as messages or through
`call_from_thread`, never by touching widgets from a thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.signal import Signal
from textual.worker import get_current_worker

from workbench.engine import api
from workbench.engine.record import is_final
from workbench.errors import WorkbenchError
from workbench.spec import WorkbenchSettings
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.config import TuiConfig
from workbench.tui.draft import SpecDraft, ran_from
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.file_picker import FilePicker
from workbench.tui.screens.help import HelpScreen, KeyHelp, where_of, words_of
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.screens.rerun_dialog import RerunChoice, RerunDialog
from workbench.tui.themes import DEFAULT_THEME, load_themes

POLL_SECONDS = 1.0


class WorkbenchApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "sm-workbench"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", show=False, id="app.quit", priority=True),
    ]

    @dataclass
    class JobsPolled(Message):
        records: list[dict]
        skipped: list = field(default_factory=list)  # folders left out: .folder, .problem, .message

    @dataclass
    class PollFailed(Message):
        message: str

    def __init__(self, *, spec: Path | str | None = None, job: str | None = None, new_spec: bool = False,
                 clock: Callable[[], float] | None = None, poll_seconds: float = POLL_SECONDS,
                 themes_folder: Path | None = None) -> None:
        super().__init__()
        self.start_spec = Path(spec) if spec else None
        self.start_job = job
        self.start_new = new_spec
        self.clock: Callable[[], float] = clock or time.time
        self.poll_seconds = poll_seconds
        self.themes_folder = themes_folder
        self.records: list[dict] | None = None
        self.jobs_changed: Signal[list[dict]] = Signal(self, "jobs-changed")
        self.config = TuiConfig.load()
        self.launched: set[str] = set()
        self._statuses: dict[str, str] | None = None
        self._warned_skipped: set[tuple[str, str]] = set()
        self._poll_now = threading.Event()
        self.theme_problems: list[str] = []

    # --- start-up --------------------------------------------------------------------

    def on_mount(self) -> None:
        themes, self.theme_problems = load_themes(self.themes_folder)
        for theme in themes:
            self.register_theme(theme)
        wanted = self.config.theme if self.config.theme in self.available_themes else DEFAULT_THEME
        if wanted in self.available_themes:
            self._restoring_theme = True
            self.theme = wanted
            self._restoring_theme = False
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        self.push_screen(JobsScreen())
        if self.start_spec is not None:
            self.open_spec(self.start_spec)
        elif self.start_new:
            self.new_spec()
        if self.start_job:
            self.open_job(self.start_job)
        for problem in self.theme_problems:
            self.notify(problem, severity="warning", title="Theme not loaded")
        self._poll_jobs()

    def watch_theme(self, theme: str) -> None:
        """Remember the choice for next time."""
        if not self.is_mounted or getattr(self, "_restoring_theme", False) or theme == self.config.theme:
            return
        self.config.theme = theme
        self._save_config()

    @work(thread=True, exclusive=True, group="config", exit_on_error=False)
    def _save_config(self) -> None:
        try:
            self.config.save()
        except OSError as err:
            self.call_from_thread(self.notify, f"Could not remember the theme: {err}", severity="warning")

    # --- the job history -------------------------------------------------------------

    @work(thread=True, exclusive=True, group="jobs-poll", exit_on_error=False)
    def _poll_jobs(self) -> None:
        worker = get_current_worker()
        failed = ""
        last: api.History | None = None
        while not worker.is_cancelled:
            try:
                history = api.job_history()
                failed = ""
                if last is None or not _same_history(history, last):  # idle: nothing to redraw
                    self.post_message(self.JobsPolled(history.records, history.skipped))
                last = history
            except (WorkbenchError, OSError) as err:
                if str(err) != failed:
                    failed = str(err)
                    self.post_message(self.PollFailed(failed))
            deadline = time.monotonic() + self.poll_seconds
            while not worker.is_cancelled and time.monotonic() < deadline:  # quick to cancel on exit
                if self._poll_now.wait(min(0.2, max(0.0, deadline - time.monotonic()))):
                    break
            self._poll_now.clear()

    def refresh_jobs(self) -> None:
        self._poll_now.set()

    @on(JobsPolled)
    def _jobs_polled(self, event: JobsPolled) -> None:
        skipped = {(str(s.folder), s.problem): s for s in event.skipped}
        for key, item in skipped.items():
            if key not in self._warned_skipped:
                self.notify(item.message, severity="warning", title="Job left out of the list", timeout=10)
        self._warned_skipped = set(skipped)
        statuses = {r["TrainingJobName"]: r.get("TrainingJobStatus", "") for r in event.records}
        if self._statuses is not None:
            for record in event.records:
                name = record["TrainingJobName"]
                before = self._statuses.get(name)
                watched = before is not None and before not in ("Completed", "Failed", "Stopped")
                if is_final(record) and (watched or (before is None and name in self.launched)):
                    self._toast_finished(record)
        self._statuses = statuses
        self.records = event.records
        self.jobs_changed.publish(event.records)

    @on(PollFailed)
    def _poll_failed(self, event: PollFailed) -> None:
        self.notify(event.message, severity="error", title="Cannot read the job history")

    def _toast_finished(self, record: dict) -> None:
        status = record.get("TrainingJobStatus")
        name = record["TrainingJobName"]
        reason = (record.get("FailureReason") or "").strip().splitlines()
        message = f"{name}: {status} ({record.get('SecondaryStatus', '')})"
        if reason:
            message += f"\n{reason[0][:160]}"
        severity = {"Completed": "information", "Failed": "error"}.get(status or "", "warning")
        self.notify(message, title="Job finished", severity=severity, timeout=8)

    # --- navigation ------------------------------------------------------------------

    def show_jobs(self) -> None:
        while len(self.screen_stack) > 2 or (len(self.screen_stack) == 2 and not isinstance(self.screen, JobsScreen)):
            if isinstance(self.screen, JobsScreen):
                break
            self.pop_screen()

    def open_job(self, name: str) -> None:
        if isinstance(self.screen, MonitorScreen) and self.screen.job == name:
            return
        self.push_screen(MonitorScreen(name))

    def new_spec(self) -> None:
        self.push_screen(ComposerScreen(SpecDraft()))

    def open_spec(self, path: Path | str) -> None:
        try:
            draft = SpecDraft.open(path)
        except WorkbenchError as err:
            self.notify(str(err), severity="error", title="Cannot open the spec")
            return
        self.push_screen(ComposerScreen(draft))

    def choose_spec_file(self) -> None:
        def picked(path: Path | None) -> None:
            if path is not None:
                self.open_spec(path)

        self.push_screen(FilePicker("Open a spec file (YAML)", suffixes=(".yaml", ".yml"), must_exist=False),
                         picked)

    def open_job_spec(self, name: str, source: str = "") -> None:
        """The spec the job ran with, as a new unsaved draft with no name (saving asks
        for a file, running gets a new name). Only the user's own spec file, when it still
        holds exactly what the job ran with, opens as itself; a file in the state
        directory (a rerun's `source` is its parent job's record) never does."""
        self._load_job_spec(name, source)

    @work(thread=True, group="job-spec", exit_on_error=False)
    def _load_job_spec(self, name: str, source: str) -> None:
        try:
            document = api.job_spec(name)
        except WorkbenchError as err:
            self.call_from_thread(self.notify, str(err), severity="error")
            return
        if source and ran_from(source, document):
            self.call_from_thread(self.open_spec, source)
            return
        document.pop("TrainingJobName", None)
        self.call_from_thread(self.push_screen, ComposerScreen(SpecDraft(document)))

    def job_launched(self, name: str) -> None:
        """Show the new job's monitor; the jobs table's cursor waits on it for the return.
        A rerun from a monitor replaces that monitor, so reruns do not pile up screens
        and escape still goes home in one step (from the composer: back to it first)."""
        self.launched.add(name)
        self.notify(f"Started {name} in a background worker; it keeps running if you quit",
                    title="Job started")
        for screen in self.screen_stack:
            if isinstance(screen, JobsScreen):
                screen.select_when_listed(name)
        self.refresh_jobs()
        if isinstance(self.screen, MonitorScreen):
            self.switch_screen(MonitorScreen(name))
        else:
            self.push_screen(MonitorScreen(name))

    # --- actions on jobs (the CLI's stop, interrupt, rerun, rm) ----------------------

    def confirm_stop(self, name: str, record: dict | None) -> None:
        if record and is_final(record):
            self.notify(f"{name} has already ended ({record.get('TrainingJobStatus')}); nothing to stop",
                        severity="warning")
            return
        self._ask_stop(name)

    @work(thread=True, group="job-actions", exit_on_error=False)
    def _ask_stop(self, name: str) -> None:
        """The dialog says how long the grace period is: the job's own Workbench setting."""
        try:
            grace = WorkbenchSettings.from_spec(api.job_spec(name)).StopGracePeriodSeconds
            detail = f" ({grace} s)"
        except (WorkbenchError, OSError, TypeError):
            detail = ""

        self.call_from_thread(
            self._confirm_then, f"Stop {name}?",
            f"Every host gets SIGTERM now and SIGKILL after the grace period{detail}; outputs are still "
            "uploaded. The job ends Stopped.", "Stop",
            lambda: api.stop_job(name, wait=False), f"Stopping {name}: SIGTERM sent, SIGKILL after the grace period",
            "Cannot stop")

    def _confirm_then(self, title: str, body: str, yes: str, action: Callable[[], object], done: str,
                      error_title: str) -> None:
        """Ask first; on yes, run the engine call off the event loop and say how it went."""

        def answer(confirmed: bool | None) -> None:
            if confirmed:
                self._job_action(action, done, error_title)

        self.push_screen(ConfirmDialog(title, body, yes=yes), answer)

    @work(thread=True, group="job-actions", exit_on_error=False)
    def _job_action(self, action: Callable[[], object], done: str, error_title: str) -> None:
        try:
            action()
        except WorkbenchError as err:
            self.call_from_thread(self.notify, str(err), severity="error", title=error_title)
            return
        self.call_from_thread(self.notify, done)
        self.refresh_jobs()

    def confirm_interrupt(self, name: str, record: dict | None) -> None:
        if record and is_final(record):
            self.notify(f"{name} has already ended ({record.get('TrainingJobStatus')}); nothing to interrupt",
                        severity="warning")
            return
        if record and not record.get("EnableManagedSpotTraining"):
            self.notify(f"{name} is not a managed spot job; only jobs with EnableManagedSpotTraining: true can "
                        "be interrupted (s stops it)", severity="error", title="Cannot interrupt")
            return

        self._confirm_then(
            f"Interrupt {name}?",
            "Simulates a spot interruption: the hosts are stopped (SIGTERM, grace, SIGKILL) and the job "
            "restarts from its checkpoints.", "Interrupt",
            lambda: api.interrupt_job(name), f"Interrupting {name}", "Cannot interrupt")

    def confirm_delete(self, name: str, record: dict | None) -> None:
        if record and not is_final(record):
            self.notify(f"{name} is still {record.get('TrainingJobStatus')}; stop it first (s)",
                        severity="error", title="Cannot delete")
            return

        self._confirm_then(
            f"Delete {name}?",
            "Removes the job's folder: its record, event log, logs and /opt/ml trees. Outputs already "
            "uploaded to the output path stay.", "Delete",
            lambda: api.remove_job(name), f"Deleted {name}", "Cannot delete")

    def rerun(self, name: str) -> None:
        def chosen(choice: RerunChoice | None) -> None:
            if choice is None:
                return
            if choice.action == "edit" and choice.document is not None:
                composer = ComposerScreen(SpecDraft(choice.document))
                if isinstance(self.screen, MonitorScreen):  # the new job's composer takes the old monitor's place
                    self.switch_screen(composer)
                else:
                    self.push_screen(composer)
            elif choice.spec is not None:
                self._launch(choice.spec)

        self.push_screen(RerunDialog(name), chosen)

    @work(thread=True, group="job-actions", exit_on_error=False)
    def _launch(self, spec) -> None:
        try:
            job = api.launch(spec, detach=True)
        except WorkbenchError as err:
            self.call_from_thread(self.notify, str(err), severity="error", title="Cannot run")
            return
        self.call_from_thread(self.job_launched, job.name)

    # --- help and quitting -------------------------------------------------------------

    def action_help(self) -> None:
        """The screen's own keys first (with their ids for a key map), then the keys of
        Textual's widgets (scrolling, editing...), each said in words."""
        if isinstance(self.screen, HelpScreen):
            return
        screen = self.screen
        own: list[tuple[int, KeyHelp]] = []
        generic: list[KeyHelp] = []
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            description = binding.description or words_of(binding.action)
            if (binding.action, key) in seen or not description:
                continue
            seen.add((binding.action, key))
            item = KeyHelp(self.get_key_display(binding), description, binding.id or "", where_of(active.node))
            if binding.id:
                rank = 0 if active.node is screen else 2 if active.node is self else 1
                own.append((rank, item))
            else:
                generic.append(item)
        keys = [item for _, item in sorted(own, key=lambda pair: pair[0])]
        title = type(screen).__name__.replace("Screen", "")
        self.push_screen(HelpScreen(title, getattr(screen, "HELP", "") or "", keys, generic))

    async def action_quit(self) -> None:
        dirty = [s for s in self.screen_stack if isinstance(s, ComposerScreen) and s.draft.dirty]
        if not dirty:
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit()

        names = ", ".join(s.draft.display_name for s in dirty)
        self.push_screen(ConfirmDialog("Quit with unsaved changes?",
                                       f"{names} has unsaved changes. Quit and lose them? "
                                       "(Running jobs keep running either way.)", yes="Quit"), answer)


def _same_history(new: "api.History", old: "api.History") -> bool:
    """Unchanged records come back as the same objects: compare by identity, cheaply."""
    return (len(new.records) == len(old.records) and all(a is b for a, b in zip(new.records, old.records))
            and new.skipped == old.skipped)
