"""Tuning jobs SageMaker runs: submitted from a tuning spec, followed and imported.

The record is DescribeHyperParameterTuningJob as SageMaker returns it, with the trials
(ListTrainingJobsForHyperParameterTuningJob) in `Workbench.TrainingJobSummaries`, where
a local tuning job keeps them, so listings and the monitor read both kinds alike.
"""

from __future__ import annotations

import shutil
import time
from typing import Callable, Iterator

from workbench.engine import events as ev
from workbench.engine.cloud_jobs import imported_folder, sleep_unless_stopped
from workbench.engine.kinds import JobKind
from workbench.engine.record import KIND_SAGEMAKER_TUNING, is_final
from workbench.engine.store import JobPaths, create_job_dir, load_record, remove_job_files
from workbench.engine.times import epoch, iso
from workbench.errors import JobStateError, SpecInvalid, WorkbenchError
from workbench.fileio import write_json_atomic
from workbench.spec import write_spec_file

REFRESH_INTERVAL = 30.0  # seconds between DescribeHyperParameterTuningJob calls when followed
STATUS = "HyperParameterTuningJobStatus"


def _region(record: dict) -> str | None:
    bench = record.get("Workbench") or {}
    arn = str(record.get("HyperParameterTuningJobArn") or "")
    return bench.get("Region") or (arn.split(":")[3] if arn.count(":") >= 5 else None)


def cloud_tuning_record(description: dict, trials: list[dict], region: str, previous: dict | None = None) -> dict:
    record = dict(description)
    bench = dict((previous or {}).get("Workbench") or {})
    bench.update({"Kind": KIND_SAGEMAKER_TUNING, "Region": region, "RefreshedAt": iso(time.time()),
                  "TrainingJobSummaries": trials})
    bench.pop("RefreshError", None)
    record["Workbench"] = bench
    return record


def events_of(record: dict) -> list[ev.Event]:
    """What a follower of the job sees: its status, and its end once it has ended."""
    created = epoch(record.get("CreationTime")) or 0.0
    out: list[ev.Event] = [ev.StatusChanged(record.get(STATUS, ""), record.get(STATUS, ""), "", time=created)]
    if is_final(record):
        ended = epoch(record.get("HyperParameterTuningEndTime")) or epoch(record.get("LastModifiedTime")) or created
        out.append(ev.JobFinished(record[STATUS], record[STATUS], (record.get("FailureReason") or "")[:1024], "",
                                  time=ended))
    return out


def _save(paths: JobPaths, record: dict) -> None:
    import json

    from workbench.fileio import write_text_atomic

    write_json_atomic(paths.describe, record)
    write_text_atomic(paths.events, "".join(json.dumps(e.to_dict(), default=str) + "\n" for e in events_of(record)))


def refresh(paths: JobPaths, record: dict | None = None, *, max_age: float = 0.0, quiet: bool = False,
            quick: bool = False) -> dict:
    """The record brought up to date from SageMaker when it may have changed; `quiet`
    notes a failure in Workbench.RefreshError instead of raising it (background polls)."""
    from workbench.cloud.tuning import describe_tuning_job, list_tuning_trials  # deferred: boto3

    record = record if record is not None else load_record(paths)
    bench = record.get("Workbench") or {}
    refreshed = epoch(bench.get("RefreshedAt"))
    if is_final(record) and refreshed and not bench.get("RefreshError"):
        return record
    if max_age and refreshed and time.time() - refreshed < max_age:
        return record
    region = _region(record)
    name = record["HyperParameterTuningJobName"]
    try:
        description = describe_tuning_job(name, region, quick=quick)
        trials = list_tuning_trials(name, region, quick=quick)
    except WorkbenchError as err:
        if not quiet:
            raise
        bench = record.setdefault("Workbench", {})
        bench["RefreshError"] = str(err)
        bench["RefreshedAt"] = iso(time.time())
        write_json_atomic(paths.describe, record)
        return record
    updated = cloud_tuning_record(description, trials, region or "", record)
    _save(paths, updated)
    return updated


