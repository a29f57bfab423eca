"""The engine's public API: the only part of the engine the CLI and the TUI call.

Every job in the history is of one kind (`KINDS`): a local job runs on this machine
(`local_jobs`), a SageMaker job on AWS (`cloud_jobs`), endpoints and batch transform jobs
serve a trained model here (`serving/kinds.py`). Each function here reads a job's record,
picks its kind once and asks that kind; nothing below branches on kinds. New kinds
(tuning jobs) join the table as siblings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from workbench.engine import cloud_jobs
from workbench.engine import events as ev
from workbench.engine.checkpoints.status import CheckpointView
from workbench.engine.cloud_jobs import CloudJobs
from workbench.engine.container_files import Peek, is_real_folder, peek
from workbench.engine.docker_client import require_image
from workbench.engine.gpus import record as gpu_record
from workbench.engine.gpus.sampler import MachineGpus
from workbench.engine.kinds import JobKind
from workbench.engine.checkpoints.synced import LABELS, checkpoint_local_path, synced_folders
from workbench.engine.local_jobs import LocalJob, LocalJobs, check_ready, launch, remove_damaged
from workbench.engine.metrics.series import MetricSeries, Summary, thinned
from workbench.engine.record import KIND_ENDPOINT, KIND_TRANSFORM, TUNING_KINDS, is_final, record_kind, \
    record_name, record_secondary
from workbench.engine.serving.kinds import EndpointJobs, ServingJob, TransformJobs, invoke_endpoint, \
    launch_endpoint, launch_transform
from workbench.engine.tuning.cloud import CloudTuningJobs
from workbench.engine.tuning.kinds import TuningJob, TuningJobs, launch_tuning
from workbench.engine.tuning.records import list_trials, objective_of, trial_names
from workbench.engine.store import (
    JobPaths,
    SkippedRecord,
    existing_job,
    load_record,
    read_events,
    read_history,
)
from workbench.engine.warm_pools import store as pool_store
from workbench.errors import JobNotFound, JobStateError, RecordDamaged, WorkbenchError
from workbench.spec import JobSpec, check_spec, read_spec_file
from workbench.spec.metrics import metric_definitions
from workbench.storage.cache import ContentCache

if TYPE_CHECKING:  # deferred (types only): reading and comparing metrics is for a few commands
    from workbench.engine.metrics.compare import Comparison
    from workbench.engine.metrics.reading import Matched

__all__ = [
    "KINDS", "History", "LocalJob", "check_ready", "launch", "lint_spec", "job_history", "list_jobs",
    "describe_job", "current_job", "job_paths", "job_spec", "job_events", "job_hosts", "read_logs", "follow_events",
    "stop_job", "interrupt_job", "wait_for_job", "remove_job", "rerun_spec", "job_kind", "job_gpus",
    "machine_gpus", "peek_host_file", "is_host_folder", "cache_stats", "clear_cache", "submit", "upload",
    "import_job", "CheckpointView", "checkpoint_local_path",
    # --- the rest of the training contract ---
    "list_pools", "terminate_pool", "synced_folders", "sync_label",
    # --- inner loop ---
    "build_spec", "signal_host", "signal_name", "release_job", "exec_command", "watched_paths", "next_round_name",
    # --- metrics ---
    "metric_samples", "metric_series", "metric_definitions_from", "compare_jobs", "last_run", "sample_output",
    "preview_metrics", "PREVIEW_LINES", "MetricSeries", "Summary", "thinned",


    # --- serving ---
    "SERVING_KINDS", "ServingJob", "serving_model", "serve", "invoke", "transform", "lint_model",
    # --- tuning ---
    "TUNING_KINDS", "TuningJob", "tune", "tuning_trials", "trials_of", "submit_tuning", "tuning_chart",
    "tuning_objective",
]

# Every kind of job, by the name its record carries in Workbench.Kind.
KINDS: dict[str, JobKind] = {kind.name: kind for kind in (LocalJobs(), CloudJobs())}
KINDS.update({kind.name: kind for kind in (EndpointJobs(), TransformJobs())})  # --- serving ---
KINDS.update({kind.name: kind for kind in (TuningJobs(), CloudTuningJobs())})  # --- tuning ---


def _kind(record: dict) -> JobKind:
    name = record_kind(record)
    if name not in KINDS:
        raise WorkbenchError(f"Job {record_name(record) or '?'} is a {name!r} job, which this version of "
                             "sm-workbench does not know; use the version that made it, or remove it with "
                             "`sm-workbench rm`")
    return KINDS[name]


def _job(name: str) -> tuple[JobPaths, dict, JobKind]:
    paths = existing_job(name)
    record = load_record(paths)
    return paths, record, _kind(record)


# --- running jobs here ---------------------------------------------------------------


def lint_spec(spec: JobSpec) -> list:
    """Image lint findings for a spec (`workbench.engine.lint.Finding`s)."""
    from workbench.engine.lint import lint_image  # deferred: only `lint` needs it

    client = check_ready(spec)
    require_image(client, spec.image)  # a spec that builds its image: `sm-workbench build` lints it too
    return lint_image(client, spec.data)


def rerun_spec(name: str, *, new_name: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> JobSpec:
    """The spec of an earlier training job, ready to run again under a new name."""
    kind = job_kind(name)
    if kind in SERVING_KINDS:
        again = "serve" if kind == KIND_ENDPOINT else "transform"
        raise JobStateError(f"{name} is {'an' if kind == KIND_ENDPOINT else 'a'} {kind}, not a training job; run "
                            f"its spec again with `sm-workbench {again} {existing_job(name).spec}`")
    if kind in TUNING_KINDS:  # --- tuning ---
        raise JobStateError(f"{name} is a tuning job; run its spec again with `sm-workbench tune "
                            f"{existing_job(name).spec} --name NEW-NAME`")
    data = job_spec(name)
    data.pop("TrainingJobName", None)
    if isinstance(data.get("Workbench"), dict):  # --- tuning: a trial run again is a job of its own ---
        data["Workbench"].pop("TuningJob", None)
    return check_spec(data, source=str(existing_job(name).spec), name=new_name, overrides=overrides)


# --- looking at jobs -----------------------------------------------------------------


@dataclass
class History:
    """The job history: records newest first, and the job folders left out (their
    describe.json is damaged: `.folder`, `.problem`, `.message` say which and why)."""

    records: list[dict]
    skipped: list[SkippedRecord]


def list_jobs() -> list[dict]:
    """Every job's record, newest first (jobs whose runner died are taken over)."""
    return job_history().records


