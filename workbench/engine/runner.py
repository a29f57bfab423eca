"""Runs one training job the way SageMaker does, from Starting to Completed/Failed/Stopped.

The runner owns the lifecycle (statuses, the stopping sequence, failure handling);
data channels, checkpoints and GPUs plug in as extensions at fixed points. Every step
is an event on the bus. A job started by a process that has since died can be adopted
by a new runner, which follows its containers again.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.capabilities import extensions_for
from workbench.engine.container_user import folder_access, private_folder
from workbench.engine.docker_backend import DockerJob, needs_network, signal_name
from workbench.engine.extension import Extension, JobContext, merge_options
from workbench.engine.kill_events import KillEvents
from workbench.engine.labels import LABEL_HOST
from workbench.engine.layout import write_host_tree
from workbench.engine.lint import lint_image
from workbench.engine.logs import LogBoundary, LogPump, follow_container
from workbench.engine.outputs import failure_reason, pack_and_upload
from workbench.engine.plan import HostPlan, make_plan, natural_key
from workbench.engine.record import epoch, is_final, new_record
from workbench.engine.store import JobPaths, JobRecorder, load_record, log_boundary
from workbench.errors import StorageError, WorkbenchError
from workbench.paths import state_dir
from workbench.spec.settings import WorkbenchSettings
from workbench.spec.unemulated import unhonoured

INTERNAL = "InternalServerError"  # the failures SageMaker's RetryStrategy retries
POLL_SECONDS = 0.05
USER_SIGNAL = "Signalled by the user"  # the reason `sm-workbench signal` gives on the signal timeline
ENGINE_RETRY_SECONDS = 1.0  # between attempts to reach an engine that went away
LOST_MARGIN = 2.0  # an exit this close before the engine was lost counts as during the outage

MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Stopping": "Stopping the training job",
}


def job_arn(name: str, settings: WorkbenchSettings) -> str:
    return f"arn:aws:sagemaker:{settings.Region}:{settings.AccountId}:training-job/{name}"


class _Cancelled(Exception):
    """The job was stopped before its containers started."""


@dataclass
class HostRun:
    plan: HostPlan
    holder: object | None = None
    container: object | None = None
    running: bool = False
    exit_code: int | None = None
    signals: list[str] = field(default_factory=list)
    signal_times: list[float] = field(default_factory=list)
    thread: threading.Thread | None = None
    skipped: bool = False  # never started: the job was stopped while its hosts were starting

    @property
    def waiting(self) -> bool:
        """The runner still waits for this host's exit."""
        return self.exit_code is None and not self.skipped


