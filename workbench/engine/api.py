"""The engine's public API: the only part of the engine the CLI and the TUI call.

Jobs run either in this process (`LocalJob.run()`, used by `sm-workbench run`) or in a
detached worker process (`launch(..., detach=True)`, used by `--detach` and the TUI).
Either way they write the same job folder, which every viewer reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from workbench.engine import cloud_jobs, control
from workbench.engine import events as ev
from workbench.engine.record import is_final, new_record
from workbench.engine.store import (
    JobPaths, LogTail, SkippedRecord, create_job_dir, existing_job, hosts_with_logs, load_record, read_events,
    read_history, remove_job_files,
)
from workbench.errors import JobStateError, RecordDamaged, WorkbenchError
from workbench.fileio import write_json_atomic
from workbench.spec import JobSpec, write_spec_file

if TYPE_CHECKING:
    from workbench.engine.gpu_record import JobGpus
    from workbench.engine.gpu_sampler import MachineGpus

Subscriber = Callable[[ev.Event], None]


@dataclass
class LocalJob:
    """A job started by this process."""

    name: str
    paths: JobPaths
    runner: object | None = None  # JobRunner when it runs here
    pid: int | None = None  # the worker's pid when detached

    def run(self) -> dict:
        """Run a foreground job to its end; returns the final record."""
        if self.runner is None:
            raise JobStateError(f"Job {self.name} runs in a worker process (pid {self.pid}); follow it instead")
        return self.runner.run()

    def stop(self, kill: bool = False) -> None:
        if self.runner is not None:
            self.runner.request_stop(kill=kill)
        else:
            control.request(self.paths, "kill" if kill else "stop")


def check_ready(spec: JobSpec):
    """Fail early, before anything is created: no engine, no image, or GPUs the job cannot have."""
    from workbench.engine.capabilities import preflight
    from workbench.engine.docker_client import connect, require_image

    client = connect()
    require_image(client, spec.image)
    preflight(spec.data, client)
    return client


def launch(spec: JobSpec, *, detach: bool = False, subscribers: list[Subscriber] = ()) -> LocalJob:
    """Create the job (its name is reserved now) and either prepare it here or start a worker."""
    client = check_ready(spec)
    paths = create_job_dir(spec.name)
    # Owned from the first moment: a viewer that sees the job must never think it orphaned.
    control.claim(paths, role="launcher")
    write_spec_file(paths.spec, spec.data)
    source = str(spec.source) if spec.source else ""
    if detach:
        from workbench.engine.runner import job_arn

        write_json_atomic(paths.describe, new_record(spec.data, job_arn(spec.name, spec.settings), time.time()))
        process = _spawn_worker("run", paths, source)
        control.claim(paths, process.pid, role="worker")
        return LocalJob(spec.name, paths, pid=process.pid)
    from workbench.engine.runner import JobRunner

    bus = ev.EventBus()
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    runner = JobRunner(spec.data, paths, bus, client, source=source)
    control.claim(paths, role="foreground")
    return LocalJob(spec.name, paths, runner=runner)


def lint_spec(spec: JobSpec) -> list:
    """Image lint findings for a spec (`workbench.engine.lint.Finding`s)."""
    from workbench.engine.lint import lint_image

    return lint_image(check_ready(spec), spec.data)


def _spawn_worker(action: str, paths: JobPaths, source: str = "") -> subprocess.Popen:
    from workbench.paths import state_dir

    environment = dict(os.environ, SM_WORKBENCH_HOME=str(state_dir()))
    with open(paths.worker_log, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "workbench.engine.worker", action, str(paths.root), source],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=environment,
            close_fds=True,
        )


# --- looking at jobs -----------------------------------------------------------------


def reconcile(paths: JobPaths) -> dict:
    """A job's record, after making sure a job whose runner died is taken over."""
    record = load_record(paths)
    if cloud_jobs.is_cloud(record):  # SageMaker runs it: nothing to take over, only refresh
        return cloud_jobs.refresh(paths, record, max_age=cloud_jobs.REFRESH_INTERVAL, quiet=True)
    if record.get("Workbench", {}).get("Kind", "local") != "local":
        return record
    if is_final(record) or control.owner_alive(paths):
        return record
    lock = paths.control / "adopting"
    if lock.exists() and control.owner(paths) and (control.owner(paths) or {}).get("role") == "adopter":
        lock.unlink(missing_ok=True)  # the process that took over died too; take over again
    if control.try_lock(lock):
        if control.owner_alive(paths):  # claimed meanwhile (a launch, another taker)
            lock.unlink(missing_ok=True)
            return load_record(paths)
        write_json_atomic(paths.control / "previous-owner.json", control.owner(paths) or {})
        process = _spawn_worker("adopt", paths)
        control.claim(paths, process.pid, role="adopter")
    return record


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
        if not is_final(record) and record.get("Workbench", {}).get("Kind", "local") == "local":
            try:
                records[index] = reconcile(existing_job(record["TrainingJobName"]))
            except WorkbenchError:
                pass
        elif not is_final(record) and cloud_jobs.is_cloud(record):  # a quick, quiet refresh from SageMaker
            try:
                records[index] = cloud_jobs.refresh(existing_job(record["TrainingJobName"]), record, quiet=True,
                                                    quick=True, max_age=cloud_jobs.REFRESH_INTERVAL)
            except WorkbenchError:
                pass
    _remove_leftovers(records)
    return History(records, skipped)


