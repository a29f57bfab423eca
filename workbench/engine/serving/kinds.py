"""Endpoints and transform jobs as kinds of jobs of the history (`api.KINDS`).

Each has a folder under the state directory like a training job: spec.yaml (the
CreateModel or CreateTransformJob request it runs), describe.json (DescribeEndpoint- or
DescribeTransformJob-shaped, `Workbench.Kind` "endpoint" or "transform"), events.jsonl and
logs/<host>.log. So `jobs`, `describe`, `logs`, `stop`, `rm` and the workbench reach them
through the same API calls as training jobs.

One history means one namespace: a folder per name, whatever the kind, so an endpoint
cannot be named like a training job (SageMaker keeps training jobs, endpoints and
transform jobs apart; here a clash is refused with NameClash, and a default endpoint name,
`<model>-endpoint`, takes the first free `-2`, `-3`... suffix).

Like a local training job, one process of ours runs each (a foreground `serve` or
`transform`, or a detached worker) and others reach it through its control folder. One
whose process died is not taken over (a request in flight cannot be resumed): its
container is removed and it ends Failed, saying so.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.docker_client import connect, require_image
from workbench.engine.local_jobs import LocalJobs, remove_containers_of, spawn_worker
from workbench.engine.record import KIND_ENDPOINT, KIND_TRANSFORM, is_final, record_kind, record_name, \
    record_secondary, record_status
from workbench.engine.serving.invoke import INVOCATION_TIMEOUT, InvokeResult, post_invocations, preview
from workbench.engine.serving.records import arn, new_endpoint_record, new_transform_record
from workbench.engine.store import JobHistory, JobPaths, JobRecorder, append_event, create_job_dir, load_record, \
    remove_job_files
from workbench.engine.times import iso
from workbench.errors import InvocationError, JobStateError, NameClash
from workbench.fileio import write_json_atomic
from workbench.paths import jobs_dir
from workbench.spec import write_spec_file
from workbench.spec.serving import ModelSpec, TransformSpec
from workbench.spec.settings import setting_default

Subscriber = Callable[[ev.Event], None]
MAX_NAME = 63


@dataclass
class ServingJob:
    """An endpoint or a transform job started by this process."""

    name: str
    paths: JobPaths
    runner: object | None = None  # EndpointRunner / TransformRunner when it runs here
    pid: int | None = None  # the worker's, when detached

    def run(self) -> dict:
        if self.runner is None:
            raise JobStateError(f"{self.name} runs in a worker process (pid {self.pid}); follow it instead")
        return self.runner.run()

    def stop(self, kill: bool = False) -> None:
        if self.runner is not None:
            self.runner.request_stop(kill=kill)
        else:
            control.request(self.paths, "kill" if kill else "stop")


def free_name(base: str) -> str:
    """`base`, or `base-2`, `base-3`... whichever no job of the history has (63 at most)."""
    for number in range(1, 1000):
        suffix = "" if number == 1 else f"-{number}"
        name = base[:MAX_NAME - len(suffix)].rstrip("-") + suffix
        if not (jobs_dir() / name).exists():
            return name
    raise NameClash(f"Every name from {base} to {base}-999 is taken; give one (--name)")


def _arn(resource: str, name: str) -> str:
    return arn(str(setting_default("Region")), str(setting_default("AccountId")), resource, name)


def model_summary(model: ModelSpec) -> dict:
    """What a record keeps of the model it serves."""
    container = model.container
    summary = {"ModelName": model.name, "Image": model.image, "ModelDataUrl": model.model_data,
               "Environment": model.environment}
    if container.get("ContainerHostname"):
        summary["ContainerHostname"] = container["ContainerHostname"]
    return summary


def _start(paths: JobPaths, record: dict, detach: bool, action: str, subscribers: list[Subscriber],
           make_runner: Callable, client) -> ServingJob:
    write_json_atomic(paths.describe, record)
    if detach:
        process = spawn_worker(action, paths)
        control.claim(paths, process.pid, role="worker")
        return ServingJob(paths.name, paths, pid=process.pid)
    bus = ev.EventBus()
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    runner = make_runner(paths, bus, client)
    control.claim(paths, role="foreground")
    return ServingJob(paths.name, paths, runner=runner)


def launch_endpoint(model: ModelSpec, *, name: str | None = None, port: int | None = None, detach: bool = False,
                    subscribers: list[Subscriber] = (), source: str = "") -> ServingJob:
    """Create the endpoint (its name is reserved now) and run it here, or in a worker."""
    from workbench.engine.serving.endpoint import EndpointRunner  # deferred: the runner, only to run one

    client = connect()
    image = require_image(client, model.image)
    paths = create_job_dir(name or free_name(f"{model.name}-endpoint"))
    control.claim(paths, role="launcher")
    write_spec_file(paths.spec, model.data)
    settings = model.settings.to_dict()
    if port is not None:
        settings["Port"] = port
    created = time.time()
    record = new_endpoint_record(paths.name, _arn("endpoint", paths.name), model_summary(model), settings,
                                 created, source)
    record["ProductionVariants"][0]["DeployedImages"][0].update(
        {"ResolvedImage": getattr(image, "id", ""), "ResolutionTime": iso(created)})
    return _start(paths, record, detach, "serve", list(subscribers), EndpointRunner, client)


def launch_transform(spec: TransformSpec, model: ModelSpec, *, detach: bool = False,
                     subscribers: list[Subscriber] = ()) -> ServingJob:
    from workbench.engine.serving.transform import TransformRunner  # deferred: the runner, only to run one

    client = connect()
    require_image(client, model.image)
    paths = create_job_dir(spec.name)
    control.claim(paths, role="launcher")
    write_spec_file(paths.spec, spec.data)
    settings = spec.settings.to_dict()
    own = spec.data.get("Workbench") or {}
    for key in ("StartupTimeoutSeconds", "StopGracePeriodSeconds"):  # the model's, unless the job sets them
        if key not in own:
            settings[key] = getattr(model.settings, key)
    record = new_transform_record(spec.request, _arn("transform-job", spec.name), model_summary(model), settings,
                                  time.time(), str(spec.source or ""))
    return _start(paths, record, detach, "transform", list(subscribers), TransformRunner, client)


# --- a job whose process died ------------------------------------------------------------


def end_orphan(paths: JobPaths, record: dict) -> dict:
    """The record, after ending (Failed) a job whose process died, its container removed."""
    if is_final(record) or control.owner_alive(paths):
        return record
    lock = paths.control / "ending"
    if not control.try_lock(lock):
        return record  # another process is ending it
    try:
        record = load_record(paths)
        if is_final(record) or control.owner_alive(paths):
            return record
        owner = control.owner(paths) or {}
        remove_containers_of({paths.name})
        recorder = JobRecorder(paths, record)
        try:
            recorder(ev.JobFinished("Failed", "Failed", f"InternalError: the process that ran it (pid "
                                                        f"{owner.get('pid', '?')}) ended without stopping it; its "
                                                        "container was removed"))
        finally:
            recorder.close()
        return recorder.record
    finally:
        lock.unlink(missing_ok=True)


_last_leftover_check = 0.0


def remove_serving_leftovers(records: list[dict], every: float = 30.0) -> None:
    """Containers of ended endpoints and transform jobs that a failed clean-up left."""
    global _last_leftover_check
    if every and time.monotonic() - _last_leftover_check < every:
        return
    _last_leftover_check = time.monotonic()
    remove_containers_of({record_name(r) for r in records
                          if is_final(r) and record_kind(r) in (KIND_ENDPOINT, KIND_TRANSFORM)})


class ServingJobs(LocalJobs):
    """What endpoints and transform jobs share: run here like local training jobs (logs,
    events, stop requests), never taken over, never interrupted."""

    what = "job"

    def current(self, paths: JobPaths, record: dict) -> dict:
        return end_orphan(paths, record)

    def after_listing(self, records: list[dict]) -> None:
        remove_serving_leftovers(records)

    def stop(self, paths: JobPaths, record: dict, kill: bool) -> dict:
        record = self.current(paths, record)
        if is_final(record):
            raise JobStateError(f"{self.what.capitalize()} {paths.name} has already ended ({record_status(record)}); "
                                "nothing to stop")
        control.request(paths, "kill" if kill else "stop")
        return record

    def interrupt(self, paths: JobPaths, record: dict) -> dict:
        raise JobStateError(f"{paths.name} is {'an' if self.what[0] in 'aeiou' else 'a'} {self.what}; only managed "
                            "spot training jobs can be interrupted (`sm-workbench stop` stops it)")

    def remove(self, paths: JobPaths, record: dict) -> None:
        record = self.current(paths, record)
        if not is_final(record):
            raise JobStateError(f"{self.what.capitalize()} {paths.name} is still {record_status(record)} "
                                f"({record_secondary(record)}); stop it first (`sm-workbench stop {paths.name}`)")
        remove_containers_of({paths.name})
        remove_job_files(paths)


class EndpointJobs(ServingJobs):
    name = KIND_ENDPOINT
    what = "endpoint"


class TransformJobs(ServingJobs):
    name = KIND_TRANSFORM
    what = "transform job"


# --- requests to an endpoint ---------------------------------------------------------------


@dataclass(frozen=True)
class _Address:
    key: tuple[int, int, int]  # describe.json's inode, mtime_ns, size when read
    read_ns: int
    port: int


_addresses: dict[Path, _Address] = {}


def _serving_port(paths: JobPaths) -> int | None:
    """The port of an InService endpoint, from its record; re-read only when the record
    changed (it is replaced atomically: a new inode each write; and, as the history does,
    a record read within RACY_NS of its mtime is read again). None when it is not
    InService (the caller reads the record to say why)."""
    try:
        info = os.stat(paths.describe)
    except FileNotFoundError:
        return None
    key = (info.st_ino, info.st_mtime_ns, info.st_size)
    cached = _addresses.get(paths.root)
    if cached is not None and cached.key == key and cached.read_ns - info.st_mtime_ns > JobHistory.RACY_NS:
        return cached.port
    read_ns = time.time_ns()
    record = load_record(paths)
    port = (record.get("Workbench") or {}).get("Port")
    if record_kind(record) != KIND_ENDPOINT or record_status(record) != "InService" or not port:
        _addresses.pop(paths.root, None)
        return None
    _addresses[paths.root] = _Address(key, read_ns, int(port))
    return int(port)


def _not_serving(paths: JobPaths) -> JobStateError:
    record = end_orphan(paths, load_record(paths))
    if record_kind(record) != KIND_ENDPOINT:
        return JobStateError(f"{paths.name} is not an endpoint; `sm-workbench serve JOB` starts one")
    again = "; start it again with `sm-workbench serve`" if is_final(record) else ""
    return JobStateError(f"Endpoint {paths.name} is {record_status(record)} ({record_secondary(record)}); it takes "
                         f"requests once InService{again}")


def invoke_endpoint(paths: JobPaths, body: bytes, *, content_type: str | None = None, accept: str | None = None,
                    custom_attributes: str | None = None, timeout: float | None = None) -> InvokeResult:
    """POST /invocations to an InService endpoint; every request (answered or not) is
    appended to its event log, whichever process sends it. `timeout` may be shorter than
    InvokeEndpoint's 60 s, never longer. The hot path costs a stat of the record and the
    append (bench/serve.py measures it)."""
    port = _serving_port(paths)
    if port is None:
        raise _not_serving(paths)
    started = time.perf_counter()
    try:
        result = post_invocations("127.0.0.1", port, body, content_type=content_type, accept=accept,
                                  custom_attributes=custom_attributes,
                                  timeout=min(timeout or INVOCATION_TIMEOUT, INVOCATION_TIMEOUT))
    except InvocationError as err:
        append_event(paths, ev.EndpointInvoked(
            os.urandom(8).hex(), None, (time.perf_counter() - started) * 1000, len(body), 0, content_type or "",
            accept or "", "", str(err), preview(body, 200)))
        if str(err).startswith("Nothing answers") and _serving_port(paths) is None:
            raise _not_serving(paths) from None  # it ended meanwhile, or its process died: say so
        raise
    append_event(paths, ev.EndpointInvoked(
        result.request_id, result.status, result.latency_ms, len(body), len(result.body), content_type or "",
        accept or "", result.content_type, "" if result.ok else result.model_error(), preview(body, 200),
        preview(result.body, 500)))
    return result