def job_history() -> History:
    """As `list_jobs`, with the folders left out. Reads only the records that changed
    since the last call; unchanged records come back as the same objects (do not change them)."""
    records, skipped = read_history()
    for index, record in enumerate(records):
        if is_final(record):
            continue
        try:
            records[index] = _kind(record).listed(existing_job(record_name(record)), record)
        except WorkbenchError:
            pass
    for kind in KINDS.values():
        kind.after_listing(records)
    return History(records, skipped)


def describe_job(name: str) -> dict:
    paths, record, kind = _job(name)
    return kind.describe(paths, record)


def current_job(name: str) -> dict:
    """The record brought up to date quietly, for views that poll: a job SageMaker runs
    is asked about at most every 30 s, and a failure to ask is noted, not raised."""
    paths, record, kind = _job(name)
    return kind.current(paths, record)


def job_kind(name: str) -> str:
    """Who runs the job: "local" (this machine) or "sagemaker" (Amazon SageMaker)."""
    return record_kind(load_record(existing_job(name)))


def job_paths(name: str) -> JobPaths:
    return existing_job(name)


def job_spec(name: str) -> dict:
    return read_spec_file(existing_job(name).spec)


def job_events(name: str) -> list[ev.Event]:
    return list(read_events(existing_job(name)))


def job_hosts(name: str) -> list[str]:
    paths, record, kind = _job(name)
    return kind.hosts(paths, record)


def read_logs(name: str, host: str | None = None, follow: bool = False,
              poll: float = 0.2) -> Iterator[tuple[float, str, str]]:
    """(time, host, text) for one host, or all hosts merged in time order; `follow`
    keeps reading until the job has finished."""
    paths, record, kind = _job(name)
    yield from kind.read_logs(paths, record, host, follow, poll)


