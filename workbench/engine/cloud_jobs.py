"""SageMaker jobs in the job history, beside local ones.

A cloud job has a folder like a local job: `spec.yaml` (what was submitted),
`describe.json` (the latest DescribeTrainingJob, times as the store writes them, plus a
`Workbench` section whose Kind is "sagemaker") and `events.jsonl` (the status transitions
as the same events a local job records, so every viewer shows both alike). SageMaker
runs the job, so nothing here is ever taken over or cleaned up like a local job; the
record is refreshed from DescribeTrainingJob instead (at most every REFRESH_INTERVAL
while something follows it, never once the job has ended), and logs come from
CloudWatch. GPU samples, /opt/ml trees, checkpoint file states and signals are
not available for cloud jobs; the record says so, for viewers to show.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator

from workbench.cloud.client import region_of_arn
from workbench.cloud.jobs import create_training_job, describe_training_job, stop_training_job
from workbench.cloud.logs import JobLogReader
from workbench.cloud.metrics import PERIOD, metric_series
from workbench.engine import events as ev
from workbench.engine.kinds import JobKind
from workbench.engine.plan import make_plan, natural_key
from workbench.engine.record import KIND_SAGEMAKER, epoch, is_final, iso, new_record, record_kind
from workbench.engine.store import JobPaths, create_job_dir, job_paths, load_record, remove_job_files
from workbench.errors import CloudError, JobStateError, SpecInvalid, WorkbenchError
from workbench.fileio import write_json_atomic, write_text_atomic
from workbench.spec import errors, validate, write_spec_file

REFRESH_INTERVAL = 5.0  # seconds between DescribeTrainingJob calls while a job is followed
LOG_POLL_INTERVAL = 2.0  # seconds between CloudWatch polls while following
LATE_LINES_WINDOW = 60.0  # seconds after the end in which one more CloudWatch poll is worth it
SAGEMAKER_STOP_GRACE = 120  # SIGTERM to SIGKILL on SageMaker; not configurable there
NOT_AVAILABLE = {
    "Gpu": "GPU samples are not collected for SageMaker jobs; see the job's CloudWatch metrics",
    "OptMl": "the /opt/ml tree lives on the SageMaker instances; outputs go to S3OutputPath",
    "Checkpoints": "checkpoint file states are not tracked for SageMaker jobs; see CheckpointConfig.S3Uri",
    "Signals": "signals are sent by SageMaker and not reported",
}
_FINAL_SECONDARIES = {"Completed", "Failed", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"}


def is_cloud(record: dict) -> bool:
    return record_kind(record) == KIND_SAGEMAKER


def _hosts(resources: dict) -> dict[str, dict]:
    """Host names as SageMaker gives them (algo-1.., numbered across instance groups)."""
    try:
        plan = make_plan({"ResourceConfig": resources or {}})
    except (WorkbenchError, KeyError, TypeError, ValueError):
        return {}
    return {h.name: {"Group": h.group, "InstanceType": h.instance_type} for h in plan.hosts}


def _workbench_section(record: dict, region: str, previous: dict | None) -> dict:
    name = record.get("TrainingJobName", "")
    section = {
        "Kind": KIND_SAGEMAKER,
        "Region": region,
        "ConsoleUrl": f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/jobs/{name}",
        "LogGroup": "/aws/sagemaker/TrainingJobs",
        "Hosts": _hosts(record.get("ResourceConfig") or {}),
        "Settings": {"StopGracePeriodSeconds": SAGEMAKER_STOP_GRACE},
        "Channels": {}, "Signals": [], "Notices": [],
        "NotAvailable": dict(NOT_AVAILABLE),
    }
    for key in ("Source", "SubmittedAt", "Imported"):
        if previous and key in previous:
            section[key] = previous[key]
    return section


def cloud_record(description: dict, region: str, previous: dict | None = None) -> dict:
    """describe.json of a cloud job: the description as it is, plus the Workbench section."""
    record = copy.deepcopy(description)
    record.pop("Workbench", None)
    record["Workbench"] = _workbench_section(record, region, (previous or {}).get("Workbench"))
    record["Workbench"]["RefreshedAt"] = iso(time.time())
    start = epoch(record.get("TrainingStartTime"))
    limit = (record.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    if start and limit and not is_final(record):  # SageMaker counts from training start
        record["Workbench"]["MaxRuntimeDeadline"] = iso(start + float(limit))
    return record


# --- events: the record's transitions as the events a local job records ---------------


def _primary(secondary: str) -> str:
    return "Stopping" if secondary == "Stopping" else "InProgress"


def events_of(record: dict) -> list[ev.Event]:
    """JobCreated, one StatusChanged per transition, JobFinished once it has ended."""
    created = epoch(record.get("CreationTime")) or 0.0
    out: list[ev.Event] = [ev.JobCreated(record.get("TrainingJobName", ""), record.get("TrainingJobArn", ""),
                                         tuple(((record.get("Workbench") or {}).get("Hosts") or {})),
                                         (record.get("Workbench") or {}).get("Source", ""), time=created)]
    transitions = record.get("SecondaryStatusTransitions") or []
    final = is_final(record)
    for index, transition in enumerate(transitions):
        status = transition.get("Status", "")
        last = index == len(transitions) - 1
        if final and last and status == record.get("SecondaryStatus"):
            continue  # JobFinished carries it
        primary = record.get("TrainingJobStatus", "") if status in _FINAL_SECONDARIES else _primary(status)
        out.append(ev.StatusChanged(primary, status, transition.get("StatusMessage", ""),
                                    time=epoch(transition.get("StartTime")) or created))
    if final:
        ended = epoch(record.get("TrainingEndTime")) or epoch(record.get("LastModifiedTime")) or created
        out.append(ev.JobFinished(record["TrainingJobStatus"], record.get("SecondaryStatus", ""),
                                  (record.get("FailureReason") or "")[:1024],
                                  (record.get("ModelArtifacts") or {}).get("S3ModelArtifacts", ""), time=ended))
    return out


def _event_key(event: ev.Event) -> tuple:
    return (event.kind, getattr(event, "secondary", ""), round(event.time, 3))


def _save(paths: JobPaths, record: dict) -> None:
    write_json_atomic(paths.describe, record)
    text = "".join(json.dumps(event.to_dict(), default=str) + "\n" for event in events_of(record))
    write_text_atomic(paths.events, text)


# --- refreshing ----------------------------------------------------------------------


def region_of(record: dict) -> str | None:
    return (record.get("Workbench") or {}).get("Region") or region_of_arn(record.get("TrainingJobArn", ""))


def refresh(paths: JobPaths, record: dict | None = None, *, max_age: float = 0.0, quiet: bool = False,
            quick: bool = False) -> dict:
    """The job's record, brought up to date from DescribeTrainingJob when it may have
    changed. `quiet`: a failure is noted in the record (Workbench.RefreshError) instead
    of raised, for background polls; `quick`: one attempt with short timeouts, for
    listings that must not hang when the network is down."""
    record = record if record is not None else load_record(paths)
    bench = record.get("Workbench") or {}
    refreshed = epoch(bench.get("RefreshedAt"))
    if is_final(record) and refreshed and not bench.get("RefreshError"):
        return record  # an ended job's description does not change any more
    if max_age and refreshed and time.time() - refreshed < max_age:
        return record
    region = region_of(record)
    try:
        description = describe_training_job(record["TrainingJobName"], region, quick=quick)
    except WorkbenchError as err:
        if not quiet:
            raise
        bench = record.setdefault("Workbench", {})
        bench["RefreshError"] = str(err)
        bench["RefreshedAt"] = iso(time.time())
        write_json_atomic(paths.describe, record)
        return record
    updated = cloud_record(description, region or "", record)
    _save(paths, updated)
    return updated


# --- submitting and importing --------------------------------------------------------


def submit(spec) -> dict:
    """CreateTrainingJob with the spec's request (its `Workbench:` section stripped); the
    job joins the history as a SageMaker job. The name is reserved locally first, so a
    clash is found before anything reaches AWS."""
    problems = errors(validate(spec.data, target="sagemaker"))
    if problems:
        raise SpecInvalid(problems, str(spec.source or "spec"))
    paths = create_job_dir(spec.name)
    try:
        if spec.settings.EntryPoint:  # script mode: the code goes up first, as the SDK does
            from workbench.cloud.client import sagemaker_client  # deferred: boto3
            from workbench.cloud.source import upload_source  # deferred: packing, only script mode

            upload_source(spec.data, sagemaker_client().meta.region_name)
        request = spec.request
        submitted = create_training_job(request)
    except BaseException:
        shutil.rmtree(paths.root, ignore_errors=True)
        raise
    write_spec_file(paths.spec, spec.data)
    record = new_record(request, submitted.arn, time.time())
    record["Workbench"] = _workbench_section(record, submitted.region, {
        "Source": str(spec.source or ""), "SubmittedAt": iso(time.time())})
    _save(paths, record)
    return refresh(paths, record, quiet=True)


def imported_folder(name: str, kind: str, spec: dict) -> tuple[JobPaths | None, dict, str]:
    """The history folder an imported job of this kind goes in: (its paths, the record
    already there, ""), or (None, {}, why not) when a job of another kind has the name."""
    paths = job_paths(name)
    if paths.describe.exists():
        previous = load_record(paths)
        if (previous.get("Workbench") or {}).get("Kind") != kind:
            return None, {}, f"a local job is also named {name}; the SageMaker job was not added to the job history"
        return paths, previous, ""
    try:
        paths = create_job_dir(name)
    except WorkbenchError as err:
        return None, {}, str(err)
    write_spec_file(paths.spec, spec)
    return paths, {}, ""


def register_imported(imported) -> tuple[dict | None, str]:
    """Put an imported job in the history (once); returns its record, or None and why not."""
    name = imported.name
    paths, previous, problem = imported_folder(name, KIND_SAGEMAKER, {"TrainingJobName": name, **imported.data})
    if paths is None:
        return None, problem
    region = region_of_arn(imported.description.get("TrainingJobArn", "")) or ""
    section = dict(previous.get("Workbench") or {}, Imported=iso(time.time()))
    record = cloud_record(imported.description, region, {"Workbench": section})
    _save(paths, record)
    return record, ""


# --- following -----------------------------------------------------------------------


def sleep_unless_stopped(seconds: float, stop: Callable[[], bool] | None) -> bool:
    """Sleep, waking early when `stop()` says so; True when it did."""
    deadline = time.monotonic() + seconds
    while True:
        if stop and stop():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(left, 0.1))


def _ended_recently(record: dict) -> bool:
    """CloudWatch may still be taking in a job's last lines for a little while after it ends."""
    ended = epoch(record.get("TrainingEndTime")) or epoch(record.get("LastModifiedTime"))
    return ended is None or time.time() - ended < LATE_LINES_WINDOW