class JobRunner:
    def __init__(self, spec: dict, paths: JobPaths, bus: ev.EventBus, client, *,
                 extensions: list[Extension] | None = None, source: str = "") -> None:
        self.spec = spec
        self.name = spec["TrainingJobName"]
        self.paths = paths
        self.bus = bus
        self.client = client
        self.source = source
        self.settings = WorkbenchSettings.from_spec(spec)
        self.plan = make_plan(spec)
        self.arn = job_arn(self.name, self.settings)
        self.docker = DockerJob(client, self.name, str(state_dir()))
        self.ctx = JobContext(self.name, spec, self.plan, paths, self.settings, self.emit, self.docker)
        if extensions is None:
            extensions = extensions_for(spec, self.plan, self.settings)
        self.extensions = extensions
        self.hosts = {h.name: HostRun(h) for h in self.plan.hosts}
        self.exits: queue.Queue = queue.Queue()
        self.requests: queue.Queue = queue.Queue()
        self.recorder: JobRecorder | None = None
        self.pump: LogPump | None = None
        self.status = ("InProgress", "Starting")
        self.training_started: float | None = None
        self.stop_reason = ""  # Stopped, MaxRuntimeExceeded, ... when the job is being stopped
        self.failure = ""
        self.term_sent_at: float | None = None
        self.killed = False
        self._watching = threading.Event()
        self.kills: KillEvents | None = None  # signals the engine delivered, to tell ours from others'
        self.adopted = False
        self._created = time.time()
        self.first_training_start: float | None = None
        self.training_ended: float | None = None
        self.billable = 0.0  # seconds of training, over every spot attempt
        self.adopted_deadline: float | None = None  # MaxRuntime's, as the dead runner said it
        self._network_up = False  # the job's network and holders (kept by spot restarts, made again by retries)
        self.retries = 0  # RetryStrategy: attempts started again after an internal error
        self._failed_readers: list[Extension] = []

    # --- plumbing --------------------------------------------------------------------

    def emit(self, event: ev.Event) -> None:
        self.bus.emit(event)

    def set_status(self, status: str, secondary: str, message: str | None = None) -> None:
        self.status = (status, secondary)
        self.emit(ev.StatusChanged(status, secondary, MESSAGES.get(secondary, "") if message is None else message))

    def request_stop(self, kill: bool = False) -> None:
        """Thread-safe (and signal-handler safe): stop gracefully, or kill at once."""
        self.requests.put("kill" if kill else "stop")
        self.ctx.cancelled.set()

    def _lines_flushed(self, event: ev.LogLines) -> None:
        """A batch of lines: stored first, then read by the extensions that read output (metrics)."""
        self.emit(event)
        for extension in self.extensions:
            try:
                extension.log_lines(self.ctx, event)
            except Exception as err:  # a reader's bug must not stop the lines (the pump's thread)
                if extension not in self._failed_readers:
                    self._failed_readers.append(extension)
                    self.emit(ev.Notice("warning", f"{type(extension).__name__} stopped reading the output: "
                                                   f"{type(err).__name__}: {err}"))

    def _watch_control(self) -> None:
        while not self._watching.is_set():
            for action, details in control.take_requests(self.paths):
                self.requests.put((action, details) if action == "signal" else action)
                if action in ("stop", "kill"):
                    self.ctx.cancelled.set()  # staging in progress gives up
            self._watching.wait(0.1)

    def _attach_store(self, record: dict) -> None:
        self.recorder = JobRecorder(self.paths, record)
        self.bus.subscribe(self.recorder)
        self.pump = LogPump(self._lines_flushed)

    # --- the lifecycle ---------------------------------------------------------------

    def run(self) -> dict:
        """Run the job to its end; returns the final DescribeTrainingJob record."""
        created = time.time()
        self._attach_store(new_record(self.spec, self.arn, created))
        self.emit(ev.JobCreated(self.name, self.arn, tuple(self.plan.host_names), self.source, time=created))
        watcher = threading.Thread(target=self._watch_control, name="control", daemon=True)
        watcher.start()
        self._created = created
        lint = threading.Thread(target=self._lint, name="lint", daemon=True)
        for item in unhonoured(self.spec):  # said once, before anything runs
            self.emit(ev.Notice("warning", item.line()))
        try:
            self.set_status("InProgress", "Starting")
            self._build()  # Workbench.Build, before anything needs the image (and the lint sees the fresh one)
            lint.start()
            while True:
                try:
                    self._setup()
                    self._train()
                except _Cancelled:
                    raise
                except Exception as err:
                    if not self._attempt_failed(err):
                        raise
                if not self._should_restart():
                    break
                self._restart()
        except _Cancelled:
            pass
        except WorkbenchError as err:
            if self.ctx.cancelled.is_set() and not self.failure:  # a stop cut staging short: not a failure
                self.stop_reason = self.stop_reason or "Stopped"
                self.set_status("Stopping", "Stopping")
            else:
                self.failure = self.failure or f"ClientError: {err}"
        except Exception as err:  # a bug or an engine error: the job fails, the workbench goes on
            self._internal_error(err)
        if lint.is_alive():
            lint.join(timeout=10)
        return self._finish(watcher)

    def _build(self) -> None:
        if self.settings.Build:
            from workbench.engine.image_build import build_spec_image  # deferred: only jobs with Workbench.Build

            self.set_status("InProgress", "Starting", "Building the training image")
            build_spec_image(self.client, self.spec, self.emit, self.ctx.cancelled)

    def _lint(self) -> None:
        try:
            findings = lint_image(self.client, self.spec)
        except Exception as err:  # lint is advice: it never stops a run
            self.emit(ev.Notice("info", f"Image lint skipped: {type(err).__name__}: {err}"))
            return
        for finding in findings:
            self.emit(ev.LintFinding(finding.rule, finding.message, finding.fix))

    def adopt(self, previous_owner: dict | None = None) -> dict:
        """Take over a job whose runner died: follow its containers again, or end it.

        Containers that still run are followed from the last logged line; ones that
        exited meanwhile report their exit codes; a job that died before training
        started cannot be resumed and ends Failed. Nothing is left behind either way.
        """
        self.adopted = True
        record = load_record(self.paths)
        if is_final(record):  # it ended after all (the taker read an older record): nothing to take over
            return record
        self._attach_store(record)
        pid = (previous_owner or {}).get("pid", "?")
        phase = record.get("SecondaryStatus", "")
        self.status = (record.get("TrainingJobStatus", "InProgress"), phase)
        self.emit(ev.Notice("warning", f"The sm-workbench process running this job (pid {pid}) ended while the job "
                                       f"was {phase}; a new one took over"))
        watcher = threading.Thread(target=self._watch_control, name="control", daemon=True)
        watcher.start()
        containers = {c.labels.get(LABEL_HOST): c for c in self.docker.find(role="training")}
        resumable = all(getattr(e, "adoptable", True) for e in self.extensions)
        if not containers or phase in ("Starting", "Downloading") or not resumable:
            self.failure = (
                f"WorkbenchError: the sm-workbench process running this job (pid {pid}) ended while it was {phase}"
                + ("" if resumable else " and its Pipe feeders cannot be resumed")
                + f"; its outputs were saved. Rerun it with `sm-workbench rerun {self.name}`"
            )
            return self._finish(watcher)
        bench = record.get("Workbench") or {}
        self.ctx.attempt = int(bench.get("Attempt") or 1)
        self.retries = len(bench.get("Retries") or [])
        self.training_started = epoch(record.get("TrainingStartTime")) or time.time()
        self.adopted_deadline = epoch((record.get("Workbench") or {}).get("MaxRuntimeDeadline"))
        signals = self._resume_stop(record)
        known_exits = (record.get("Workbench") or {}).get("Hosts") or {}
        self._watch_kills()
        for name, run in self.hosts.items():
            run.container = containers.get(name)
            mine = [s for s in signals if s["Host"] == name]
            run.signals, run.signal_times = [s["Signal"] for s in mine], [epoch(s["Time"]) for s in mine]
            if "ExitCode" in known_exits.get(name, {}):
                run.exit_code = known_exits[name]["ExitCode"]
                continue
            if run.container is None:
                self.exits.put((name, 137, False, f"AlgorithmError: the container of {name} disappeared", ""))
                continue
            run.running = True
            after = log_boundary(self.paths, name)
            run.thread = threading.Thread(target=self._follow, args=(run, after), name=f"host-{name}", daemon=True)
            run.thread.start()
        if (self.failure or self.stop_reason) and self.term_sent_at is None:
            self._terminate_remaining(self.stop_reason or "Failed")  # decided, but no SIGTERM had gone out yet
        try:
            for extension in self.extensions:
                extension.started(self.ctx)
            self._monitor()
            for extension in self.extensions:
                extension.stopped(self.ctx)
        except Exception as err:
            self._internal_error(err)
        return self._finish(watcher)

    def _resume_stop(self, record: dict) -> list[dict]:
        """What the dead runner had decided: a failure (the first host whose exit failed the
        job), a stop under way (its SIGTERM time stays the base of the SIGKILL deadline).
        Returns this attempt's signals."""
        bench = record.get("Workbench") or {}
        signals = [s for s in bench.get("Signals") or [] if s.get("Reason") != USER_SIGNAL]
        restarts = (bench.get("Interruptions") or []) + (bench.get("Retries") or [])
        if restarts:  # only this attempt's: earlier ones were spot interruptions or retries
            since = max(epoch(r["Time"]) or 0.0 for r in restarts)
            signals = [s for s in signals if (epoch(s["Time"]) or 0.0) >= since]
        terms = [s for s in signals if s["Signal"] == "SIGTERM"]
        hosts = bench.get("Hosts") or {}
        before_stop = terms[0]["Time"] if terms else "~"  # ISO times: "~" sorts after every one
        failed = sorted((h.get("EndTime", ""), name) for name, h in hosts.items() if h.get("FailureReason") or (
            h.get("ExitCode") not in (None, 0) and h.get("EndTime", "") <= before_stop))
        if failed:  # the first exit that failed the job (a record without FailureReason: as its exit says)
            name = failed[0][1]
            self.failure = hosts[name].get("FailureReason") or failure_reason(self.paths.opt_ml(name)) or (
                f"AlgorithmError: {name} exited with exit code {hosts[name]['ExitCode']}")
        if terms:
            self.term_sent_at = epoch(terms[0]["Time"])
            self.killed = any(s["Signal"] == "SIGKILL" for s in signals)
            reason = terms[0]["Reason"]
            if reason == "Interrupted":  # the restart lived in the dead process
                self.failure = self.failure or (
                    f"WorkbenchError: the sm-workbench process running this job ended while a spot interruption "
                    f"was under way; the restart cannot be resumed. Rerun it with `sm-workbench rerun {self.name}`")
            elif reason == "Failed":
                self.failure = self.failure or (
                    "InternalServerError: the sm-workbench process running this job ended while it stopped the hosts "
                    f"after a failure; see `sm-workbench describe {self.name}` (Notices) and the logs")
            else:
                self.stop_reason = reason
        elif record.get("TrainingJobStatus") == "Stopping":
            self.stop_reason = "Stopped"
        return signals

    def _setup(self) -> None:
        if self.ctx.access is None:
            self.ctx.access = folder_access(self.client, self.spec["AlgorithmSpecification"]["TrainingImage"])
        private_folder(self.paths.root / "hosts")  # no other user of this machine reaches the trees
        for host in self.plan.hosts:
            write_host_tree(self.paths.opt_ml(host.name), self.spec, self.plan, host, self.ctx.access,
                            arn=self.arn, attempt=self.ctx.attempt)
        # The network and the holders come up while the data is staged (once: a spot
        # restart keeps them, so every host keeps its identity).
        with ThreadPoolExecutor(max_workers=1) as pool:
            network = pool.submit(self._start_network if not self._network_up else lambda: None)
            try:
                self._check_cancel()
                self.set_status("InProgress", "Downloading")
                for extension in self.extensions:
                    extension.prepare(self.ctx)
                    self._check_cancel()
            finally:
                network.result()
        self._check_cancel()  # a stop while the holders came up

    def _stop_requested(self) -> bool:
        """A stop or kill is pending or under way (checked between containers while starting)."""
        return self.ctx.cancelled.is_set() or bool(self.stop_reason)

    def _start_network(self) -> None:
        isolated = bool(self.spec.get("EnableNetworkIsolation"))
        self.docker.has_network = needs_network(len(self.plan.hosts), isolated)
        if not self.docker.has_network:
            return
        self.docker.create_network(internal=isolated)
        if len(self.plan.hosts) > 1:
            self.docker.start_holders(self.plan.host_names, cancelled=self._stop_requested,
                                      started=lambda host, holder: setattr(self.hosts[host], "holder", holder))
        self._network_up = True

    def _check_cancel(self) -> None:
        later = []  # a release or a signal waits for the containers
        while not self.requests.empty():
            action = self.requests.get()
            if action == "release" or isinstance(action, tuple):
                later.append(action)
            elif action in ("stop", "kill"):
                self.stop_reason = self.stop_reason or "Stopped"
            elif action == "interrupt":
                self.emit(ev.Notice("warning", "Interrupt ignored: the job has not started training yet"))
        if not self.stop_reason and self._max_wait_passed():
            self.stop_reason = "MaxWaitTimeExceeded"
        for action in later:
            self.requests.put(action)
        if self.stop_reason:
            self.set_status("Stopping", "Stopping")
            raise _Cancelled()
        self.ctx.cancelled.clear()

    def _train(self) -> None:
        self.set_status("InProgress", "Training")
        self.training_started = time.time()
        if self.first_training_start is None:
            self.first_training_start = self.training_started
        self._watch_kills()
        with ThreadPoolExecutor(max_workers=min(8, len(self.hosts))) as pool:
            list(pool.map(self._start_host, self.plan.hosts))
        if any(run.skipped for run in self.hosts.values()):  # the stop that cut the start short, now
            while not self.requests.empty():
                self._handle_request(self.requests.get())
        try:
            for extension in self.extensions:
                extension.started(self.ctx)
            self._monitor()
        finally:
            self.billable += max(0.0, (self.training_ended or time.time()) - self.training_started)
        for extension in self.extensions:
            extension.stopped(self.ctx)

    # --- spot ------------------------------------------------------------------------

    @property
    def spot(self) -> bool:
        return bool(self.spec.get("EnableManagedSpotTraining"))

    def _max_wait_passed(self) -> bool:
        max_wait = (self.spec.get("StoppingCondition") or {}).get("MaxWaitTimeInSeconds")
        return bool(self.spot and max_wait and time.time() >= self._created + max_wait)

    def _scheduled_interruption(self) -> float | None:
        """When this attempt is interrupted by Workbench.SpotInterruptions, if at all."""
        schedule = list(self.settings.SpotInterruptions or [])
        if not self.spot or self.ctx.attempt > len(schedule):
            return None
        return self.training_started + float(schedule[self.ctx.attempt - 1])

    def _should_restart(self) -> bool:
        if self._retryable():
            return True
        if self.stop_reason != "Interrupted" or self.failure:
            return False
        if self._max_wait_passed():
            self.stop_reason = "MaxWaitTimeExceeded"
            return False
        return True

    # --- retries (RetryStrategy) -------------------------------------------------------

    @property
    def max_retries(self) -> int:
        return int((self.spec.get("RetryStrategy") or {}).get("MaximumRetryAttempts") or 0)

    def _retryable(self) -> bool:
        """SageMaker retries a job that failed for an internal reason (InternalServerError),
        never for the algorithm's own error or the client's; nor a job being stopped."""
        if not self.failure.startswith(INTERNAL) or self.stop_reason or self.ctx.cancelled.is_set():
            return False
        if self.retries >= self.max_retries:
            if self.max_retries:
                one = self.max_retries == 1
                self.emit(ev.Notice("error", f"RetryStrategy: the {self.max_retries} retr{'y' if one else 'ies'} "
                                             f"allowed {'is' if one else 'are'} used up"))
            return False
        return True

    def _attempt_failed(self, err: Exception) -> bool:
        """An attempt raised instead of ending: record why. True when the job may go on
        (a retry, if RetryStrategy allows it); False to let the error end the job."""
        if isinstance(err, WorkbenchError):
            if self.ctx.cancelled.is_set() or not (isinstance(err, StorageError) and err.server_side):
                return False  # a stop cutting staging short, or the client's own error
            self.failure = self.failure or f"{INTERNAL}: {err}"
            self.emit(ev.Notice("error", f"{INTERNAL}: {err}"))
        else:
            self._internal_error(err)  # a container that could not be made, the engine gone, a bug
        self._end_attempt_now()
        return True

    def _end_attempt_now(self) -> None:
        """After an attempt raised: no container of it runs on, and the synced folders drain."""
        self._stop_everything_now()
        for run in self.hosts.values():
            if run.thread:
                run.thread.join(timeout=10)
        for extension in self.extensions:
            try:
                extension.stopped(self.ctx)
            except Exception as err:  # the attempt failed already; this one only adds to the log
                self._internal_error(err)

    def _restart(self) -> None:
        """After a spot interruption or an internal error: new host trees, fresh containers,
        the same identities (a retry makes the job's network and holders again too: the
        engine that failed may have taken them down)."""
        retry = bool(self.failure)
        if retry:
            failure, self.failure = self.failure, ""
            self.retries += 1
            try:
                self.docker.remove_all()
            except Exception as err:  # the engine may still be away; the next attempt finds out
                self._internal_error(err, fails=False)
            self._network_up = False
            for run in self.hosts.values():
                run.holder = None
        else:
            self._remove_training_containers()
        attempt = self.ctx.attempt
        archive = self.paths.root / "attempts" / str(attempt)
        archive.mkdir(parents=True, exist_ok=True)
        for host in self.plan.hosts:
            folder = self.paths.host(host.name)
            if folder.exists():
                folder.rename(archive / host.name)  # kept for debugging; works on root-owned trees
        self.ctx.attempt = attempt + 1
        self.stop_reason, self.term_sent_at, self.killed, self.training_ended = "", None, False, None
        for run in self.hosts.values():
            run.container, run.running, run.exit_code, run.thread, run.skipped = None, False, None, None, False
            run.signals, run.signal_times = [], []
        if retry:
            self.emit(ev.AttemptStarted(self.ctx.attempt, INTERNAL, failure=failure[:1024]))
            self.emit(ev.Notice("warning", f"RetryStrategy: retry {self.retries} of {self.max_retries} after "
                                           f"{failure[:300]}"))
            self.set_status("InProgress", "Starting", f"Retrying the training job after an internal error "
                                                       f"(retry {self.retries} of {self.max_retries})")
            return
        self.emit(ev.AttemptStarted(self.ctx.attempt))
        self.set_status("InProgress", "Starting", "Restarting training after the spot interruption")

    def _remove_training_containers(self) -> None:
        from docker.errors import APIError, NotFound  # deferred: the Docker SDK (~0.25 s to import)

        for run in self.hosts.values():
            if run.container is not None:
                try:
                    run.container.remove(force=True)
                except (NotFound, APIError):
                    pass

    def _environment(self) -> dict:
        environment = dict(self.spec.get("Environment") or {})
        environment.update({"TRAINING_JOB_NAME": self.name, "TRAINING_JOB_ARN": self.arn})
        if self.settings.ForwardAwsCredentials:
            environment.update(forwarded_aws_environment())
        return environment

    def _command(self) -> tuple[list | None, list | None]:
        algo = self.spec["AlgorithmSpecification"]
        entrypoint, arguments = algo.get("ContainerEntrypoint"), algo.get("ContainerArguments")
        if entrypoint is None and arguments is None:
            return None, ["train"]
        return entrypoint, arguments

    def _start_host(self, host: HostPlan) -> None:
        run = self.hosts[host.name]
        if self._stop_requested():
            run.skipped = True
            return
        entrypoint, command = self._command()
        options: dict = {"volumes": {str(self.paths.opt_ml(host.name)): {"bind": "/opt/ml", "mode": "rw"}}}
        for extension in self.extensions:
            merge_options(options, extension.container_options(self.ctx, host))
        volumes = options.pop("volumes")
        command = options.pop("command", command)  # an extension that wraps the training command
        environment = {**self._environment(), **options.pop("environment", {})}
        run.container = self.docker.create_training(
            host.name, run.holder, self.spec["AlgorithmSpecification"]["TrainingImage"],
            entrypoint=entrypoint, command=command, environment=environment, volumes=volumes, extra=options,
        )
        for extension in self.extensions:
            extension.before_start(self.ctx, host)
        from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

        try:
            run.container.start()
        except APIError as err:
            reason = start_failure_reason(host.name, err, entrypoint, command)
            self.emit(ev.Notice("error", reason, host.name))
            self.exits.put((host.name, 127, False, reason, ""))
            return
        run.running = True
        self.emit(ev.HostStarted(host.name, run.container.id, host.group, host.instance_type))
        run.thread = threading.Thread(target=self._follow, args=(run,), name=f"host-{host.name}", daemon=True)
        run.thread.start()

    def _watch_kills(self) -> None:
        if self.kills is None:
            self.kills = KillEvents(self.client, self.docker.labels(role="training"))
            self.kills.start()

    def _follow(self, run: HostRun, after: LogBoundary | None = None) -> None:
        host = run.plan.name
        while not follow_container(run.container, host, self.pump, after=after):
            # The stream broke off: the engine went away. Once it answers again, a container
            # that is still running (live-restore) is followed on; one that is not, ended then.
            lost_at = time.time()
            if wait_until_answered(self.docker, run.container) != "running":
                ended = wait_for_exit(self.docker, run.container, lost_at=lost_at)
                break
            time.sleep(ENGINE_RETRY_SECONDS)
            after = log_boundary(self.paths, host)
        else:
            ended = wait_for_exit(self.docker, run.container)
        self.exits.put((host, ended.code, ended.oom, "", self._outside_ending(run, ended)))

    def _outside_ending(self, run: HostRun, ended: "Ended") -> str:
        """Why a container we never signalled did not end by itself, if it did not: it ended
        while the engine was gone (a restart stops every container), or the engine delivered
        a signal that was not ours (`docker stop`, `docker kill`)."""
        if run.signals:
            return ""  # ours: a stop, or the end of a failed job
        host = run.plan.name
        if ended.engine_lost:
            return (f"InternalServerError: the Docker engine went away while {host} was training and its "
                    f"container ended meanwhile (exit code {ended.code}): training was cut short, not finished. "
                    "Run the job again")
        delivered = self.kills.signals_to(run.container.id, ended.finished_at) if self.kills is not None else None
        if delivered:
            return (f"InternalServerError: {host}'s container received {delivered[0]}, which sm-workbench did not "
                    f"send (`docker stop`, `docker kill`, or the engine stopping), and ended (exit code {ended.code}): "
                    "training was cut short, not finished. Run the job again")
        return ""

    def _runtime_deadline(self) -> float | None:
        """When MaxRuntimeInSeconds runs out for this attempt: training time is summed over
        spot attempts. Said once per attempt (DeadlineSet); a takeover keeps the one said."""
        if self.adopted_deadline is not None:
            return self.adopted_deadline
        max_runtime = (self.spec.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        if not max_runtime:
            return None
        deadline = self.training_started + max_runtime - self.billable
        self.emit(ev.DeadlineSet(deadline))
        return deadline

    def _monitor(self) -> None:
        grace = float(self.settings.StopGracePeriodSeconds)
        deadline = self._runtime_deadline()
        interruption = self._scheduled_interruption()
        while any(r.waiting for r in self.hosts.values()):
            try:
                self._host_exited(*self.exits.get(timeout=POLL_SECONDS))
                continue
            except queue.Empty:
                pass
            while not self.requests.empty():
                self._handle_request(self.requests.get())
            now = time.time()
            if not self.stop_reason and self._max_wait_passed():  # the outer bound wins a tie
                self._begin_stop("MaxWaitTimeExceeded")
            if deadline and not self.stop_reason and now >= deadline:
                self._begin_stop("MaxRuntimeExceeded")
            if interruption and not self.stop_reason and now >= interruption:
                self._begin_stop("Interrupted", "Training job interrupted: spot capacity reclaimed (scheduled)")
            if self.term_sent_at is not None:
                self._kill_after_grace(now, grace)

    def _handle_request(self, request: str | tuple[str, dict]) -> None:
        action, details = (request, {}) if isinstance(request, str) else request
        if action == "signal":
            self._signal_host(str(details.get("host", "")), str(details.get("signal", "")))
        elif action == "release":  # Workbench.PauseBeforeTrain (engine/pause.py)
            for extension in self.extensions:
                if hasattr(extension, "release"):
                    running = {h: r.container for h, r in self.hosts.items() if r.running}
                    for host, sent in extension.release(self.ctx, running).items():
                        self.hosts[host].signals.append(sent)  # ours: no outside kill
        elif action == "stop":
            if not self.stop_reason:
                self._begin_stop("Stopped")
        elif action == "kill":  # SIGKILL at once, stopping or not
            if not self.stop_reason:
                self._begin_stop("Stopped", kill=True)
            else:
                self._kill_remaining()
        elif action == "interrupt":
            if not self.spot:
                self.emit(ev.Notice("warning", "Interrupt needs EnableManagedSpotTraining: true; ignored"))
            elif not self.stop_reason:
                self._begin_stop("Interrupted", "Training job interrupted: spot capacity reclaimed")

    def _begin_stop(self, reason: str, message: str | None = None, kill: bool = False) -> None:
        self.stop_reason = reason
        if reason == "Interrupted":
            self.set_status("InProgress", "Interrupted", message)
        else:
            self.set_status("Stopping", "Stopping", "Stopping the training job" if reason == "Stopped"
                            else f"Stopping the training job: {reason}")
        if kill:
            self._kill_remaining()
        else:
            self._terminate_remaining(reason)

    def _signal_host(self, host: str, name: str) -> None:
        """`sm-workbench signal`: one signal to one host, on the signal timeline. It counts
        as ours (an exit it causes is no outside kill) but starts no stop: what follows
        follows the contract (a host that exits non-zero fails the job)."""
        from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

        run = self.hosts.get(host)
        if run is None or not run.running or run.exit_code is not None or run.container is None:
            self.emit(ev.Notice("warning", f"{name} not sent: {host} is not running", host))
            return
        run.signals.append(name)
        self.emit(ev.SignalSent(host, name, USER_SIGNAL))
        try:
            run.container.kill(signal=name)
        except APIError as err:
            self.emit(ev.Notice("warning", f"{name} not delivered to {host}: {err.explanation or err}", host))

    def _terminate_remaining(self, reason: str) -> None:
        self.term_sent_at = time.time()
        for run in self.hosts.values():
            if run.running and run.exit_code is None:
                self._signal(run, "SIGTERM", reason)

    def _kill_after_grace(self, now: float, grace: float) -> None:
        """SIGKILL to each host whose grace has run out, counted from its own SIGTERM (as
        `docker stop -t` does per container): SIGTERMs to many hosts go out one after the
        other, and a busy engine takes a while for each."""
        for run in self.hosts.values():
            if not run.running or run.exit_code is not None or "SIGKILL" in run.signals:
                continue
            sent = next((t for n, t in zip(run.signals, run.signal_times) if n == "SIGTERM"), self.term_sent_at)
            if sent is not None and now >= sent + grace:
                self.killed = True
                self._signal(run, "SIGKILL", self.stop_reason or ("Failed" if self.failure else "Stopped"))

    def _kill_remaining(self) -> None:
        self.killed = True
        reason = self.stop_reason or ("Failed" if self.failure else "Stopped")
        for run in self.hosts.values():
            if run.running and run.exit_code is None:
                self._signal(run, "SIGKILL", reason)

    def _signal(self, run: HostRun, name: str, reason: str) -> None:
        from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

        run.signals.append(name)
        run.signal_times.append(time.time())
        self.emit(ev.SignalSent(run.plan.name, name, reason))
        try:
            run.container.kill(signal=name)
        except APIError:
            pass  # it exited meanwhile; its exit arrives through the queue

    def _host_exited(self, host: str, code: int, oom: bool, reason: str, outside: str = "") -> None:
        """`reason`: why, when it failed to start or vanished; `outside`: why it ended, when
        not by itself nor by our signal."""
        run = self.hosts[host]
        run.exit_code = code
        run.running = False
        if self.pump:
            self.pump.flush(host)
        failure = ""
        if not self.failure and code != 0 and not self.stop_reason:
            written = failure_reason(self.paths.opt_ml(host), lambda text: self.emit(ev.Notice("warning", text, host)))
            failure = written or outside or reason or (
                f"AlgorithmError: {host} exited with exit code {code}"
                + (" (out of memory)" if oom else "")
                + f"; see `sm-workbench logs {self.name} --host {host}`"
            )
        elif not self.failure and outside:
            failure = outside  # exit code 0 or a stop under way: it still did not finish
        if outside:
            self.emit(ev.Notice("error", outside, host))
        self.emit(ev.HostExited(host, code, signal_name(code, run.signals), oom, failure=failure))
        if run.signal_times:
            now = time.time()
            self.emit(ev.SignalOutcome(
                host, self.stop_reason or ("Failed" if self.failure else "Stopped"), run.signal_times[0], now, code,
                signal_name(code, run.signals), "SIGKILL" in run.signals, float(self.settings.StopGracePeriodSeconds),
                sigkill_time=next((t for n, t in zip(run.signals, run.signal_times) if n == "SIGKILL"), None),
                time=now))
        if not any(r.waiting for r in self.hosts.values()):
            self.training_ended = time.time()
        for extension in self.extensions:
            extension.host_exited(self.ctx, host)
        if failure:
            self.failure = failure
            if any(r.waiting for r in self.hosts.values()):
                how = "was ended from outside" if outside else f"failed (exit code {code})"
                self.emit(ev.Notice("error", f"{host} {how}; stopping the other hosts"))
                self._terminate_remaining("Failed")

    # --- the end ---------------------------------------------------------------------

    def _internal_error(self, err: Exception, fails: bool = True) -> None:
        text = traceback.format_exc()
        try:
            with open(self.paths.root / "engine-error.log", "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError:
            pass
        if fails:
            self.failure = self.failure or f"{INTERNAL}: {type(err).__name__}: {err}"
        self.emit(ev.Notice("error", f"sm-workbench error: {type(err).__name__}: {err} (details in engine-error.log)"))

    def _stop_everything_now(self) -> None:
        """After an error: no container may outlive the job."""
        for run in self.hosts.values():
            if run.running and run.exit_code is None and run.container is not None:
                self._signal(run, "SIGKILL", "Failed")

    def _finish(self, watcher: threading.Thread | None) -> dict:
        teardown = None
        try:
            if any(r.running and r.exit_code is None for r in self.hosts.values()):
                self._stop_everything_now()
                for run in self.hosts.values():
                    if run.thread:
                        run.thread.join(timeout=10)
            if self.pump:
                self.pump.flush()  # every line reaches the extensions before they close
            self._close_extensions()
            # Containers and the network go while the outputs are packed.
            teardown = threading.Thread(target=self._remove_containers, name="teardown")
            teardown.start()
            self._upload()
        except Exception as err:
            self._internal_error(err)
        finally:
            if teardown is None:
                self._close_extensions()
                self._remove_containers()
            else:
                teardown.join()
        status, secondary = self._final_status()
        for extension in self.extensions:
            try:
                extension.finished(self.ctx, status, self.failure)
            except Exception as err:  # the outcome stands; the error is logged and noted
                self._internal_error(err, fails=False)
        model = (self.recorder.record.get("ModelArtifacts") or {}).get("S3ModelArtifacts", "") if self.recorder else ""
        if self.pump:
            self.pump.close()
        self._watching.set()
        if watcher:
            watcher.join(timeout=1)
        if self.kills is not None:
            self.kills.close()
        self.emit(ev.JobFinished(status, secondary, self.failure[:1024] if self.failure else "", model,
                                 billable_seconds=round(self.billable, 3) if self.first_training_start else None))
        if self.recorder:
            self.recorder.close()
        return self.recorder.record if self.recorder else {}

    def _final_status(self) -> tuple[str, str]:
        if self.failure:
            return "Failed", "Failed"
        if self.stop_reason:
            return "Stopped", self.stop_reason
        return "Completed", "Completed"

    def _upload(self) -> None:
        started = [h for h in self.plan.hosts if self.paths.opt_ml(h.name).is_dir()]
        if not started or self.training_started is None:
            return  # it never trained (stopped or failed at Downloading): no container wrote anything
        self.set_status("Stopping" if self.stop_reason else "InProgress", "Uploading")
        output = self.spec["OutputDataConfig"]
        try:
            result = pack_and_upload(
                self.name, output["S3OutputPath"], output.get("CompressionType") or "GZIP",
                [(h.name, self.paths.opt_ml(h.name)) for h in sorted(started, key=lambda h: natural_key(h.name))],
                self.paths.root / "artifacts",
            )
        except WorkbenchError as err:
            self.emit(ev.Notice("error", f"Uploading the outputs failed: {err}"))
            self.failure = self.failure or f"ClientError: uploading the outputs failed: {err}"
            return
        for rel, kept, dropped in result.collisions:
            self.emit(ev.Notice("warning", f"{kept} and {dropped} both wrote {rel}; kept {kept}'s "
                                f"(on SageMaker one would overwrite the other)"))
        for host in sorted({h for h, _, _ in result.skipped}, key=natural_key):
            skipped = [f"{path} ({why})" for h, path, why in result.skipped if h == host]
            more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            self.emit(ev.Notice("warning", "Not packed, to keep this machine's files out of the outputs: "
                                + "; ".join(skipped[:5]) + more, host))
        self.emit(ev.OutputsUploaded(result.model_artifacts, result.output_artifacts, result.files,
                                     result.bytes, result.seconds))

    def _close_extensions(self) -> None:
        if getattr(self, "_extensions_closed", False):
            return
        self._extensions_closed = True
        for extension in self.extensions:
            try:
                extension.close(self.ctx)
            except Exception as err:
                self._internal_error(err)

    def _remove_containers(self) -> None:
        known = [c for r in self.hosts.values() for c in (r.container, r.holder) if c is not None]
        try:
            self.docker.remove_all(known if known and not self.adopted else None)
        except Exception as err:
            self._internal_error(err)


class Ended(NamedTuple):
    code: int
    oom: bool
    engine_lost: bool  # it ended while the engine could not be reached
    finished_at: float | None = None


def wait_for_exit(docker: DockerJob, container, lost_at: float | None = None) -> Ended:
    """Block until the container has exited, riding out client timeouts and an engine that
    goes away (tried again every second); `lost_at`: since when the engine is gone, if known."""
    from docker.errors import NotFound  # deferred: the Docker SDK (~0.25 s to import)
    from requests.exceptions import ConnectionError as RequestsConnectionError, ReadTimeout  # deferred: docker's HTTP

    while True:
        try:
            if lost_at is not None and docker.state(container).status == "running":
                lost_at = None  # it outlived the outage (live-restore): whatever ends it later is not the outage
            container.wait(timeout=3600)
            state = docker.state(container)
            lost = lost_at is not None and (state.finished_at is None or state.finished_at >= lost_at - LOST_MARGIN)
            return Ended(state.exit_code, state.oom_killed, lost, state.finished_at)
        except ReadTimeout:
            continue
        except RequestsConnectionError:
            lost_at = lost_at or time.time()
            time.sleep(ENGINE_RETRY_SECONDS)
        except NotFound:
            return Ended(137, False, False)


def wait_until_answered(docker: DockerJob, container) -> str:
    """The container's status once the engine answers again ("gone" when it was removed)."""
    from docker.errors import NotFound  # deferred: the Docker SDK (~0.25 s to import)
    from requests.exceptions import ConnectionError as RequestsConnectionError, ReadTimeout  # deferred: docker's HTTP

    while True:
        try:
            return docker.state(container).status
        except (ReadTimeout, RequestsConnectionError):
            time.sleep(ENGINE_RETRY_SECONDS)
        except NotFound:
            return "gone"


def start_failure_reason(host: str, err, entrypoint, command) -> str:
    text = str(getattr(err, "explanation", None) or err)
    reason = f"AlgorithmError: cannot start the training container on {host}: {text}"
    if "executable file not found" in text or "no such file or directory" in text:
        if entrypoint is None and command == ["train"]:
            reason += ("; SageMaker runs `docker run IMAGE train`: put a `train` program on the image's PATH, "
                       "give the image an ENTRYPOINT, or set AlgorithmSpecification.ContainerEntrypoint")
        else:
            reason += "; check AlgorithmSpecification.ContainerEntrypoint / ContainerArguments"
    return reason


def forwarded_aws_environment() -> dict:
    """This machine's resolved AWS credentials, for specs that ask for them."""
    import boto3  # deferred: boto3 (~0.3 s to import)

    session = boto3.session.Session()
    environment = {}
    credentials = session.get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        environment["AWS_ACCESS_KEY_ID"] = frozen.access_key
        environment["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
        if frozen.token:
            environment["AWS_SESSION_TOKEN"] = frozen.token
    if session.region_name:
        environment["AWS_DEFAULT_REGION"] = environment["AWS_REGION"] = session.region_name
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        if os.environ.get(name):
            environment[name] = os.environ[name]
    return environment