def follow_events(name: str, poll: float = 0.1, stop: Callable[[], bool] | None = None,
                  logs: bool = True) -> Iterator[ev.Event]:
    """Replay a job's stored events (log lines as LogLines batches, unless `logs` is False),
    then follow it live until it finishes or `stop()` says so."""
    paths, record, kind = _job(name)
    yield from kind.follow_events(paths, record, poll, stop, logs)


def wait_for_job(name: str, timeout: float | None = None, poll: float = 0.1) -> dict:
    paths, record, kind = _job(name)
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        record = kind.current(paths, load_record(paths))
        if is_final(record):
            return record
        if deadline and time.monotonic() > deadline:
            raise JobStateError(f"Job {name} is still {record_secondary(record)} after {timeout:.0f} s")
        time.sleep(poll)


def peek_host_file(tree: Path, rel: str, limit: int) -> Peek:
    """The start of a file in a host's /opt/ml tree, for viewers. The container wrote the
    tree and may have planted links to this machine's files or a FIFO: nothing is
    followed out of the tree and nothing blocks."""
    return peek(tree, rel, limit)


def is_host_folder(tree: Path, rel: str) -> bool:
    """rel is a real folder of the tree, reached without following any link."""
    return rel in ("", ".") or is_real_folder(tree, rel)


# --- acting on jobs ------------------------------------------------------------------


def stop_job(name: str, *, kill: bool = False, wait: bool = True, timeout: float | None = None) -> dict:
    """Stop a running job from any process: SIGTERM, the grace period, SIGKILL (`kill`: at once)."""
    paths, record, kind = _job(name)
    record = kind.stop(paths, record, kill)
    return wait_for_job(name, timeout=timeout) if wait else record


def interrupt_job(name: str) -> dict:
    """Simulate a spot interruption of a running managed-spot job."""
    paths, record, kind = _job(name)
    return kind.interrupt(paths, record)


def remove_job(name: str) -> None:
    """Remove a finished job's folder (root-owned files included)."""
    paths = existing_job(name)
    try:
        record = load_record(paths)
    except RecordDamaged:
        remove_damaged(paths)
        return
    _kind(record).remove(paths, record)


# --- GPUs ------------------------------------------------------------------------------


def job_gpus(name: str) -> gpu_record.JobGpus:
    """A job's GPUs from its stored events: each host's, and each GPU's latest sample."""
    record = describe_job(name)
    return gpu_record.job_gpus(name, record.get("TrainingJobStatus", ""), job_events(name))


def machine_gpus() -> MachineGpus:
    """This machine's GPUs now (one sample each, with the sm-workbench hosts using them)
    and whether Docker can hand them out. No driver is a state, never an error."""
    from workbench.engine.gpus.machine import machine_gpus as sample  # deferred: NVML, only for `gpus`

    return sample()


# --- the shared data cache -----------------------------------------------------------


def cache_stats():
    """What the shared data cache holds (entries, bytes, in use by running jobs, its limit)."""
    return ContentCache().stats()


def clear_cache():
    """Remove every cache entry no running job uses; returns what was removed and kept."""
    return ContentCache().clear()


# --- Amazon SageMaker ----------------------------------------------------------------


def submit(spec: JobSpec) -> dict:
    """Submit a spec to SageMaker (CreateTrainingJob); the job joins the history as a
    SageMaker job, and `describe_job`, `read_logs`, `follow_events`, `stop_job` work on it."""
    return cloud_jobs.submit(spec)


def upload(path: str, destination: str, *, on_progress: Callable | None = None):
    """Upload a local file or folder to S3 (for specs whose inputs are local); returns
    `Uploaded` with the S3 URI to put in the spec."""
    from workbench.cloud.upload import upload_path  # deferred: the S3 upload machinery, only for `upload`

    return upload_path(path, destination, on_progress=on_progress)


