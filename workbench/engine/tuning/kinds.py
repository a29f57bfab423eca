"""Tuning jobs as a kind of job of the history (`api.KINDS`), and launching one.

A tuning job has a folder like any job: spec.yaml (the resolved tuning spec),
describe.json (DescribeHyperParameterTuningJob-shaped, `Workbench.Kind` "tuning"),
events.jsonl, owner.json and control/. Its trials are ordinary local training jobs in
folders of their own, named `<tuning job>-NNN-xxxxxxxx`, whose records carry its
TuningJobArn. One process runs the tuner (a detached worker, or a foreground caller);
a dead one is taken over as a local job's runner is (`local_jobs.take_over`); stopping
the tuning job stops its running trials; removing it removes its trials.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.docker_client import connect, require_image
from workbench.engine.kinds import JobKind
from workbench.engine.local_jobs import LocalJobs, spawn_worker, take_over
from workbench.engine.record import KIND_SAGEMAKER_TUNING, KIND_TUNING, is_final, record_kind, record_status
from workbench.engine.store import EventTail, JobPaths, create_job_dir, existing_job, job_paths, load_record, \
    remove_job_files
from workbench.engine.tuning.records import best_of, new_tuning_record, objective_of, objective_value, trial_names, \
    tuning_arn
from workbench.errors import JobNotFound, JobStateError, RecordDamaged, WorkbenchError
from workbench.fileio import write_json_atomic
from workbench.spec import WorkbenchSettings, write_spec_file
from workbench.spec.tuning import TuningSpec


@dataclass
class TuningJob:
    """A tuning job started by this process."""

    name: str
    paths: JobPaths
    tuner: object | None = None  # Tuner when it runs here
    pid: int | None = None  # the worker's, when detached

    def run(self) -> dict:
        if self.tuner is None:
            raise JobStateError(f"Tuning job {self.name} runs in a worker process (pid {self.pid}); follow it instead")
        return self.tuner.run()

    def stop(self, kill: bool = False) -> None:
        control.request(self.paths, "kill" if kill else "stop")


def _warm_start(spec: TuningSpec) -> dict:
    """The parents' results a warm start seeds the tuner with, checked as the API checks
    them: tuning jobs of the history that have ended, with the same objective metric."""
    config = spec.data.get("WarmStartConfig")
    if not isinstance(config, dict):
        return {}
    metric = spec.definitions[0].metric if spec.definitions else ""
    seeds, parents, bests = [], [], []
    maximize = spec.definitions[0].maximize if spec.definitions else True
    for parent in config.get("ParentHyperParameterTuningJobs") or []:
        name = (parent or {}).get("HyperParameterTuningJobName", "")
        try:
            record = load_record(existing_job(name))
        except JobNotFound:
            raise WorkbenchError(f"WarmStartConfig: no tuning job named {name!r} in the history; give the parent's "
                                 "name (`sm-workbench jobs` lists tuning jobs), or `sm-workbench import` it first") from None
        if record_kind(record) not in (KIND_TUNING, KIND_SAGEMAKER_TUNING):
            raise WorkbenchError(f"WarmStartConfig: {name} is not a tuning job; a warm start's parents are tuning jobs")
        if not is_final(record):
            raise WorkbenchError(f"WarmStartConfig: the parent {name} is still {record_status(record)}; a parent must "
                                 "have ended (Completed, Stopped or Failed)")
        if objective_of(record).get("MetricName") != metric:
            raise WorkbenchError(f"WarmStartConfig: the parent {name} optimised {objective_of(record).get('MetricName')!r},"
                                 f" not {metric!r}; a warm start keeps the objective metric")
        parents.append(name)
        summaries = (record.get("Workbench") or {}).get("TrainingJobSummaries") or []
        for summary in summaries:
            value = objective_value(summary)
            if value is not None:
                seeds.append({"TrainingJobName": summary.get("TrainingJobName"), "Value": value,
                              "Definition": summary.get("TrainingJobDefinitionName", ""),
                              "TunedHyperParameters": summary.get("TunedHyperParameters") or {}})
        best = record.get("BestTrainingJob")
        if best:
            bests.append(best)
    out: dict = {"Parents": parents, "Type": config.get("WarmStartType"), "Seeds": seeds}
    if config.get("WarmStartType") == "IdenticalDataAndAlgorithm" and bests:
        out["ParentBest"] = best_of(bests, maximize)
    return out


def _preflight(spec: TuningSpec) -> None:
    """Fail before anything is created: no engine, or an image a trial needs is missing."""
    client = connect()
    if WorkbenchSettings.from_spec({"Workbench": spec.training_settings}).Build:
        return  # each trial builds it (the layer cache makes every build after the first free)
    for item in spec.definitions:
        require_image(client, str((item.data.get("AlgorithmSpecification") or {}).get("TrainingImage", "")))


def launch_tuning(spec: TuningSpec, *, detach: bool = True, clock: Callable[[], float] | None = None,
                  sleep: Callable[[float], None] | None = None) -> TuningJob:
    """Create the tuning job (its name is reserved now) and start its tuner in a worker
    (`detach`), or here (`.run()`)."""
    from workbench.engine.tuning.tuner import Tuner  # deferred: the tuner (and Optuna) only where it runs

    _preflight(spec)
    warm = _warm_start(spec)
    paths = create_job_dir(spec.name)
    control.claim(paths, role="launcher")
    write_spec_file(paths.spec, spec.data)
    training = WorkbenchSettings.from_spec({"Workbench": spec.training_settings})
    settings = {**training.to_dict(), **spec.settings.to_dict(), "LocalParallelism": spec.settings.local_parallelism}
    settings.pop("TuningJob", None)
    created = clock() if clock else time.time()
    record = new_tuning_record(spec.request, tuning_arn(str(training.Region), str(training.AccountId), spec.name),
                               created, settings, str(spec.source or ""))
    if warm:
        record["Workbench"]["WarmStart"] = warm
        if warm.get("ParentBest"):
            record["Workbench"]["ParentBest"] = warm["ParentBest"]
    write_json_atomic(paths.describe, record)
    if detach:
        process = spawn_worker("tune", paths)
        control.claim(paths, process.pid, role="worker")
        return TuningJob(spec.name, paths, pid=process.pid)
    control.claim(paths, role="foreground")
    tuner = Tuner(paths, **({"clock": clock} if clock else {}), **({"sleep": sleep} if sleep else {}))
    return TuningJob(spec.name, paths, tuner=tuner)


def reconcile_tuning(paths: JobPaths, record: dict | None = None) -> dict:
    """A tuning job's record, after making sure one whose tuner died is taken over."""
    record = load_record(paths) if record is None else record
    if record_kind(record) != KIND_TUNING or is_final(record) or control.owner_alive(paths):
        return record
    # As `local_jobs.reconcile`: `record` may be an older read, and a tuner writes the final
    # record and then exits. Only a tuning job still unfinished on disk is taken over.
    record = load_record(paths)
    if is_final(record):
        return record
    return take_over(paths, record, "adopt-tuning")