_last_leftover_check = 0.0


def _remove_leftovers(records: list[dict], every: float = 30.0) -> None:
    """Containers or networks of finished jobs (a runner that failed while cleaning up).

    A finished record means its runner removed everything, barring an engine error, so
    this costs a Docker query at most every `every` seconds (the TUI lists jobs each second)."""
    global _last_leftover_check
    if every and time.monotonic() - _last_leftover_check < every:
        return
    _last_leftover_check = time.monotonic()
    finished = {r["TrainingJobName"] for r in records
                if is_final(r) and (r.get("Workbench") or {}).get("Kind", "local") == "local"}
    _remove_containers_of(finished)


def _remove_containers_of(finished: set[str]) -> None:
    if not finished:
        return
    try:
        from workbench.engine.docker_backend import DockerJob, leftover_jobs
        from workbench.engine.docker_client import connect
        from workbench.paths import state_dir

        client = connect(timeout=10)
        for name in leftover_jobs(client, str(state_dir())) & finished:
            DockerJob(client, name, str(state_dir())).remove_all()
    except WorkbenchError:
        pass


def describe_job(name: str) -> dict:
    paths = existing_job(name)
    record = load_record(paths)
    if cloud_jobs.is_cloud(record):
        return cloud_jobs.refresh(paths, record)  # asked for: AWS errors are raised
    return reconcile(paths)


def job_paths(name: str) -> JobPaths:
    return existing_job(name)


def job_spec(name: str) -> dict:
    from workbench.spec import read_spec_file

    return read_spec_file(existing_job(name).spec)


def job_events(name: str) -> list[ev.Event]:
    return list(read_events(existing_job(name)))


# --- the shared data cache -----------------------------------------------------------


def cache_stats():
    """What the shared data cache holds (entries, bytes, in use by running jobs, its limit)."""
    from workbench.storage.cache import ContentCache

    return ContentCache().stats()


def clear_cache():
    """Remove every cache entry no running job uses; returns what was removed and kept."""
    from workbench.storage.cache import ContentCache

    return ContentCache().clear()


# --- looking at jobs (continued) -----------------------------------------------------


def job_hosts(name: str) -> list[str]:
    paths = existing_job(name)
    record = load_record(paths)
    hosts = list((record.get("Workbench") or {}).get("Hosts") or {})
    for host in hosts_with_logs(paths):
        if host not in hosts:
            hosts.append(host)
    from workbench.engine.plan import natural_key

    return sorted(hosts, key=natural_key)


def read_logs(name: str, host: str | None = None, follow: bool = False,
              poll: float = 0.2) -> Iterator[tuple[float, str, str]]:
    """(time, host, text) for one host, or all hosts merged in time order; `follow`
    keeps reading until the job has finished."""
    paths = existing_job(name)
    record = load_record(paths)
    if cloud_jobs.is_cloud(record):  # CloudWatch Logs, one stream per host
        yield from cloud_jobs.read_logs(paths, record, host=host, follow=follow, poll=poll)
        return
    if host is not None and host not in job_hosts(name) and not follow:
        raise WorkbenchError(f"Job {name} has no host {host!r}; its hosts: {', '.join(job_hosts(name)) or 'none yet'}")
    tail = LogTail(paths, host)

    def read_new() -> list[tuple[float, str, str]]:
        batch = [(moment, name_, text) for name_, lines in tail.read().items() for moment, text in lines]
        batch.sort(key=lambda item: item[0])
        return batch

    try:
        yield from tail.merged()
        while follow:
            finished = is_final(reconcile(paths))
            batch = read_new()
            yield from batch
            if finished and not batch:
                return
            time.sleep(poll)
    finally:
        tail.close()