def import_job(name: str, *, output: str | None = None, force: bool = False, history: bool = True,
               tuning: bool | None = None):
    """A SageMaker job's DescribeTrainingJob turned into a spec (written to `output` when
    given) and, with `history`, the job added to the history as a SageMaker job. Returns
    the `ImportedSpec`; its `warnings` say what could not be done. `tuning`: True, a
    tuning job (DescribeHyperParameterTuningJob); None, a training job of that name, else
    a tuning job (the two have separate namespaces: the training job wins a tie)."""
    from workbench.cloud.importer import import_training_job  # deferred: only for `import`
    from workbench.cloud.tuning import import_tuning_job  # deferred: only for `import`
    from workbench.engine.tuning.cloud import register_imported as register_tuning  # deferred: only for `import`

    imported, missing = None, None
    if not tuning:
        try:
            imported = import_training_job(name)
        except JobNotFound as err:
            if tuning is False:
                raise
            missing = err
    if imported is None:
        try:
            imported = import_tuning_job(name)
        except JobNotFound:
            if missing is None:
                raise
            raise JobNotFound(str(missing).replace("no training job", "no training job and no tuning job")) from None
    if output:
        cloud_jobs.write_imported(imported, output, force=force)
    if history:
        register = register_tuning if imported.kind == "tuning" else cloud_jobs.register_imported
        _, why_not = register(imported)
        if why_not:
            imported.warnings.append(why_not)
    return imported


# --- warm pools (the rest of the training contract) -----------------------------------


def list_pools() -> list:
    """Every warm pool (`warm_pools.store.PoolView`), newest first; expired ones are
    terminated as they are read, whether or not a process ran when they expired."""
    return pool_store.list_pools()


def terminate_pool(name: str):
    """Terminate a warm pool named by its id or by a job that used it; its cache goes too."""
    return pool_store.terminate(name)


def sync_label(sync: str) -> str:
    """How viewers title a synced folder (Checkpoints, TensorBoard, Debugger, Profiler)."""
    return LABELS.get(sync, sync)


# --- inner loop: build, signal one host, release, exec -----------------------------------


def build_spec(spec: JobSpec, on_event: Callable[[ev.Event], None]):
    """`sm-workbench build`: the spec's Workbench.Build without running it; the build's
    events go to `on_event`, then the image lint's findings on the fresh image (as
    LintFinding events). Raises BuildFailed (a WorkbenchError) naming the failing step."""
    from workbench.engine.docker_client import connect  # deferred: only builds connect here
    from workbench.engine.image_build import build_spec_image  # deferred: only builds need it
    from workbench.engine.lint import lint_image  # deferred: only builds and `lint` need it

    if not spec.settings.Build:
        raise WorkbenchError(f"{spec.source or 'The spec'} has no Workbench.Build; add "
                             "`Workbench: {Build: {Context: .}}` to build TrainingImage from a Dockerfile")
    client = connect()
    result = build_spec_image(client, spec.data, on_event)
    for finding in lint_image(client, spec.data):
        on_event(ev.LintFinding(finding.rule, finding.message, finding.fix))
    return result


def signal_name(text: str) -> str:
    """SIGUSR1, USR1, usr1 or 10 as the signal's name (SIGUSR1)."""
    import signal as signals

    value = str(text).strip().upper()
    if value.isdigit():
        try:
            return signals.Signals(int(value)).name
        except ValueError:
            raise WorkbenchError(f"{text!r} is not a signal number; give a name like SIGUSR1") from None
    name = value if value.startswith("SIG") else f"SIG{value}"
    if name not in signals.Signals.__members__ or name.startswith("SIG_"):
        raise WorkbenchError(f"{text!r} is not a signal; give one like SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGKILL")
    return name


def signal_host(name: str, host: str, signal: str) -> str:
    """Send one signal to one host's training process (through the job's runner, which
    records it on the signal timeline). Returns the signal's name."""
    chosen = signal_name(signal)
    paths, record, kind = _job(name)
    kind.request(paths, record, "signal", host=host, signal=chosen)
    return chosen


