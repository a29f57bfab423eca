"""Helpers for tuning integration tests: a tuning spec on the synthetic objective image
(tests/images/objective), running it, and reading its trials' own records."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.jobs import unique

OBJECTIVE_IMAGE = "smw-test/objective:latest"
METRIC = "objective"


def tuning_spec(tmp_path: Path, *, strategy: str = "Random", ranges: dict | None = None, max_jobs: int | None = 4,
                parallel: int = 2, local: int = 2, static: dict | None = None, config: dict | None = None,
                limits: dict | None = None, maximize: bool = True, name: str | None = None, **extra) -> dict:
    """A CreateHyperParameterTuningJob spec whose trials run the objective image briefly
    (2 epochs of 0.05 s unless `static` says otherwise)."""
    ranges = ranges if ranges is not None else {
        "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}
    job_config: dict = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": "Maximize" if maximize else "Minimize", "MetricName": METRIC},
        "ResourceLimits": {**({"MaxNumberOfTrainingJobs": max_jobs} if max_jobs else {}),
                           "MaxParallelTrainingJobs": parallel, **(limits or {})},
        "ParameterRanges": ranges,
    }
    if strategy != "Hyperband":
        job_config["TrainingJobEarlyStoppingType"] = "Off"
    job_config.update(config or {})
    spec = {
        "HyperParameterTuningJobName": name or unique("tune")[:20],
        "HyperParameterTuningJobConfig": job_config,
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": OBJECTIVE_IMAGE, "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": METRIC, "Regex": r"objective=([-0-9.eE]+)"}]},
            "StaticHyperParameters": {"epochs": "2", "epoch_seconds": "0.05", **(static or {})},
            "RoleArn": "arn:aws:iam::000000000000:role/workbench",
            "OutputDataConfig": {"S3OutputPath": str(tmp_path / "output")},
            "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        },
        "Workbench": {"StopGracePeriodSeconds": 2, "MaxLocalParallelTrainingJobs": local, "PollSeconds": 0.2},
    }
    spec.update(extra)
    return spec


def tune(spec: dict, tmp_path: Path, *, detach: bool = False):
    """Check and start the spec through the public API; (job, final record) when run here."""
    from workbench.engine import api
    from workbench.spec.tuning import check_tuning_spec

    job = api.tune(check_tuning_spec(spec, source="tuning.yaml", base_dir=tmp_path), detach=detach)
    if detach:
        return job, None
    return job, job.run()


def describe(name: str) -> dict:
    from workbench.engine import api

    return api.describe_job(name)


def wait_final(name: str, timeout: float = 120.0) -> dict:
    """The tuning job's record once it has ended (each read takes over a dead tuner's job)."""
    from workbench.engine import api

    return api.wait_for_job(name, timeout=timeout, poll=0.2)


def summaries(record: dict) -> list[dict]:
    return list((record.get("Workbench") or {}).get("TrainingJobSummaries") or [])


def trial_record(name: str) -> dict:
    from workbench.engine.store import job_paths, load_record

    return load_record(job_paths(name))


def trial_hyperparameters(name: str) -> dict:
    """The hyperparameters.json the trial's container read, as its training spec wrote it."""
    from workbench.engine.store import job_paths

    return json.loads((job_paths(name).opt_ml("algo-1") / "input" / "config" / "hyperparameters.json").read_text())


def tuned(record: dict, key: str) -> list[str]:
    return [s["TunedHyperParameters"][key] for s in summaries(record)]


def objective(summary: dict) -> float | None:
    from workbench.engine.tuning.records import objective_value

    return objective_value(summary)