def follow_events(name: str, poll: float = 0.1, stop: Callable[[], bool] | None = None,
                  logs: bool = True) -> Iterator[ev.Event]:
    """Replay a job's stored events (log lines as LogLines batches, unless `logs` is False),
    then follow it live until it finishes or `stop()` says so."""
    import json

    paths = existing_job(name)
    if cloud_jobs.is_cloud(load_record(paths)):  # DescribeTrainingJob and CloudWatch Logs
        yield from cloud_jobs.follow_events(paths, poll=poll, stop=stop)
        return
    tail = LogTail(paths)
    events_handle = None
    events_partial = ""

    def read_new() -> list[ev.Event]:
        nonlocal events_handle, events_partial
        out: list[ev.Event] = []
        if events_handle is None and paths.events.exists():
            events_handle = open(paths.events, encoding="utf-8")
        if events_handle is not None:
            data = events_partial + events_handle.read()
            lines = data.split("\n")
            events_partial = lines.pop()
            for line in lines:
                try:
                    event = ev.event_from_dict(json.loads(line)) if line else None
                except ValueError:
                    continue
                if event is not None:
                    out.append(event)
        for host, lines in (tail.read().items() if logs else ()):
            out.append(ev.LogLines(host, tuple(lines), time=lines[-1][0]))
        return out

    try:
        while True:
            batch = read_new()
            yield from batch
            if any(isinstance(e, ev.JobFinished) for e in batch) or (stop and stop()):
                return
            if not batch:
                if is_final(reconcile(paths)):
                    yield from read_new()
                    return
                time.sleep(poll)
    finally:
        if events_handle is not None:
            events_handle.close()
        tail.close()


# --- acting on jobs ------------------------------------------------------------------


def stop_job(name: str, *, kill: bool = False, wait: bool = True, timeout: float | None = None) -> dict:
    """Stop a running job from any process: SIGTERM, the grace period, SIGKILL."""
    paths = existing_job(name)
    if cloud_jobs.is_cloud(load_record(paths)):  # StopTrainingJob
        record = cloud_jobs.stop(paths, load_record(paths), kill=kill)
        return wait_for_job(name, timeout=timeout) if wait else record
    record = reconcile(paths)
    if is_final(record):
        raise JobStateError(f"Job {name} has already ended ({record['TrainingJobStatus']}); nothing to stop")
    control.request(paths, "kill" if kill else "stop")
    if not wait:
        return record
    return wait_for_job(name, timeout=timeout)


def interrupt_job(name: str) -> dict:
    """Simulate a spot interruption of a running managed-spot job."""
    paths = existing_job(name)
    record = reconcile(paths)
    if cloud_jobs.is_cloud(record):
        raise JobStateError(f"Job {name} runs on SageMaker, where a spot interruption cannot be caused; "
                            "rerun it here (`sm-workbench rerun`) to practise one")
    if is_final(record):
        raise JobStateError(f"Job {name} has already ended ({record['TrainingJobStatus']}); nothing to interrupt")
    if not record.get("EnableManagedSpotTraining"):
        raise JobStateError(f"Job {name} is not a managed spot job; only jobs with EnableManagedSpotTraining: true "
                            "can be interrupted (use `sm-workbench stop` to stop it)")
    control.request(paths, "interrupt")
    return record


def wait_for_job(name: str, timeout: float | None = None, poll: float = 0.1) -> dict:
    paths = existing_job(name)
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        record = reconcile(paths)
        if is_final(record):
            return record
        if deadline and time.monotonic() > deadline:
            raise JobStateError(f"Job {name} is still {record['SecondaryStatus']} after {timeout:.0f} s")
        time.sleep(poll)


def job_gpus(name: str) -> "JobGpus":
    """A job's GPUs from its stored events: each host's, and each GPU's latest sample."""
    from workbench.engine.gpu_record import job_gpus as from_events

    record = describe_job(name)
    return from_events(name, record.get("TrainingJobStatus", ""), job_events(name))