def release_job(name: str) -> None:
    """Let the training command of a Workbench.PauseBeforeTrain job's held hosts start."""
    paths, record, kind = _job(name)
    held = (record.get("Workbench") or {}).get("Held")
    settings = (record.get("Workbench") or {}).get("Settings") or {}
    if not held and not settings.get("PauseBeforeTrain"):
        raise JobStateError(f"Job {name} holds nothing: only jobs with Workbench.PauseBeforeTrain: true wait to be "
                            "released")
    kind.request(paths, record, "release")


SHELL = ["/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash || exec sh"]


def exec_command(name: str, host: str | None = None, command: list[str] | tuple[str, ...] = (),
                 tty: bool = True) -> tuple[list[str], str]:
    """The `docker exec` command line that runs `command` (default: an interactive shell,
    bash when the image has it, else sh) in a host's running training container, and the
    host. The docker CLI runs it: it owns the terminal (raw mode, resizes, detach keys)."""
    import shutil

    paths, record, kind = _job(name)
    container, chosen = kind.training_container(paths, record, host)
    docker = shutil.which("docker")
    if docker is None:
        raise WorkbenchError("`exec` runs the docker command-line tool, which is not on PATH; install it "
                             "(e.g. `apt-get install docker.io`), or use `docker exec` where it is")
    flags = ["-i", "-t"] if tty else ["-i"]
    return [docker, "exec", *flags, container, *(list(command) or SHELL)], chosen


def watched_paths(spec: JobSpec) -> list[Path]:
    """What `run --watch` follows for a spec (see engine/watch.py)."""
    from workbench.engine.watch import watched_paths as paths  # deferred: only --watch

    return paths(spec)


def next_round_name(name: str) -> str:
    from workbench.engine.watch import next_round_name as following  # deferred: only --watch

    return following(name)


def watch_changes(spec: JobSpec | None, on_change: Callable[[list[str]], None], spec_file: str = ""):
    """Start watching what the spec's job reads (a ChangeWatcher; `.stop()` ends it); with
    no spec (it did not validate), its file alone."""
    from workbench.engine.watch import ChangeWatcher, watched_paths as paths, written_by_jobs  # deferred: --watch

    if spec is None:
        return ChangeWatcher([Path(spec_file).resolve()], on_change).start()
    return ChangeWatcher(paths(spec), on_change, ignore=written_by_jobs(spec)).start()


# --- metrics ---------------------------------------------------------------------------


def metric_samples(name: str, *, host: str | None = None, definitions: list[dict] | None = None,
                   follow: bool = False, stop: Callable[[], bool] | None = None) -> Iterator[ev.Event]:
    """A job's metric values, as MetricSamples events in time order per host (and Notices
    when some cannot be read): as recorded while it ran (a SageMaker job's from CloudWatch),
    or, with `definitions`, read again from its stored output with those. `host` keeps
    one host's (and values no host is known for); `follow` goes on until the job ends."""
    paths, record, kind = _job(name)
    if host is not None and not follow and host not in kind.hosts(paths, record):
        hosts = kind.hosts(paths, record)
        raise WorkbenchError(f"Job {name} has no host {host!r}; its hosts: {', '.join(hosts) or 'none yet'}")
    if definitions is not None:
        from workbench.engine.metrics.reading import reextract  # deferred: only when reading again

        source = reextract(kind.read_logs(paths, record, host, follow, 0.2), definitions)
    else:
        source = kind.metric_samples(paths, record, follow, stop)
    for event in source:
        if host is None or getattr(event, "host", "") in (host, ""):
            yield event


def metric_series(name: str, definitions: list[dict] | None = None) -> MetricSeries:
    """Every metric value of a job so far, folded per metric and host (bounded)."""
    return MetricSeries().add_all(metric_samples(name, definitions=definitions))


