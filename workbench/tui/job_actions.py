"""What screens ask the app to do with jobs: open one, stop, interrupt, delete, rerun,
run a spec, open the spec a job ran with, compose or open a spec, serve a job's model.

A screen posts one of the `JobActions` messages; it bubbles to the app, which hands it to
`JobActions.carry_out`. So no screen reaches into the app class, and an action several
screens offer is written once. Adding an action (for a new kind of job) is one message
here and one handler registered with `@carry_out.register`.

Engine calls run in thread workers of the app, which outlive the screen that asked;
destructive actions ask first through one shared path, `_confirm_then`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial, singledispatchmethod
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from textual.message import Message

from workbench.engine import api
from workbench.engine.record import is_final, record_kind, record_status
from workbench.errors import WorkbenchError
from workbench.spec import JobSpec, WorkbenchSettings, load_job_spec
from workbench.tui.draft import ran_from
from workbench.tui.screens.confirm import ChoiceDialog, ConfirmDialog
from workbench.tui.screens.rerun_dialog import RerunChoice, RerunDialog
from workbench.tui.screens.serve_dialog import ServeChoice, ServeDialog

if TYPE_CHECKING:  # deferred (types only): the app imports this module, a cycle
    from workbench.tui.app import WorkbenchApp


class JobActions:
    """The actions a screen can post, and the app's side of carrying them out."""

    class Action(Message):
        """Any job action: the app routes every one of them to `carry_out`."""

    @dataclass
    class Open(Action):
        """Show the job's monitor."""

        name: str

    @dataclass
    class OpenSpec(Action):
        """The spec the job ran with, in the composer. `source` is the file the job named
        as its spec (its JobCreated event)."""

        name: str
        source: str = ""

    class NewSpec(Action):
        """Compose a spec from nothing."""

    class OpenSpecFile(Action):
        """Choose a spec file, then open it in the composer."""

    @dataclass
    class Stop(Action):
        """`record` (when the screen has it) says whether there is anything to stop."""

        name: str
        record: dict | None = None

    @dataclass
    class Interrupt(Action):
        name: str
        record: dict | None = None

    @dataclass
    class Delete(Action):
        name: str
        record: dict | None = None

    @dataclass
    class Rerun(Action):
        """Ask for a new name and overrides, then run it or edit it first."""

        name: str

    @dataclass
    class Launch(Action):
        """Start a resolved spec as a detached job (it outlives the workbench)."""

        spec: JobSpec

    @dataclass
    class Launched(Action):
        """A screen started a job itself (the composer's run): show it."""

        name: str

    # --- inner loop: a shell in a host, one signal to one host, release, watch ---

    @dataclass
    class Shell(Action):
        """A shell in a host's training container: the app suspends and comes back."""

        name: str
        host: str | None = None

    @dataclass
    class Signal(Action):
        """Choose a signal for one host (SIGKILL asks first)."""

        name: str
        host: str

    @dataclass
    class Release(Action):
        """Let a Workbench.PauseBeforeTrain job's held hosts start training."""

        name: str

    @dataclass
    class Watch(Action):
        """Toggle: rerun the job's spec whenever what it reads changes (as `run --watch`)."""

        name: str
        source: str = ""  # the spec file it came from, when there is one
    # --- metrics ---

    @dataclass
    class Compare(Action):
        """The jobs side by side (hyperparameters, final metrics, curves)."""

        names: list[str]


    # --- serving ---

    @dataclass
    class Serve(Action):
        """Serve a Completed training job's model: ask for the image and port, start the
        endpoint in a worker, and show it."""

        name: str
        record: dict | None = None

    def __init__(self, app: "WorkbenchApp") -> None:
        self.app = app
        self.watches: dict[str, dict] = {}  # the job a watch runs now -> its watcher and spec

    @singledispatchmethod
    def carry_out(self, action: Action) -> None:
        raise TypeError(f"no handler for the job action {type(action).__name__}")

    # --- opening ---------------------------------------------------------------------

    @carry_out.register(Open)
    def _open(self, action: Open) -> None:
        self.app.open_job(action.name)

    @carry_out.register(NewSpec)
    def _new_spec(self, action: NewSpec) -> None:
        self.app.new_spec()

    @carry_out.register(OpenSpecFile)
    def _open_spec_file(self, action: OpenSpecFile) -> None:
        self.app.choose_spec_file()

    @carry_out.register(OpenSpec)
    def _open_spec(self, action: OpenSpec) -> None:
        """An unsaved draft with no name (saving asks for a file, running gets a new
        name). Only the user's own spec file, when it still holds exactly what the job ran
        with, opens as itself; a file in the state directory (a rerun's `source` is its
        parent job's record) never does."""
        self._in_thread(partial(self._load_job_spec, action.name, action.source), group="job-spec")

    def _load_job_spec(self, name: str, source: str) -> None:
        try:
            if api.job_kind(name) in api.SERVING_KINDS:
                raise WorkbenchError(f"{name} ran {api.job_paths(name).spec}, a serving spec; the composer edits "
                                     "training specs")
            document = api.job_spec(name)
        except WorkbenchError as err:
            self.app.call_from_thread(self.app.notify, str(err), severity="error")
            return
        if source and ran_from(source, document):
            self.app.call_from_thread(self.app.open_spec, source)
            return
        document.pop("TrainingJobName", None)
        document.pop("HyperParameterTuningJobName", None)  # --- tuning: a new name when it runs
        self.app.call_from_thread(self.app.edit_spec, document)

    # --- the CLI's stop, interrupt, rm ---------------------------------------------

    @carry_out.register(Stop)
    def _stop(self, action: Stop) -> None:
        name, record = action.name, action.record
        if record and is_final(record):
            self.app.notify(f"{name} has already ended ({record_status(record)}); nothing to stop",
                            severity="warning")
            return
        self._in_thread(partial(self._ask_stop, name))

    def _ask_stop(self, name: str) -> None:
        """The dialog says how long the grace period is: the job's own Workbench setting."""
        ending = "outputs are still uploaded. The job ends Stopped."
        who = "Every host gets"
        try:
            if api.job_kind(name) in api.SERVING_KINDS:  # --- serving: its record has its settings ---
                record = api.describe_job(name)
                grace = ((record.get("Workbench") or {}).get("Settings") or {}).get("StopGracePeriodSeconds", 30)
                ending = ("requests in flight may finish. It ends " +
                          ("OutOfService." if api.job_kind(name) == "endpoint" else "Stopped; finished outputs stay."))
            elif api.job_kind(name) in api.TUNING_KINDS:  # --- tuning: its trials are what runs ---
                who, ending = "Every running training job gets", "finished ones keep their results. It ends Stopped."
                grace = None
            else:
                grace = WorkbenchSettings.from_spec(api.job_spec(name)).StopGracePeriodSeconds
            detail = f" ({grace} s)" if grace is not None else ""
        except (WorkbenchError, OSError, TypeError):
            detail = ""

        self.app.call_from_thread(
            self._confirm_then, f"Stop {name}?",
            f"{who} SIGTERM now and SIGKILL after the grace period{detail}; {ending}", "Stop",
            lambda: api.stop_job(name, wait=False), f"Stopping {name}: SIGTERM sent, SIGKILL after the grace period",
            "Cannot stop")

    @carry_out.register(Interrupt)
    def _interrupt(self, action: Interrupt) -> None:
        name, record = action.name, action.record
        if record and is_final(record):
            self.app.notify(f"{name} has already ended ({record_status(record)}); nothing to interrupt",
                            severity="warning")
            return
        if record and not record.get("EnableManagedSpotTraining"):
            self.app.notify(f"{name} is not a managed spot job; only jobs with EnableManagedSpotTraining: true can "
                            "be interrupted (s stops it)", severity="error", title="Cannot interrupt")
            return

        self._confirm_then(
            f"Interrupt {name}?",
            "Simulates a spot interruption: the hosts are stopped (SIGTERM, grace, SIGKILL) and the job "
            "restarts from its checkpoints.", "Interrupt",
            lambda: api.interrupt_job(name), f"Interrupting {name}", "Cannot interrupt")

    @carry_out.register(Delete)
    def _delete(self, action: Delete) -> None:
        name, record = action.name, action.record
        if record and not is_final(record):
            self.app.notify(f"{name} is still {record_status(record)}; stop it first (s)",
                            severity="error", title="Cannot delete")
            return

        what = "the job's folder: its record, event log, logs and /opt/ml trees"
        if record and record_kind(record) in api.TUNING_KINDS:  # --- tuning: its trials go with it
            what = "the tuning job's folder and its training jobs' folders (records, logs, /opt/ml trees)"
        self._confirm_then(
            f"Delete {name}?",
            f"Removes {what}. Outputs already uploaded to the output path stay.", "Delete",
            lambda: api.remove_job(name), f"Deleted {name}", "Cannot delete")

    # --- running ---------------------------------------------------------------------

    @carry_out.register(Rerun)
    def _rerun(self, action: Rerun) -> None:
        def chosen(choice: RerunChoice | None) -> None:
            if choice is None:
                return
            if choice.action == "edit" and choice.document is not None:
                self.app.edit_spec(choice.document, replace_monitor=True)
            elif choice.spec is not None:
                self.carry_out(JobActions.Launch(choice.spec))

        self.app.push_screen(RerunDialog(action.name), chosen)

    @carry_out.register(Launch)
    def _launch(self, action: Launch) -> None:
        self._in_thread(partial(self._start, action.spec))

    def _start(self, spec: JobSpec) -> None:
        try:
            job = api.launch(spec, detach=True)
        except WorkbenchError as err:
            self.app.call_from_thread(self.app.notify, str(err), severity="error", title="Cannot run")
            return
        self.app.call_from_thread(self.app.job_launched, job.name)

    @carry_out.register(Launched)
    def _launched(self, action: Launched) -> None:
        self.app.job_launched(action.name)

    # --- inner loop ------------------------------------------------------------------

    @carry_out.register(Shell)
    def _shell(self, action: Shell) -> None:
        self._in_thread(partial(self._find_shell, action.name, action.host), group="shell")

    def _find_shell(self, name: str, host: str | None) -> None:
        try:
            argv, chosen = api.exec_command(name, host)
        except WorkbenchError as err:
            self.app.call_from_thread(self.app.notify, str(err), severity="error", title="Cannot open a shell")
            return
        self.app.call_from_thread(self._run_shell, argv, name, chosen)

    def _run_shell(self, argv: list[str], name: str, host: str) -> None:
        """The terminal is the shell's until it exits (`App.suspend`), then the app redraws."""
        import subprocess

        try:
            with self.app.suspend():
                print(f"{name} {host}: a shell in its training container; exit to come back to the workbench")
                subprocess.call(argv)
        except Exception as err:  # SuspendNotSupported (textual-web, tests' headless driver)
            self.app.notify(f"Cannot hand the terminal over here ({type(err).__name__}); run "
                            f"`sm-workbench exec {name} --host {host}` in a terminal", severity="error")

    @carry_out.register(Signal)
    def _signal(self, action: Signal) -> None:
        name, host = action.name, action.host

        def chosen(signal: str | None) -> None:
            if not signal:
                return
            send = partial(self._act, lambda: api.signal_host(name, host, signal), f"{signal} sent to {host}",
                           "Cannot signal")
            if signal == "SIGKILL":
                self._confirm_then(f"SIGKILL {host}?", f"{host} of {name} is killed at once: it cannot save "
                                   "anything, and its non-zero exit fails the job (the other hosts are stopped).",
                                   "Kill", lambda: api.signal_host(name, host, signal), f"SIGKILL sent to {host}",
                                   "Cannot signal")
            else:
                self._in_thread(send)

        self.app.push_screen(ChoiceDialog(
            f"Send a signal to {host}", f"One signal to {host}'s training process, recorded on the Signals tab. "
            "What follows follows the contract: a host that exits non-zero fails the job.",
            [("SIGTERM", "TERM", "t"), ("SIGINT", "INT", "i"), ("SIGUSR1", "USR1", "1"), ("SIGUSR2", "USR2", "2"),
             ("SIGHUP", "HUP", "h"), ("SIGKILL", "KILL", "k")]), chosen)

    @carry_out.register(Release)
    def _release(self, action: Release) -> None:
        self._in_thread(partial(self._act, lambda: api.release_job(action.name),
                                f"Released {action.name}: its hosts start training", "Cannot release"))

    @carry_out.register(Watch)
    def _watch(self, action: Watch) -> None:
        if action.name in self.watches:
            self.watches.pop(action.name)["watcher"].stop()
            self.app.notify(f"No longer rerunning {action.name} on changes")
            return
        self._in_thread(partial(self._start_watch, action.name, action.source), group="watch")

    def watching(self, name: str) -> bool:
        return name in self.watches

    def _round_spec(self, name: str, source: str) -> JobSpec:
        """The next round: the spec file as it is now (when the job came from one), else the job's own spec."""
        following = api.next_round_name(name)
        if source and Path(source).is_file() and not Path(source).is_relative_to(api.job_paths(name).root.parent):
            return load_job_spec(source, name=following)
        return api.rerun_spec(name, new_name=following)

    def _start_watch(self, name: str, source: str) -> None:
        try:
            spec = self._round_spec(name, source)
            watch = {"source": source, "spec": spec}
            watch["watcher"] = api.watch_changes(spec, partial(self._changed, watch))
        except WorkbenchError as err:
            self.app.call_from_thread(self.app.notify, str(err), severity="error", title="Cannot watch")
            return
        watch["job"] = name
        self.watches[name] = watch
        shown = ", ".join(p.name for p in api.watched_paths(spec))
        self.app.call_from_thread(self.app.notify, f"Rerunning {name}'s spec whenever {shown} change (W again stops)",
                                  title="Watching")

    def _changed(self, watch: dict, paths: list[str]) -> None:
        """In the watcher's thread: stop the running round the normal way, start the next."""
        current = watch["job"]
        try:
            if not is_final(api.describe_job(current)):
                api.stop_job(current, wait=True)
            spec = self._round_spec(current, watch["source"])
            job = api.launch(spec, detach=True)
        except WorkbenchError as err:
            self.app.call_from_thread(self.app.notify, str(err), severity="error", title="Watch: cannot rerun")
            return
        self.watches.pop(current, None)
        watch["job"] = job.name
        self.watches[job.name] = watch
        self.app.call_from_thread(self.app.job_launched, job.name)


    # --- metrics ---------------------------------------------------------------------

    @carry_out.register(Compare)
    def _compare(self, action: Compare) -> None:
        from workbench.tui.screens.compare import CompareScreen  # deferred: a cycle (it is a screen of the app)

        if len(action.names) < 2:
            self.app.notify("Mark two jobs or more with space, then press c to compare them", severity="warning",
                            title="Compare")
            return
        self.app.push_screen(CompareScreen(action.names))


    # --- serving ---------------------------------------------------------------------

    @carry_out.register(Serve)
    def _serve(self, action: Serve) -> None:
        name, record = action.name, action.record or {}
        if record and record_status(record) != "Completed":
            self.app.notify(f"{name} is {record_status(record)}; only a Completed training job has a model to serve",
                            severity="warning", title="Cannot serve")
            return
        image = (record.get("AlgorithmSpecification") or {}).get("TrainingImage") or ""

        def chosen(choice: ServeChoice | None) -> None:
            if choice is not None:
                self._in_thread(partial(self._start_endpoint, name, choice), group="serve")

        self.app.push_screen(ServeDialog(name, image), chosen)

    def _start_endpoint(self, job: str, choice: ServeChoice) -> None:
        try:
            endpoint = api.serve(choice.model, port=choice.port, detach=True, source=job)
        except WorkbenchError as err:
            self.app.call_from_thread(self.app.notify, str(err), severity="error", title="Cannot serve")
            return
        self.app.call_from_thread(self.app.job_launched, endpoint.name, replace=False)

    # --- shared ----------------------------------------------------------------------

    def _confirm_then(self, title: str, body: str, yes: str, action: Callable[[], object], done: str,
                      error_title: str) -> None:
        """Ask first; on yes, run the engine call off the event loop and say how it went."""

        def answer(confirmed: bool | None) -> None:
            if confirmed:
                self._in_thread(partial(self._act, action, done, error_title))

        self.app.push_screen(ConfirmDialog(title, body, yes=yes), answer)

    def _act(self, action: Callable[[], object], done: str, error_title: str) -> None:
        try:
            action()
        except WorkbenchError as err:
            self.app.call_from_thread(self.app.notify, str(err), severity="error", title=error_title)
            return
        self.app.call_from_thread(self.app.notify, done)
        self.app.refresh_jobs()

    def _in_thread(self, call: partial, group: str = "job-actions") -> None:
        """Engine calls block: a thread worker of the app's, so it outlives the screen
        that asked."""
        self.app.run_worker(call, name=call.func.__name__, group=group, thread=True, exit_on_error=False)
