"""Typed events and the bus that carries them.

Everything a job does is an event: the CLI printer, the TUI and the job store are all
subscribers of the same stream, and the store keeps it, so a finished job replays
exactly what a live one showed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, ClassVar

_REGISTRY: dict[str, type["Event"]] = {}


@dataclass(frozen=True)
class Event:
    time: float = field(default_factory=time.time, kw_only=True)
    kind: ClassVar[str] = "Event"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = cls.__name__
        _REGISTRY[cls.__name__] = cls

    def to_dict(self) -> dict:
        data = asdict(self)
        data["type"] = self.kind
        return data


def event_from_dict(data: dict) -> Event | None:
    """The event a stored dict describes; None for a type this version does not know."""
    cls = _REGISTRY.get(data.get("type", ""))
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    for f in fields(cls):  # JSON turns tuples into lists
        if f.name in values and isinstance(values[f.name], list) and "tuple" in str(f.type):
            values[f.name] = tuple(tuple(v) if isinstance(v, list) else v for v in values[f.name])
    try:
        return cls(**values)
    except TypeError:
        return None


# --- job lifecycle -------------------------------------------------------------------


@dataclass(frozen=True)
class JobCreated(Event):
    name: str
    arn: str
    hosts: tuple[str, ...]
    source: str = ""  # the spec file it came from


@dataclass(frozen=True)
class StatusChanged(Event):
    status: str  # TrainingJobStatus
    secondary: str  # SecondaryStatus
    message: str = ""


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should read: a warning, an error, a note."""

    level: str  # info, warning, error
    message: str
    host: str = ""


@dataclass(frozen=True)
class JobFinished(Event):
    status: str
    secondary: str
    failure_reason: str = ""
    model_artifacts: str = ""
    billable_seconds: float | None = None  # training time only, over every spot attempt


# --- hosts and containers ------------------------------------------------------------


@dataclass(frozen=True)
class HostStarted(Event):
    host: str
    container_id: str
    group: str
    instance_type: str


@dataclass(frozen=True)
class HostExited(Event):
    host: str
    exit_code: int
    signal: str = ""  # the signal that ended it (SIGKILL, SIGTERM...), when one did
    oom_killed: bool = False
    failure: str = ""  # the job's FailureReason, when this exit failed the job


@dataclass(frozen=True)
class LogLines(Event):
    """A batch of one host's output lines: (epoch seconds, text) pairs."""

    host: str
    lines: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class SignalSent(Event):
    host: str
    signal: str  # SIGTERM or SIGKILL
    reason: str  # Stopped, MaxRuntimeExceeded, Failed, Interrupted, ...


# --- data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StagingProgress(Event):
    channel: str
    host: str  # "" when shared by all hosts (a download before per-host copies)
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True)
class ChannelStaged(Event):
    channel: str
    host: str
    mode: str
    files: int
    bytes: int
    seconds: float
    source: str = ""


@dataclass(frozen=True)
class CacheUsed(Event):
    """How a channel's S3 objects were found: in the shared data cache, or fetched (and cached)."""

    channel: str
    hits: int
    hit_bytes: int
    fetched: int
    fetched_bytes: int


@dataclass(frozen=True)
class PipeEpochFed(Event):
    """One epoch of a Pipe channel on one host: what went down `<channel>_<epoch>`."""

    channel: str
    host: str
    epoch: int
    records: int  # objects, or attributes of augmented-manifest lines
    bytes: int
    seconds: float
    closed_early: bool = False  # the reader closed the FIFO before EOF
    fetched: int = 0  # objects streamed from S3 (the rest came from the cache or local files)


@dataclass(frozen=True)
class OutputsUploaded(Event):
    model_artifacts: str
    output_artifacts: str
    files: int
    bytes: int
    seconds: float


# --- signals and spot ---------------------------------------------------------------