def metric_definitions_from(spec: str | Path | None = None, regexes: list[str] | tuple[str, ...] = ()) -> tuple[
        list[dict], list]:
    """MetricDefinitions from a YAML file (a spec's AlgorithmSpecification.MetricDefinitions,
    or a top-level `MetricDefinitions:` list) and NAME=REGEX strings, checked as `validate` checks a spec's:
    SpecInvalid when one cannot work; returns them and the warnings (spec Problems)."""
    definitions: list[dict] = []
    source = "--regex"
    if spec is not None:
        source = str(spec)
        document = read_spec_file(spec)
        found = document.get("MetricDefinitions")
        definitions.extend(found if isinstance(found, list) else metric_definitions(document))
    for text in regexes:
        metric, sep, regex = text.partition("=")
        if not sep or not metric.strip():
            raise WorkbenchError(f"--regex {text!r}: write NAME=REGEX, e.g. --regex 'train:loss=loss=([0-9.]+)'")
        definitions.append({"Name": metric.strip(), "Regex": regex})
    from workbench.engine.metrics.reading import check_definitions  # deferred: only `metrics --regex`

    return definitions, check_definitions(definitions, source)


def compare_jobs(names: list[str]) -> "Comparison":
    """Jobs side by side: hyperparameters (the differing ones flagged) and final metrics."""
    if len(names) < 2:
        raise WorkbenchError("compare needs at least two jobs, e.g. `sm-workbench compare JOB-A JOB-B`")
    from workbench.engine.metrics.compare import compare  # deferred: only `compare` and its screen

    return compare([describe_job(name) for name in dict.fromkeys(names)])


def last_run(records: list[dict], spec: dict) -> str | None:
    """The job whose output a spec's metric regexes are checked against in the composer: a
    job of the spec's name, else the newest one that ran the same image and entrypoint."""
    from workbench.engine.metrics.reading import last_run as find  # deferred: only the composer's check

    return find(records, spec)


PREVIEW_LINES = 20_000  # lines of a job's output the composer checks regexes against


def sample_output(name: str, limit: int = PREVIEW_LINES) -> list[tuple[float, str, str]]:
    """The first `limit` lines of a job's stored output, every host merged in time order."""
    lines = []
    for line in read_logs(name):
        lines.append(line)
        if len(lines) >= limit:
            break
    return lines


def preview_metrics(lines: list[tuple[float, str, str]], definitions: list[dict]) -> list["Matched"]:
    """What each definition finds in these lines: matches, values, the first few lines."""
    from workbench.engine.metrics.reading import preview  # deferred: only the composer's check

    return preview(lines, definitions)


# --- serving: endpoints and batch transform jobs (engine/serving) ----------------------

SERVING_KINDS = (KIND_ENDPOINT, KIND_TRANSFORM)


def serving_model(source: str, *, image: str | None = None, environment: dict[str, str] | None = None,
                  name: str | None = None, base_dir: Path | str | None = None,
                  overrides: list[str] | tuple[str, ...] = ()):
    """The CreateModel request (`spec.serving.ModelSpec`) a source stands for: a Completed
    training job of the history, a model.tar.gz, a model folder, an s3:// URI or a
    CreateModel spec file."""
    from workbench.engine.serving.models import model_from_source  # deferred: only serving needs it

    return model_from_source(source, image=image, environment=environment, name=name, base_dir=base_dir,
                             overrides=overrides)


def serve(model, *, name: str | None = None, port: int | None = None, detach: bool = False,
          subscribers: list[Callable[[ev.Event], None]] = (), source: str = "") -> ServingJob:
    """Start a local endpoint serving `model` (a ModelSpec): `docker run IMAGE serve`, port
    8080 on 127.0.0.1:`port` (None: the spec's, else a free one). Foreground: `.run()`
    serves until `.stop()`; `detach`: a worker serves it until `stop_job`."""
    return launch_endpoint(model, name=name, port=port, detach=detach, subscribers=list(subscribers),
                           source=source)


def invoke(endpoint: str, body: bytes, *, content_type: str | None = None, accept: str | None = None,
           custom_attributes: str | None = None, timeout: float | None = None):
    """POST /invocations to an InService endpoint, as InvokeEndpoint would (its limits
    enforced: InvocationError); returns an `InvokeResult` (status, body, latency...).
    The request is recorded in the endpoint's event log."""
    return invoke_endpoint(existing_job(endpoint), body, content_type=content_type, accept=accept,
                           custom_attributes=custom_attributes, timeout=timeout)


