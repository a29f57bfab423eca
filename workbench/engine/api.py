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
from typing import Callable, Iterator

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.record import is_final, new_record
from workbench.engine.store import (
    JobPaths, all_records, create_job_dir, existing_job, hosts_with_logs, load_record, parse_log_line,
    read_events, remove_job_files,
)
from workbench.errors import JobStateError, WorkbenchError
from workbench.fileio import write_json_atomic
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
    """Fail early, before anything is created: no engine, or no image."""
    from workbench.engine.docker_client import connect, require_image

    client = connect()
    require_image(client, spec.image)
    return client


def launch(spec: JobSpec, *, detach: bool = False, subscribers: list[Subscriber] = ()) -> LocalJob:
    """Create the job (its name is reserved now) and either prepare it here or start a worker."""
    client = check_ready(spec)
    paths = create_job_dir(spec.name)
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
    if is_final(record) or control.owner_alive(paths):
        return record
    lock = paths.control / "adopting"
    if lock.exists() and control.owner(paths) and (control.owner(paths) or {}).get("role") == "adopter":
        lock.unlink(missing_ok=True)  # the process that took over died too; take over again
    if control.try_lock(lock):
        previous = control.owner(paths)
        process = _spawn_worker("adopt", paths)
        control.claim(paths, process.pid, role="adopter")
        write_json_atomic(paths.control / "previous-owner.json", previous or {})
    return record


def list_jobs() -> list[dict]:
    """Every job's record, newest first (jobs whose runner died are taken over)."""
    records = all_records()
    for index, record in enumerate(records):
        if not is_final(record) and record.get("Workbench", {}).get("Kind", "local") == "local":
            try:
                records[index] = reconcile(existing_job(record["TrainingJobName"]))
            except WorkbenchError:
                pass
    _remove_leftovers(records)
    return records


def _remove_leftovers(records: list[dict]) -> None:
    """Containers or networks of finished jobs (a runner that died while cleaning up)."""
    finished = {r["TrainingJobName"] for r in records if is_final(r)}
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
    return reconcile(existing_job(name))


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
    if host is not None and host not in job_hosts(name) and not follow:
        raise WorkbenchError(f"Job {name} has no host {host!r}; its hosts: {', '.join(job_hosts(name)) or 'none yet'}")
    handles: dict[str, object] = {}
    partial: dict[str, str] = {}

    def read_new() -> list[tuple[float, str, str]]:
        for log in sorted(paths.logs.glob("*.log")):
            if log.stem not in handles and (host is None or log.stem == host):
                handles[log.stem] = open(log, encoding="utf-8", errors="replace")
        batch = []
        for name_, handle in handles.items():
            data = partial.pop(name_, "") + handle.read()
            if not data:
                continue
            lines = data.split("\n")
            if lines[-1]:
                partial[name_] = lines[-1]
            for line in lines[:-1]:
                moment, text = parse_log_line(line)
                batch.append((moment, name_, text))
        batch.sort(key=lambda item: item[0])
        return batch

    try:
        yield from read_new()
        while follow:
            finished = is_final(reconcile(paths))
            batch = read_new()
            yield from batch
            if finished and not batch:
                return
            time.sleep(poll)
    finally:
        for handle in handles.values():
            handle.close()


def follow_events(name: str, poll: float = 0.1, stop: Callable[[], bool] | None = None) -> Iterator[ev.Event]:
    """Replay a job's stored events (log lines as LogLines batches), then follow it live
    until it finishes or `stop()` says so."""
    import json

    paths = existing_job(name)
    handles: dict[str, object] = {}
    partial: dict[str, str] = {}
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
                if line:
                    try:
                        event = ev.event_from_dict(json.loads(line))
                    except ValueError:
                        continue
                    if event is not None:
                        out.append(event)
        for log in sorted(paths.logs.glob("*.log")):
            if log.stem not in handles:
                handles[log.stem] = open(log, encoding="utf-8", errors="replace")
        for host, handle in handles.items():
            data = partial.pop(host, "") + handle.read()
            if not data:
                continue
            lines = data.split("\n")
            if lines[-1]:
                partial[host] = lines[-1]
            parsed = tuple(parse_log_line(line) for line in lines[:-1])
            if parsed:
                out.append(ev.LogLines(host, parsed, time=parsed[-1][0]))
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
        for handle in handles.values():
            handle.close()


# --- acting on jobs ------------------------------------------------------------------


def stop_job(name: str, *, kill: bool = False, wait: bool = True, timeout: float | None = None) -> dict:
    """Stop a running job from any process: SIGTERM, the grace period, SIGKILL."""
    paths = existing_job(name)
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


def remove_job(name: str) -> None:
    """Remove a finished job's folder (root-owned files included)."""
    paths = existing_job(name)
    record = reconcile(paths)
    if not is_final(record):
        raise JobStateError(f"Job {name} is still {record['TrainingJobStatus']}; stop it first (`sm-workbench stop {name}`)")
    _remove_leftovers([record])
    remove_job_files(paths)


def rerun_spec(name: str, *, new_name: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> JobSpec:
    """The spec of an earlier job, ready to run again under a new name."""
    from workbench.spec import check_spec

    data = job_spec(name)
    data.pop("TrainingJobName", None)
    return check_spec(data, source=str(existing_job(name).spec), name=new_name, overrides=overrides)