@dataclass(frozen=True)
class SignalOutcome(Event):
    """How a host that was sent SIGTERM (or SIGKILL at once) ended: the signal timeline's row for it."""

    host: str
    reason: str  # why it was stopped: Stopped, MaxRuntimeExceeded, Interrupted, Failed, ...
    sigterm_time: float
    exit_time: float
    exit_code: int
    signal: str  # the signal that ended it, "" when it exited by itself
    killed: bool  # SIGKILL was needed
    grace: float  # the grace period it had
    sigkill_time: float | None = None

    @property
    def killed_at_once(self) -> bool:
        """SIGKILL without a SIGTERM first (`stop --kill`): sigterm_time is then the SIGKILL's."""
        return self.killed and self.sigkill_time == self.sigterm_time


@dataclass(frozen=True)
class LintFinding(Event):
    """Something in the image's own config that will bite on SageMaker."""

    rule: str  # shell-entrypoint, init-entrypoint, baked-opt-ml, no-train
    message: str  # what happens on SageMaker
    fix: str  # how to fix the Dockerfile


@dataclass(frozen=True)
class DeadlineSet(Event):
    """When MaxRuntimeInSeconds runs out for the training now starting (training time is
    summed over spot attempts, so each attempt has its own). The runner owns this fact;
    viewers count down to it instead of recomputing it."""

    deadline: float  # epoch seconds


@dataclass(frozen=True)
class AttemptStarted(Event):
    """The job starts again (attempt 2, 3, ...): after a spot interruption ("Interrupted"),
    or a RetryStrategy retry after an internal error ("InternalServerError")."""

    attempt: int
    reason: str = "Interrupted"
    failure: str = ""  # a retry: why the attempt before failed


# --- checkpoints (and the other folders synced the same way) -----------------------


@dataclass(frozen=True)
class CheckpointsRestored(Event):
    host: str
    files: int
    bytes: int
    seconds: float
    source: str
    attempt: int = 1


@dataclass(frozen=True)
class CheckpointFileState(Event):
    host: str
    path: str  # relative to the checkpoint folder
    state: str  # pending, uploading, synced, retrying, deleted
    size: int
    lag: float | None = None  # seconds from its last write to synced
    error: str = ""  # the last error while retrying
    attempts: int = 0  # failed tries so far (retrying)
    sync: str = "checkpoints"  # which synced folder: checkpoints, tensorboard, debugger, profiler


@dataclass(frozen=True)
class CheckpointSummary(Event):
    """Files written by the hosts during this attempt (restored files count once changed)."""

    files: int
    bytes: int
    pending: int  # not in S3 in their last version yet: pending, uploading or retrying
    oldest_unsynced_age: float | None = None  # seconds since the oldest unsynced file was last written
    synced: int = 0
    retrying: int = 0
    deleted: int = 0
    final: bool = False  # the sync has been drained: nothing more will change
    sync: str = "checkpoints"  # which synced folder (see CheckpointFileState)


# --- warm pools ----------------------------------------------------------------------


@dataclass(frozen=True)
class WarmPoolChanged(Event):
    """The job's WarmPoolStatus, as DescribeTrainingJob shapes it ({Status, ...}). Later
    changes (reused by another job, expired, terminated) are read from the pool itself."""

    pool_id: str
    status: dict


# --- GPUs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuSample(Event):
    """One GPU at one moment (one event per GPU per sample, about once a second)."""

    index: int
    name: str
    utilization: float | None  # percent; None when the GPU cannot say (MIG mode)
    memory_used_mib: int
    memory_total_mib: int
    temperature_c: float | None = None
    power_w: float | None = None
    hosts: tuple[str, ...] = ()  # hosts whose containers use it (their processes run on it)
    assigned: tuple[str, ...] = ()  # hosts it was given to
    processes: int = 0  # processes on it, whoever's