def submit(spec) -> dict:
    """CreateHyperParameterTuningJob with the spec's request (`Workbench:` stripped); the
    name is reserved locally first, so a clash is found before anything reaches AWS."""
    from workbench.cloud.tuning import create_tuning_job  # deferred: boto3
    from workbench.spec.tuning import validate_tuning

    problems = [p for p in validate_tuning(spec.data, target="sagemaker") if p.severity == "error"]
    if problems:
        raise SpecInvalid(problems, str(spec.source or "spec"))
    paths = create_job_dir(spec.name)
    try:
        submitted = create_tuning_job(spec.request)
    except BaseException:
        shutil.rmtree(paths.root, ignore_errors=True)
        raise
    write_spec_file(paths.spec, spec.data)
    record = {"HyperParameterTuningJobName": spec.name, "HyperParameterTuningJobArn": submitted.arn,
              STATUS: "InProgress", "CreationTime": iso(time.time()),
              "Workbench": {"Kind": KIND_SAGEMAKER_TUNING, "Region": submitted.region,
                            "Source": str(spec.source or ""), "SubmittedAt": iso(time.time()),
                            "TrainingJobSummaries": []}}
    _save(paths, record)
    return refresh(paths, record, quiet=True)


def register_imported(imported) -> tuple[dict | None, str]:
    """Put an imported tuning job in the history (once); returns its record, or None and why not."""
    from workbench.cloud.tuning import list_tuning_trials  # deferred: boto3

    name = imported.name
    paths, previous, problem = imported_folder(name, KIND_SAGEMAKER_TUNING,
                                               {"HyperParameterTuningJobName": name, **imported.data})
    if paths is None:
        return None, problem
    region = _region(imported.description) or ""
    trials = list_tuning_trials(name, region or None)
    section = dict(previous.get("Workbench") or {}, Imported=iso(time.time()))
    record = cloud_tuning_record(imported.description, trials, region, {"Workbench": section})
    _save(paths, record)
    return record, ""


class CloudTuningJobs(JobKind):
    """SageMaker runs the tuning job: its record is refreshed from the API, nothing is
    taken over, and it has no logs of its own (its training jobs have)."""

    name = KIND_SAGEMAKER_TUNING

    def current(self, paths: JobPaths, record: dict) -> dict:
        return refresh(paths, record, max_age=REFRESH_INTERVAL, quiet=True)

    def listed(self, paths: JobPaths, record: dict) -> dict:
        return refresh(paths, record, quiet=True, quick=True, max_age=REFRESH_INTERVAL)

    def describe(self, paths: JobPaths, record: dict) -> dict:
        return refresh(paths, record)

    def hosts(self, paths: JobPaths, record: dict) -> list[str]:
        return []

    def read_logs(self, paths: JobPaths, record: dict, host: str | None, follow: bool,
                  poll: float) -> Iterator[tuple[float, str, str]]:
        raise JobStateError(f"{paths.name} is a tuning job: its training jobs have the logs "
                            f"(`sm-workbench describe {paths.name}` lists them)")

    def follow_events(self, paths: JobPaths, record: dict, poll: float, stop: Callable[[], bool] | None,
                      logs: bool) -> Iterator[ev.Event]:
        seen: set = set()
        while True:
            record = refresh(paths, record, quiet=True)
            for event in events_of(record):
                key = (event.kind, getattr(event, "secondary", ""))
                if key not in seen:
                    seen.add(key)
                    yield event
            if is_final(record) or sleep_unless_stopped(poll or REFRESH_INTERVAL, stop):
                return

    def stop(self, paths: JobPaths, record: dict, kill: bool) -> dict:
        from workbench.cloud.tuning import stop_tuning_job  # deferred: boto3

        name = record["HyperParameterTuningJobName"]
        record = refresh(paths, record)
        if is_final(record):
            raise JobStateError(f"Tuning job {name} has already ended ({record[STATUS]}); nothing to stop")
        if kill:
            raise JobStateError(f"SageMaker cannot kill the training jobs of {name} at once; run "
                                f"`sm-workbench stop {name}` without --kill")
        if record.get(STATUS) != "Stopping":
            stop_tuning_job(name, _region(record))
        return refresh(paths, record, quiet=True)

    def interrupt(self, paths: JobPaths, record: dict) -> dict:
        raise JobStateError(f"{paths.name} is a tuning job on SageMaker; a spot interruption cannot be caused there")

    def remove(self, paths: JobPaths, record: dict) -> None:
        record = self.current(paths, record)
        if not is_final(record):
            raise JobStateError(f"Tuning job {paths.name} is still {record.get(STATUS)}; stop it first "
                                f"(`sm-workbench stop {paths.name}`)")
        remove_job_files(paths)