def trial_records(record: dict) -> list[tuple[str, JobPaths, dict | None]]:
    """(name, paths, record or None when it has none) of each trial whose folder exists."""
    out = []
    for name in trial_names(record):
        paths = job_paths(name)
        if not paths.root.exists():
            continue
        try:
            out.append((name, paths, load_record(paths)))
        except (JobNotFound, RecordDamaged):
            out.append((name, paths, None))
    return out


class TuningJobs(JobKind):
    """Tuning jobs run here: a tuner process of ours, its trials local training jobs."""

    name = KIND_TUNING

    def current(self, paths: JobPaths, record: dict) -> dict:
        return reconcile_tuning(paths, record)

    def hosts(self, paths: JobPaths, record: dict) -> list[str]:
        return []

    def read_logs(self, paths: JobPaths, record: dict, host: str | None, follow: bool,
                  poll: float) -> Iterator[tuple[float, str, str]]:
        names = trial_names(record)
        example = f"`sm-workbench logs {names[0]}`" if names else "`sm-workbench logs TRAINING-JOB`"
        raise JobStateError(f"{paths.name} is a tuning job: its training jobs have the logs ({example}; "
                            "`sm-workbench jobs` lists them under it)")

    def follow_events(self, paths: JobPaths, record: dict, poll: float, stop: Callable[[], bool] | None,
                      logs: bool) -> Iterator[ev.Event]:
        """The tuning job's stored events (proposals, trial updates, early stops, its end), then live."""
        tail = EventTail(paths)
        try:
            while True:
                batch = tail.read()
                yield from batch
                if any(isinstance(e, ev.JobFinished) for e in batch) or (stop and stop()):
                    return
                if not batch:
                    if is_final(self.current(paths, load_record(paths))):
                        yield from tail.read()
                        return
                    time.sleep(poll)
        finally:
            tail.close()

    def stop(self, paths: JobPaths, record: dict, kill: bool) -> dict:
        """StopHyperParameterTuningJob: the tuner stops every running trial (SIGTERM, each
        trial's grace, SIGKILL; `kill`: SIGKILL at once), then ends Stopped."""
        record = self.current(paths, record)
        if is_final(record):
            raise JobStateError(f"Tuning job {paths.name} has already ended ({record_status(record)}); nothing to stop")
        control.request(paths, "kill" if kill else "stop")
        return record

    def interrupt(self, paths: JobPaths, record: dict) -> dict:
        raise JobStateError(f"{paths.name} is a tuning job; interrupt one of its training jobs instead (they are "
                            "listed under it by `sm-workbench jobs`)")

    def remove(self, paths: JobPaths, record: dict) -> None:
        """The tuning job's folder and its trials' (each must have ended)."""
        record = self.current(paths, record)
        if not is_final(record):
            raise JobStateError(f"Tuning job {paths.name} is still {record_status(record)}; stop it first "
                                f"(`sm-workbench stop {paths.name}`, which stops its training jobs too)")
        local = LocalJobs()
        for name, trial_paths, trial in trial_records(record):
            if trial is None:
                remove_job_files(trial_paths)
            else:
                local.remove(trial_paths, trial)
        remove_job_files(paths)