@dataclass(frozen=True)
class GpuAssigned(Event):
    """Which of this machine's GPUs a host got, before its container starts (once per attempt)."""

    host: str
    instance_type: str
    gpus: tuple[int, ...]  # this machine's GPU indexes; () when it runs on the CPU
    expected: int  # GPUs its instance type has on SageMaker
    names: tuple[str, ...] = ()  # the GPUs' names, in the order of `gpus`
    reason: str = ""  # why it has none although its type has some ("no GPU: NVIDIA driver not available")


# --- inner loop: image builds, held training ---------------------------------------


@dataclass(frozen=True)
class BuildStarted(Event):
    """Workbench.Build: TrainingImage is being built from `context` before the job trains."""

    image: str
    context: str
    dockerfile: str = ""
    target: str = ""


@dataclass(frozen=True)
class BuildOutput(Event):
    """Lines the builder printed (a step, its command's output, `Using cache`...)."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class BuildFinished(Event):
    image: str
    image_id: str = ""
    steps: int = 0
    cached: int = 0  # steps taken from the engine's layer cache
    seconds: float = 0.0
    failure: str = ""  # the failing step and its error, when the build failed
    step: str = ""  # "Step 3/5 : RUN ...", the step that failed


@dataclass(frozen=True)
class TrainingHeld(Event):
    """Workbench.PauseBeforeTrain: the host's container runs, everything staged, its
    training command held until released."""

    host: str
    command: tuple[str, ...]  # what runs once released


@dataclass(frozen=True)
class TrainingReleased(Event):
    hosts: tuple[str, ...]
# --- metrics -------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSample(Event):
    """One value of one metric (a MetricDefinition's Name), read from one line of one host's
    output; `time` is the line's. Host "" when the source does not say (CloudWatch)."""

    metric: str
    host: str
    value: float


@dataclass(frozen=True)
class MetricSamples(Event):
    """The MetricSamples read from one batch of a host's lines (one LogLines), in line
    order, as (line time, metric, value). They travel and are stored as one event per batch,
    as the lines are: a host printing thousands of metric lines a second costs a few events."""

    host: str
    points: tuple[tuple[float, str, float], ...]

    def to_dict(self) -> dict:  # asdict would copy every point: thousands per batch
        return {"time": self.time, "host": self.host, "points": self.points, "type": self.kind}

    @property
    def samples(self) -> list[MetricSample]:
        return [MetricSample(metric, self.host, value, time=moment) for moment, metric, value in self.points]


# --- serving: endpoints and transform jobs -------------------------------------------
# Their lifecycle is the same StatusChanged / HostStarted / HostExited / JobFinished as a
# training job's (status: EndpointStatus or TransformJobStatus); these add what only
# serving has.


@dataclass(frozen=True)
class ModelPrepared(Event):
    """The model data placed in the container's fresh /opt/ml/model."""

    source: str  # the ModelDataUrl (or folder) it came from; "" for no model data
    files: int
    bytes: int
    seconds: float
    skipped: tuple[str, ...] = ()  # tar members left out, each with why


@dataclass(frozen=True)
class EndpointReady(Event):
    """The container answered GET /ping with 200: requests go to `url`."""

    host: str
    url: str  # http://127.0.0.1:PORT
    port: int
    startup_seconds: float  # from the container's start to its first 200
    ping_ms: float


@dataclass(frozen=True)
class HealthChecked(Event):
    """A GET /ping whose outcome differs from the one before (the first one included)."""

    host: str
    healthy: bool
    status: int | None  # the HTTP status; None when nothing answered in time
    latency_ms: float | None
    message: str = ""  # why it is not healthy


@dataclass(frozen=True)
class EndpointInvoked(Event):
    """One InvokeEndpoint-like request to an endpoint, appended to its event log by the
    process that sent it (the CLI's `invoke`, the workbench's request panel, ...)."""

    request_id: str
    status: int | None  # the container's HTTP status; None when it did not answer
    latency_ms: float
    request_bytes: int
    response_bytes: int
    content_type: str = ""
    accept: str = ""
    response_type: str = ""  # the answer's Content-Type
    error: str = ""  # why it failed (a limit, a timeout, a model error)
    request_preview: str = ""  # the first characters of the body and of the answer, as text
    response_preview: str = ""


@dataclass(frozen=True)
class ExecutionParameters(Event):
    """What a transform job runs with, each value from the request, else from the
    container's GET /execution-parameters, else the default (`sources` says which)."""

    max_concurrent_transforms: int
    batch_strategy: str
    max_payload_mb: int
    answered: dict = field(default_factory=dict)  # the container's answer, {} when it has none
    sources: dict = field(default_factory=dict)  # value name -> request, container or default


@dataclass(frozen=True)
class TransformProgress(Event):
    """How far a transform job is (frequent: written to the record at most twice a second)."""

    objects_done: int
    objects_total: int
    records: int
    requests: int
    bytes_in: int
    bytes_out: int
    failed: int = 0  # objects that failed


@dataclass(frozen=True)
class TransformObjectDone(Event):
    """One input object transformed (its `.out` uploaded) or failed (nothing uploaded)."""

    source: str
    output: str
    records: int
    requests: int
    bytes_in: int
    bytes_out: int
    seconds: float
    error: str = ""


# --- tuning: hyperparameter tuning jobs (engine/tuning) ------------------------------
# A tuning job's lifecycle is the same StatusChanged / Notice / JobFinished (status:
# HyperParameterTuningJobStatus); these add its trials. They are also the tuner's memory:
# a tuner that takes over a dead one's job rebuilds what it knew from them.


@dataclass(frozen=True)
class TrialProposed(Event):
    """A trial decided on, before its training job is created (so a tuner that takes over
    launches it, under this name, if the dead one did not): `hyperparameters` are the tuned
    ones as strings (TunedHyperParameters)."""

    name: str
    index: int  # 1-based launch ordinal, the name's 3 digits
    hyperparameters: dict = field(default_factory=dict)
    definition: str = ""  # TrainingJobDefinitionName, when the tuning job has several definitions


@dataclass(frozen=True)
class TrialUpdated(Event):
    """A trial's training job as the tuning job sees it now (written when any of it changes)."""

    name: str
    status: str  # TrainingJobStatus
    secondary: str = ""
    start: str = ""  # TrainingStartTime (ISO)
    end: str = ""  # TrainingEndTime (ISO)
    failure_reason: str = ""
    objective: float | None = None  # the objective's latest value
    objective_status: str = "Pending"  # Succeeded, Pending, Failed
    values: int = 0  # how many objective values it reported


@dataclass(frozen=True)
class TrialEarlyStopped(Event):
    """The tuner stops a trial early: `rule` Auto (its objective worse than the median of
    earlier trials' running averages at the same epoch) or Hyperband (the pruner)."""

    name: str
    rule: str
    step: int  # the epoch: how many objective values it had reported
    value: float
    threshold: float | None = None  # Auto: the median it fell behind
    message: str = ""


@dataclass(frozen=True)
class TuningEnding(Event):
    """The tuning job will end once its running trials have: `status` is where it ends
    (Completed, Failed, Stopped), `reason` why (a limit, a completion criterion, a stop)."""

    status: str
    reason: str
    message: str = ""
    not_improving: int | None = None  # TuningJobCompletionDetails.NumberOfTrainingJobsObjectiveNotImproving


# --- the bus -------------------------------------------------------------------------

Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out in the emitting thread, one event at a time (so order holds).

    Subscribers must be quick and thread-safe; a failing subscriber is dropped from
    that event, never stops the job.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.RLock()
        self.errors: list[str] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            for subscriber in list(self._subscribers):
                try:
                    subscriber(event)
                except Exception as err:  # a broken viewer must not break the job
                    self.errors.append(f"{getattr(subscriber, '__qualname__', subscriber)}: {err!r}")