def transform(spec, *, model: str | None = None, image: str | None = None, detach: bool = False,
              subscribers: list[Callable[[ev.Event], None]] = ()) -> ServingJob:
    """Start a batch transform job (a `spec.serving.TransformSpec`). Its model: `model`
    (as `serving_model` takes it), else the spec's Workbench.Model, else the training job
    named ModelName."""
    source = model or spec.settings.Model or spec.data["ModelName"]
    base = spec.source.parent if spec.source else None
    try:
        served = serving_model(source, image=image or spec.settings.Image or None, base_dir=base)
    except WorkbenchError as err:
        if model or spec.settings.Model:
            raise
        raise WorkbenchError(f"ModelName {source!r}: {err}; give the model with --model (a training job, a "
                             "model.tar.gz, a folder or a CreateModel spec) or Workbench.Model") from None
    return launch_transform(spec, served, detach=detach, subscribers=list(subscribers))


def lint_model(model, *, probe: bool = False) -> list:
    """Serving lint findings for a model's image (`engine.lint.Finding`s); `probe` also
    starts the container to see whether it listens on 8080 and answers /ping in time."""
    from workbench.engine.docker_client import connect, require_image  # deferred: the Docker SDK
    from workbench.engine.lint import lint_serving, probe_serving  # deferred: only `lint` needs it

    client = connect()
    require_image(client, model.image)
    findings = lint_serving(client, model.image)
    if probe:
        findings += probe_serving(client, model, existing_rules={f.rule for f in findings})
    return findings



# --- tuning: hyperparameter tuning jobs (engine/tuning) --------------------------------


def tune(spec, *, detach: bool = True) -> TuningJob:
    """Start a tuning job (a `spec.tuning.TuningSpec`): its tuner in a worker process
    (`detach`, so it outlives the caller) or here (`.run()`). Each trial is an ordinary
    detached training job of the history."""
    return launch_tuning(spec, detach=detach)


def tuning_trials(name: str, *, status: str | None = None, sort_by: str = "Name",
                  sort_order: str = "Ascending") -> list[dict]:
    """A tuning job's training jobs as ListTrainingJobsForHyperParameterTuningJob lists
    them (HyperParameterTrainingJobSummary): StatusEquals, SortBy, SortOrder."""
    record = describe_job(name)
    if record_kind(record) not in TUNING_KINDS:
        raise WorkbenchError(f"{name} is not a tuning job; `sm-workbench jobs` lists them")
    return list_trials(record, status=status, sort_by=sort_by, sort_order=sort_order)


def trials_of(records: list[dict]) -> dict[str, list[str]]:
    """Each tuning job of these records: the names of its training jobs, in launch order,
    for listings that fold trials under their tuning job."""
    return {record_name(r): trial_names(r) for r in records if record_kind(r) in TUNING_KINDS}


def tuning_objective(record: dict) -> dict:
    """{Type, MetricName} a tuning job's record optimises (wherever its spec put it)."""
    return objective_of(record)


def tuning_chart(record: dict) -> tuple[list[float], list[float], list[float]]:
    """(trial index, objective, best so far) of a tuning job's trials that have an
    objective value, in launch order: what the tuning monitor's chart draws."""
    from workbench.engine.tuning.records import objective_of, objective_value  # light

    maximize = objective_of(record).get("Type") != "Minimize"
    xs, ys, best, current = [], [], [], None
    summaries = (record.get("Workbench") or {}).get("TrainingJobSummaries") or []
    for index, summary in enumerate(summaries, start=1):
        value = objective_value(summary)
        if value is None:
            continue
        current = value if current is None else (max(current, value) if maximize else min(current, value))
        xs.append(float(index))
        ys.append(value)
        best.append(current)
    return xs, ys, best


def submit_tuning(spec) -> dict:
    """CreateHyperParameterTuningJob with the spec's request (`Workbench:` stripped); the
    tuning job joins the history as a SageMaker tuning job."""
    from workbench.engine.tuning.cloud import submit as submit_to_sagemaker  # light: boto3 is deferred inside

    return submit_to_sagemaker(spec)
