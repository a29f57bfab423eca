"""The workbench app: start-up, themes, the job history watcher, navigation between
screens, and quitting. The actions on jobs that screens post (stop, interrupt, rerun,
delete, open...) are carried out by `workbench.tui.job_actions`.

Every engine call runs in a thread worker; results come back as messages or through
`call_from_thread`, never by touching widgets from a thread.
"""

from __future__ import annotations

import copy
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
from workbench.engine.record import KIND_ENDPOINT, is_final, record_kind, record_name, record_secondary, \
    record_status
from workbench.errors import WorkbenchError
from workbench.spec.tuning import is_tuning_spec
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.config import TuiConfig
from workbench.tui.draft import SpecDraft
from workbench.tui.job_actions import JobActions
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.endpoint import EndpointScreen
from workbench.tui.screens.file_picker import FilePicker
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.screens.tuning import TuningScreen
from workbench.tui.screens.tuning_composer import TuningComposerScreen
from workbench.tui.tuning_draft import STARTER, TuningDraft
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
        self._statuses: dict[str, bool] | None = None  # name -> ended
        self._warned_skipped: set[tuple[str, str]] = set()
        self._poll_now = threading.Event()
        self.theme_problems: list[str] = []
        self.job_actions = JobActions(self)

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
        statuses = {record_name(r): is_final(r) for r in event.records}
        if self._statuses is not None:
            for record in event.records:
                name = record_name(record)
                before = self._statuses.get(name)
                watched = before is not None and not before
                if is_final(record) and (watched or (before is None and name in self.launched)):
                    self._toast_finished(record)
        self._statuses = statuses
        self.records = event.records
        self.jobs_changed.publish(event.records)

    @on(PollFailed)
    def _poll_failed(self, event: PollFailed) -> None:
        self.notify(event.message, severity="error", title="Cannot read the job history")

    def _toast_finished(self, record: dict) -> None:
        status = record_status(record)
        name = record_name(record)
        reason = (record.get("FailureReason") or "").strip().splitlines()
        message = f"{name}: {status} ({record_secondary(record)})"
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
        if isinstance(self.screen, (MonitorScreen, EndpointScreen, TuningScreen)) and self.screen.job == name:
            return
        self.push_screen(self.monitor_for(name))

    def monitor_for(self, name: str) -> MonitorScreen | EndpointScreen | TuningScreen:
        """An endpoint's own screen (its requests), a tuning job's (its trials), else the
        job monitor (training and transform jobs)."""
        kind = next((record_kind(r) for r in self.records or [] if record_name(r) == name), None)
        if kind is None:
            try:
                kind = api.job_kind(name)  # one small file, not yet in the polled history
            except (WorkbenchError, OSError):
                kind = None
        if kind in api.TUNING_KINDS:
            return TuningScreen(name)
        return EndpointScreen(name) if kind == KIND_ENDPOINT else MonitorScreen(name)

    def new_spec(self) -> None:
        self.push_screen(ComposerScreen(SpecDraft()))

    def new_tuning_spec(self) -> None:
        self.push_screen(TuningComposerScreen(TuningDraft(copy.deepcopy(STARTER))))

    def open_spec(self, path: Path | str) -> None:
        """A spec file in its composer: a tuning spec (recognised by its keys) in the
        tuning composer, any other in the training composer."""
        try:
            draft = SpecDraft.open(path)
        except WorkbenchError as err:
            self.notify(str(err), severity="error", title="Cannot open the spec")
            return
        if is_tuning_spec(draft.data):
            self.push_screen(TuningComposerScreen(TuningDraft(draft.data, draft.path, draft.fingerprint)))
            return
        self.push_screen(ComposerScreen(draft))

    def choose_spec_file(self) -> None:
        def picked(path: Path | None) -> None:
            if path is not None:
                self.open_spec(path)

        self.push_screen(FilePicker("Open a spec file (YAML)", suffixes=(".yaml", ".yml"), must_exist=False),
                         picked)

    def edit_spec(self, document: dict, *, replace_monitor: bool = False) -> None:
        """A spec document (no file yet) in the composer, as a new unsaved draft; with
        `replace_monitor` it takes the place of the monitor it came from."""
        composer = TuningComposerScreen(TuningDraft(document)) if is_tuning_spec(document) else \
            ComposerScreen(SpecDraft(document))
        if replace_monitor and isinstance(self.screen, MonitorScreen):
            self.switch_screen(composer)
        else:
            self.push_screen(composer)

    def job_launched(self, name: str, replace: bool = True) -> None:
        """Show the new job's monitor; the jobs table's cursor waits on it for the return.
        A rerun from a monitor replaces that monitor, so reruns do not pile up screens
        and escape still goes home in one step (from the composer: back to it first).
        An endpoint served from a monitor (`replace` False) opens over it."""
        self.launched.add(name)
        self.notify(f"Started {name} in a background worker; it keeps running if you quit",
                    title="Job started")
        for screen in self.screen_stack:
            if isinstance(screen, JobsScreen):
                screen.select_when_listed(name)
        self.refresh_jobs()
        if replace and isinstance(self.screen, MonitorScreen):
            self.switch_screen(self.monitor_for(name))
        else:
            self.push_screen(self.monitor_for(name))

    # --- actions on jobs (the CLI's stop, interrupt, rerun, rm; see job_actions) ------

    @on(JobActions.Action)
    def _job_action(self, action: JobActions.Action) -> None:
        """Every screen's job actions, carried out in one place."""
        self.job_actions.carry_out(action)

    # --- help and quitting -------------------------------------------------------------

    def action_help(self) -> None:
        """The screen's own keys first (with their ids for a key map), then the keys of
        Textual's widgets (scrolling, editing...), each said in words."""
        # deferred: its Markdown (markdown_it, pygments) is a tenth of the start-up; only ? opens it
        from workbench.tui.screens.help import HelpScreen, KeyHelp, where_of, words_of

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
        dirty = [s for s in self.screen_stack if isinstance(s, (ComposerScreen, TuningComposerScreen))
                 and s.draft.dirty]
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