def job_hosts(record: dict) -> list[str]:
    return sorted((record.get("Workbench") or {}).get("Hosts") or {}, key=natural_key)


def read_logs(paths: JobPaths, record: dict, host: str | None = None, follow: bool = False,
              poll: float = 0.0) -> Iterator[tuple[float, str, str]]:
    """(time, host, text) from CloudWatch, every host merged in time order; `follow` keeps
    polling until the job has ended (and once more, for the lines still on their way)."""
    hosts = job_hosts(record)
    if host is not None and hosts and host not in hosts:
        raise WorkbenchError(f"Job {record['TrainingJobName']} has no host {host!r}; its hosts: {', '.join(hosts)}")
    reader = JobLogReader(record["TrainingJobName"], host=host, region=region_of(record))
    yield from reader.poll()
    if follow and not is_final(record):
        record = refresh(paths, record)
    while follow:
        if is_final(record):
            if _ended_recently(record):
                sleep_unless_stopped(max(poll, LOG_POLL_INTERVAL), None)
                yield from reader.poll()
            return
        sleep_unless_stopped(max(poll, LOG_POLL_INTERVAL), None)
        yield from reader.poll()
        record = refresh(paths, record, max_age=REFRESH_INTERVAL, quiet=True)


def _log_events(lines: list[tuple[float, str, str]]) -> list[ev.LogLines]:
    by_host: dict[str, list[tuple[float, str]]] = {}
    for moment, host, text in lines:
        by_host.setdefault(host, []).append((moment, text))
    return [ev.LogLines(host, tuple(items), time=items[-1][0]) for host, items in by_host.items()]