def machine_gpus() -> "MachineGpus":
    """This machine's GPUs now (one sample each, with the sm-workbench hosts using them)
    and whether Docker can hand them out. No driver is a state, never an error."""
    from docker.errors import DockerException

    from workbench.engine.gpu import probe
    from workbench.engine.gpu_sampler import ContainerProcesses, MachineGpus, docker_top, sample_machine

    inventory = probe()
    if not inventory.available:
        return MachineGpus(inventory)
    owners, info = None, None
    try:
        from workbench.engine.docker_backend import LABEL_HOST, LABEL_JOB, LABEL_ROLE
        from workbench.engine.docker_client import connect

        client = connect(timeout=10)
        info = client.info()
        running = client.containers.list(filters={"label": f"{LABEL_ROLE}=training"})
        by_host = {f"{c.labels.get(LABEL_JOB)}/{c.labels.get(LABEL_HOST)}": c for c in running}
        owners = ContainerProcesses({key: c.id for key, c in by_host.items()}, top=docker_top(by_host))
    except (WorkbenchError, DockerException):
        pass  # the GPUs can be shown without Docker
    snapshot = sample_machine(owners=owners)
    if info is not None:
        from workbench.engine.gpu_docker import docker_gpu_support

        support = docker_gpu_support(info)
        state = "can" if support.available else "cannot"
        snapshot.docker = f"Docker {state} hand GPUs to containers: {support.detail}"
    return snapshot


def peek_host_file(tree: Path, rel: str, limit: int):
    """The start of a file in a host's /opt/ml tree, for viewers (`container_files.Peek`).

    The container wrote the tree and may have planted links to this machine's files or a
    FIFO: nothing is followed out of the tree and nothing blocks."""
    from workbench.engine.container_files import peek

    return peek(tree, rel, limit)


def is_host_folder(tree: Path, rel: str) -> bool:
    """rel is a real folder of the tree, reached without following any link."""
    from workbench.engine.container_files import is_real_folder

    return rel in ("", ".") or is_real_folder(tree, rel)


def remove_job(name: str) -> None:
    """Remove a finished job's folder (root-owned files included)."""
    paths = existing_job(name)
    try:
        record = reconcile(paths)
    except RecordDamaged:  # rm is the way out of a damaged record, unless a live process runs the job
        if control.owner_alive(paths):
            owner = control.owner(paths) or {}
            raise JobStateError(f"Job {name} is run by a live process (pid {owner.get('pid', '?')}) although its "
                                f"record is damaged; stop it first (`sm-workbench stop {name}`)") from None
        _remove_containers_of({paths.name})
        remove_job_files(paths)
        return
    if not is_final(record):
        raise JobStateError(f"Job {name} is still {record['TrainingJobStatus']}; stop it first (`sm-workbench stop {name}`)")
    _remove_leftovers([record], every=0)
    remove_job_files(paths)


def rerun_spec(name: str, *, new_name: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> JobSpec:
    """The spec of an earlier job, ready to run again under a new name."""
    from workbench.spec import check_spec

    data = job_spec(name)
    data.pop("TrainingJobName", None)
    return check_spec(data, source=str(existing_job(name).spec), name=new_name, overrides=overrides)


# --- Amazon SageMaker ----------------------------------------------------------------


def job_kind(name: str) -> str:
    """"local" (runs here) or "sagemaker" (runs on Amazon SageMaker)."""
    return load_record(existing_job(name)).get("Workbench", {}).get("Kind", "local")


def submit(spec: JobSpec) -> dict:
    """Submit a spec to SageMaker (CreateTrainingJob); the job joins the history as a
    SageMaker job, and `describe_job`, `read_logs`, `follow_events`, `stop_job` work on it."""
    return cloud_jobs.submit(spec)


def upload(path: str, destination: str, *, on_progress: Callable | None = None):
    """Upload a local file or folder to S3 (for specs whose inputs are local); returns
    `Uploaded` with the S3 URI to put in the spec."""
    from workbench.cloud.upload import upload_path

    return upload_path(path, destination, on_progress=on_progress)


def import_job(name: str, *, output: str | None = None, force: bool = False, history: bool = True):
    """A SageMaker job's DescribeTrainingJob turned into a spec (written to `output` when
    given) and, with `history`, the job added to the history as a SageMaker job. Returns
    the `ImportedSpec`; its `warnings` say what could not be done."""
    from workbench.cloud.importer import import_training_job

    imported = import_training_job(name)
    if output:
        cloud_jobs.write_imported(imported, output, force=force)
    if history:
        _, why_not = cloud_jobs.register_imported(imported)
        if why_not:
            imported.warnings.append(why_not)
    return imported
