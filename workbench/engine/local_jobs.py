"""Jobs that run on this machine: launching them, taking over one whose runner died, and
looking at and acting on them from any process.

A job runs either in the process that launched it (`LocalJob.run()`, for `sm-workbench
run`) or in a detached worker process (`launch(..., detach=True)`, for `--detach` and
the TUI). Either way it writes the same job folder, which every viewer reads; other
processes reach its runner through request files (`control`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.capabilities import preflight
from workbench.engine.docker_backend import DockerJob, leftover_jobs
from workbench.engine.docker_client import connect, require_image
from workbench.engine.kinds import JobKind
from workbench.engine.labels import LABEL_HOST
from workbench.engine.plan import natural_key
from workbench.engine.record import KIND_LOCAL, is_final, new_record, record_kind
from workbench.engine.store import (
    EventTail,
    JobPaths,
    LogTail,
    create_job_dir,
    hosts_with_logs,
    load_record,
    read_events,
    remove_job_files,
)
from workbench.engine.warm_pools.store import job_warm_pool
from workbench.errors import JobStateError, WorkbenchError
from workbench.fileio import write_json_atomic
from workbench.paths import state_dir
from workbench.spec import JobSpec, write_spec_file

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
    """Fail early, before anything is created: no engine, no image (unless the job builds
    it: Workbench.Build), or GPUs the job cannot have."""
    client = connect()
    if not spec.settings.Build:
        require_image(client, spec.image)
    preflight(spec.data, client)
    return client


def launch(spec: JobSpec, *, detach: bool = False, subscribers: list[Subscriber] = ()) -> LocalJob:
    """Create the job (its name is reserved now) and either prepare it here or start a worker."""
    from workbench.engine.runner import JobRunner, job_arn  # deferred: the runner, only to run a job

    client = check_ready(spec)
    paths = create_job_dir(spec.name)
    # Owned from the first moment: a viewer that sees the job must never think it orphaned.
    control.claim(paths, role="launcher")
    write_spec_file(paths.spec, spec.data)
    source = str(spec.source) if spec.source else ""
    if detach:
        write_json_atomic(paths.describe, new_record(spec.data, job_arn(spec.name, spec.settings), time.time()))
        process = spawn_worker("run", paths, source)
        control.claim(paths, process.pid, role="worker")
        return LocalJob(spec.name, paths, pid=process.pid)
    bus = ev.EventBus()
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    runner = JobRunner(spec.data, paths, bus, client, source=source)
    control.claim(paths, role="foreground")
    return LocalJob(spec.name, paths, runner=runner)


def spawn_worker(action: str, paths: JobPaths, source: str = "") -> subprocess.Popen:
    """A detached worker process that runs (or takes over) the job, away from any terminal."""
    environment = dict(os.environ, SM_WORKBENCH_HOME=str(state_dir()))
    with open(paths.worker_log, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "workbench.engine.worker", action, str(paths.root), source],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=environment,
            close_fds=True,
        )


def reconcile(paths: JobPaths, record: dict | None = None) -> dict:
    """A job's record, after making sure a job whose runner died is taken over."""
    record = load_record(paths) if record is None else record
    if record_kind(record) != KIND_LOCAL or is_final(record) or control.owner_alive(paths):
        return record
    # The owner is gone, but `record` may be an older read (the history's): a runner writes
    # the job's final record and then exits. Only a job still unfinished on disk is taken over.
    record = load_record(paths)
    if is_final(record):
        return record
    return take_over(paths, record, "adopt")


def take_over(paths: JobPaths, record: dict, action: str) -> dict:
    """Start a worker (`action`: adopt, or adopt-tuning) that takes over a job whose owner
    died; one taker at a time (a lock), and none when a live owner claimed it meanwhile."""
    lock = paths.control / "adopting"
    if lock.exists() and (control.owner(paths) or {}).get("role") == "adopter":
        lock.unlink(missing_ok=True)  # the process that took over died too; take over again
    if control.try_lock(lock):
        if control.owner_alive(paths):  # claimed meanwhile (a launch, another taker)
            lock.unlink(missing_ok=True)
            return load_record(paths)
        write_json_atomic(paths.control / "previous-owner.json", control.owner(paths) or {})
        process = spawn_worker(action, paths)
        control.claim(paths, process.pid, role="adopter")
    return record


_last_leftover_check = 0.0


def remove_leftovers(records: list[dict], every: float = 30.0) -> None:
    """Containers or networks of finished jobs (a runner that failed while cleaning up).

    A finished record means its runner removed everything, barring an engine error, so
    this costs a Docker query at most every `every` seconds (the TUI lists jobs each second)."""
    global _last_leftover_check
    if every and time.monotonic() - _last_leftover_check < every:
        return
    _last_leftover_check = time.monotonic()
    remove_containers_of({r["TrainingJobName"] for r in records if is_final(r) and record_kind(r) == KIND_LOCAL})


def remove_containers_of(finished: set[str]) -> None:
    if not finished:
        return

    try:
        client = connect(timeout=10)
        for name in leftover_jobs(client, str(state_dir())) & finished:
            DockerJob(client, name, str(state_dir())).remove_all()
    except WorkbenchError:
        pass


def remove_damaged(paths: JobPaths) -> None:
    """`rm` is the way out of a damaged record, unless a live process runs the job."""
    if control.owner_alive(paths):
        owner = control.owner(paths) or {}
        raise JobStateError(f"Job {paths.name} is run by a live process (pid {owner.get('pid', '?')}) although its "
                            f"record is damaged; stop it first (`sm-workbench stop {paths.name}`)")
    remove_containers_of({paths.name})
    remove_job_files(paths)