def follow_events(paths: JobPaths, poll: float = 0.0, stop: Callable[[], bool] | None = None) -> Iterator[ev.Event]:
    """The job's events so far, then live: status changes from DescribeTrainingJob and log
    lines from CloudWatch, until the job has ended or `stop()` says so."""
    record = refresh(paths)
    seen: set[tuple] = set()

    def fresh(current: dict) -> list[ev.Event]:
        out = []
        for event in events_of(current):
            if isinstance(event, ev.JobFinished) or _event_key(event) in seen:
                continue
            seen.add(_event_key(event))
            out.append(event)
        return out

    yield from fresh(record)
    reader = JobLogReader(record["TrainingJobName"], region=region_of(record))
    metrics = CloudMetrics()
    yield from metrics.poll(record)
    last_refresh = time.monotonic()
    while True:
        yield from _log_events(reader.poll())
        if is_final(record):
            if _ended_recently(record) and not sleep_unless_stopped(max(poll, LOG_POLL_INTERVAL), stop):
                yield from _log_events(reader.poll())
            yield from metrics.poll(record)
            finished = [e for e in events_of(record) if isinstance(e, ev.JobFinished)]
            yield from finished
            return
        if sleep_unless_stopped(max(poll, LOG_POLL_INTERVAL), stop):
            return
        if time.monotonic() - last_refresh >= REFRESH_INTERVAL:
            record = refresh(paths, record, quiet=True)
            last_refresh = time.monotonic()
            yield from fresh(record)
            yield from metrics.poll(record)