class LocalJobs(JobKind):
    name = KIND_LOCAL

    def current(self, paths: JobPaths, record: dict) -> dict:
        return reconcile(paths, record)

    def after_listing(self, records: list[dict]) -> None:
        remove_leftovers(records)

    def describe(self, paths: JobPaths, record: dict) -> dict:
        """With the WarmPoolStatus the pool has now: reused by a later job, expired, terminated."""
        record = self.current(paths, record)
        if is_final(record) and record.get("WarmPoolStatus"):
            status = job_warm_pool(paths.name)
            if status is not None:
                record = {**record, "WarmPoolStatus": status}
        return record

    def hosts(self, paths: JobPaths, record: dict) -> list[str]:
        hosts = list((record.get("Workbench") or {}).get("Hosts") or {})
        hosts += [host for host in hosts_with_logs(paths) if host not in hosts]
        return sorted(hosts, key=natural_key)

    def read_logs(self, paths: JobPaths, record: dict, host: str | None, follow: bool,
                  poll: float) -> Iterator[tuple[float, str, str]]:
        if host is not None and not follow and host not in (hosts := self.hosts(paths, record)):
            raise WorkbenchError(f"Job {paths.name} has no host {host!r}; its hosts: {', '.join(hosts) or 'none yet'}")
        tail = LogTail(paths, host)

        def read_new() -> list[tuple[float, str, str]]:
            batch = [(moment, name, text) for name, lines in tail.read().items() for moment, text in lines]
            batch.sort(key=lambda item: item[0])
            return batch

        try:
            yield from tail.merged()
            while follow:
                finished = is_final(self.current(paths, load_record(paths)))
                batch = read_new()
                yield from batch
                if finished and not batch:
                    return
                time.sleep(poll)
        finally:
            tail.close()

    def follow_events(self, paths: JobPaths, record: dict, poll: float, stop: Callable[[], bool] | None,
                      logs: bool) -> Iterator[ev.Event]:
        """The stored events (log lines as LogLines batches, unless `logs` is False), then live."""
        events, tail = EventTail(paths), LogTail(paths)

        def read_new() -> list[ev.Event]:
            out = events.read()
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
                    if is_final(self.current(paths, load_record(paths))):
                        yield from read_new()
                        return
                    time.sleep(poll)
        finally:
            events.close()
            tail.close()

    def stop(self, paths: JobPaths, record: dict, kill: bool) -> dict:
        record = reconcile(paths, record)
        if is_final(record):
            raise JobStateError(f"Job {paths.name} has already ended ({record['TrainingJobStatus']}); nothing to stop")
        control.request(paths, "kill" if kill else "stop")
        return record

    def interrupt(self, paths: JobPaths, record: dict) -> dict:
        record = reconcile(paths, record)
        if is_final(record):
            raise JobStateError(f"Job {paths.name} has already ended ({record['TrainingJobStatus']}); "
                                "nothing to interrupt")
        if not record.get("EnableManagedSpotTraining"):
            raise JobStateError(f"Job {paths.name} is not a managed spot job; only jobs with "
                                "EnableManagedSpotTraining: true can be interrupted (use `sm-workbench stop` to stop it)")
        control.request(paths, "interrupt")
        return record

    # --- inner loop: requests to a running job's runner ---

    def request(self, paths: JobPaths, record: dict, action: str, **details) -> dict:
        record = reconcile(paths, record)
        if is_final(record):
            raise JobStateError(f"Job {paths.name} has already ended ({record['TrainingJobStatus']})")
        host = details.get("host")
        if host is not None and host not in (hosts := self.hosts(paths, record)):
            raise WorkbenchError(f"Job {paths.name} has no host {host!r}; its hosts: {', '.join(hosts) or 'none yet'}")
        control.request(paths, action, **details)
        return record

    def training_container(self, paths: JobPaths, record: dict, host: str | None) -> tuple[str, str]:
        """(container id, host) of a host's running training container (the first host by default)."""
        record = reconcile(paths, record)
        if is_final(record):
            raise JobStateError(f"Job {paths.name} has ended ({record['TrainingJobStatus']}); its containers are gone")
        hosts = self.hosts(paths, record)
        host = host or (hosts[0] if hosts else "algo-1")
        if host not in hosts:
            raise WorkbenchError(f"Job {paths.name} has no host {host!r}; its hosts: {', '.join(hosts) or 'none yet'}")
        found = [c for c in DockerJob(connect(), paths.name, str(state_dir())).find(role="training")
                 if c.labels.get(LABEL_HOST) == host and c.status == "running"]
        if not found:
            raise JobStateError(f"{host} of {paths.name} has no running training container (the job is "
                                f"{record.get('SecondaryStatus', '?')}); try again once it is Training")
        return found[0].id, host

    def remove(self, paths: JobPaths, record: dict) -> None:
        record = reconcile(paths, record)
        if not is_final(record):
            raise JobStateError(f"Job {paths.name} is still {record['TrainingJobStatus']}; stop it first "
                                f"(`sm-workbench stop {paths.name}`)")
        remove_leftovers([record], every=0)
        remove_job_files(paths)

    # --- metrics ---

    def metric_samples(self, paths: JobPaths, record: dict, follow: bool,
                       stop: Callable[[], bool] | None) -> Iterator[ev.Event]:
        """From the event log, where the runner recorded them as it read the output."""
        source = self.follow_events(paths, record, 0.2, stop, logs=False) if follow else read_events(paths)
        return (event for event in source if isinstance(event, (ev.MetricSamples, ev.MetricSample)))