# --- stopping ------------------------------------------------------------------------


def stop(paths: JobPaths, record: dict, *, kill: bool = False) -> dict:
    """StopTrainingJob: SageMaker sends SIGTERM, and SIGKILL 120 s later."""
    name = record["TrainingJobName"]
    record = refresh(paths, record)
    if is_final(record):
        raise JobStateError(f"Job {name} has already ended ({record['TrainingJobStatus']}); nothing to stop")
    if kill:
        raise JobStateError(f"SageMaker cannot kill {name} at once: StopTrainingJob sends SIGTERM, then SIGKILL "
                            f"{SAGEMAKER_STOP_GRACE} s later; run `sm-workbench stop {name}` without --kill")
    if record.get("TrainingJobStatus") == "Stopping":
        return record
    stop_training_job(name, region_of(record))
    return refresh(paths, record, quiet=True)


# --- metrics -------------------------------------------------------------------------


def metric_names(record: dict) -> list[str]:
    """The job's metrics: its MetricDefinitions' names, then any other FinalMetricDataList has."""
    defined = [d.get("Name") for d in (record.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
               if isinstance(d, dict) and d.get("Name")]
    final = [m.get("MetricName") for m in record.get("FinalMetricDataList") or [] if m.get("MetricName")]
    return list(dict.fromkeys(defined + final))


class CloudMetrics:
    """A cloud job's metric values as MetricSamples events (host "": CloudWatch does not
    say), each point once: CloudWatch's per-minute series where it answers; once the job
    has ended, FinalMetricDataList's value for any metric CloudWatch had nothing for, or
    for every metric when CloudWatch cannot be read (a Notice says why, once)."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}  # metric -> time of the last point handed out
        self.failed = ""

    def poll(self, record: dict) -> list[ev.Event]:
        names = metric_names(record)
        created = epoch(record.get("CreationTime"))
        if not names or not created:
            return []
        final = is_final(record)
        ended = epoch(record.get("TrainingEndTime")) or epoch(record.get("LastModifiedTime")) or time.time()
        out: list[ev.Event] = []
        series: dict[str, list[tuple[float, float]]] = {}
        if not self.failed:
            try:
                series = metric_series(record["TrainingJobName"], names, created, ended if final else time.time(),
                                       region_of(record))
            except CloudError as err:
                self.failed = str(err)
                out.append(ev.Notice("warning", f"{err}; showing the final metric values only"))
        settled = time.time() - PERIOD  # a minute still being averaged may change: not yet
        points: list[tuple[float, str, float]] = []
        for name, values in series.items():
            for moment, value in values:
                if moment > self.last.get(name, -1.0) and (final or moment <= settled):
                    points.append((moment, name, value))
                    self.last[name] = moment
        if final:
            for entry in record.get("FinalMetricDataList") or []:
                name, moment = entry.get("MetricName"), epoch(entry.get("Timestamp"))
                known = name in self.last or moment is None or not isinstance(entry.get("Value"), (int, float))
                if name and not known:
                    points.append((moment, name, float(entry["Value"])))
                    self.last[name] = moment
        if points:
            points.sort()
            out.append(ev.MetricSamples("", tuple(points), time=points[-1][0]))
        return out


def metric_samples(paths: JobPaths, record: dict, follow: bool,
                   stop: Callable[[], bool] | None) -> Iterator[ev.Event]:
    """The job's metric values (see CloudMetrics); `follow` polls until the job has ended."""
    metrics = CloudMetrics()
    record = refresh(paths, record) if follow or not is_final(record) else record
    while True:
        yield from metrics.poll(record)
        if not follow or is_final(record) or sleep_unless_stopped(REFRESH_INTERVAL, stop):
            return
        record = refresh(paths, record, quiet=True)


def write_imported(imported, output: Path | str, *, force: bool = False) -> None:
    """The imported spec to a file; an existing file is kept unless `force`."""
    output = Path(output)
    if output.exists() and not force:
        raise WorkbenchError(f"{output} already exists; give another file (-o) or overwrite it with --force")
    write_text_atomic(output, imported.text(), user_file=True)


class CloudJobs(JobKind):
    """SageMaker runs the job: nothing here is ever taken over or cleaned up like a local
    job; the record is refreshed from DescribeTrainingJob and the logs come from CloudWatch."""

    name = KIND_SAGEMAKER

    def current(self, paths: JobPaths, record: dict) -> dict:
        return refresh(paths, record, max_age=REFRESH_INTERVAL, quiet=True)

    def listed(self, paths: JobPaths, record: dict) -> dict:
        return refresh(paths, record, quiet=True, quick=True, max_age=REFRESH_INTERVAL)

    def describe(self, paths: JobPaths, record: dict) -> dict:
        return refresh(paths, record)  # asked for: AWS errors are raised

    def hosts(self, paths: JobPaths, record: dict) -> list[str]:
        return job_hosts(record)

    def read_logs(self, paths: JobPaths, record: dict, host: str | None, follow: bool,
                  poll: float) -> Iterator[tuple[float, str, str]]:
        return read_logs(paths, record, host=host, follow=follow, poll=poll)

    def follow_events(self, paths: JobPaths, record: dict, poll: float, stop: Callable[[], bool] | None,
                      logs: bool) -> Iterator[ev.Event]:
        return follow_events(paths, poll=poll, stop=stop)

    def stop(self, paths: JobPaths, record: dict, kill: bool) -> dict:
        return stop(paths, record, kill=kill)

    def interrupt(self, paths: JobPaths, record: dict) -> dict:
        raise JobStateError(f"Job {paths.name} runs on SageMaker, where a spot interruption cannot be caused; "
                            "rerun it here (`sm-workbench rerun`) to practise one")

    def metric_samples(self, paths: JobPaths, record: dict, follow: bool,
                       stop: Callable[[], bool] | None) -> Iterator[ev.Event]:
        return metric_samples(paths, record, follow, stop)

    def remove(self, paths: JobPaths, record: dict) -> None:
        record = self.current(paths, record)
        if not is_final(record):
            raise JobStateError(f"Job {paths.name} is still {record['TrainingJobStatus']}; stop it first "
                                f"(`sm-workbench stop {paths.name}`)")
        remove_job_files(paths)  # the job's outputs in S3 and its CloudWatch logs stay
