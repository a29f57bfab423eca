"""The tuning commands on real, small tuning jobs (smw-test/objective, 2 training jobs of 2
short epochs): `tune` attached and detached, `describe` (and --trials), `jobs` with the
training jobs under their tuning job, `stop`, `rm`, and Ctrl-C while attached. The tuner's
own behaviour (strategies, early stopping, limits, takeover) is tested elsewhere
(tests/integration/test_tuning*.py of the tuner)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest

from tests.integration.jobs import wait_for
from workbench.cli import main
from workbench.engine import api
from workbench.engine.store import job_paths

SPEC = """\
HyperParameterTuningJobConfig:
  Strategy: Random
  RandomSeed: 7
  HyperParameterTuningJobObjective: {Type: Maximize, MetricName: objective}
  ResourceLimits: {MaxNumberOfTrainingJobs: 2, MaxParallelTrainingJobs: 2}
  ParameterRanges:
    ContinuousParameterRanges:
      - {Name: x, MinValue: "0", MaxValue: "1"}
TrainingJobDefinition:
  AlgorithmSpecification:
    TrainingImage: smw-test/objective:latest
    TrainingInputMode: File
    MetricDefinitions:
      - {Name: objective, Regex: "objective=([0-9.eE+-]+)"}
  StaticHyperParameters: {epochs: 2, epoch_seconds: 0.1}
  RoleArn: arn:aws:iam::123456789012:role/SageMakerRole
  OutputDataConfig: {S3OutputPath: out/}
  ResourceConfig: {InstanceType: ml.m5.large, InstanceCount: 1}
  StoppingCondition: {MaxRuntimeInSeconds: 600}
Workbench:
  StopGracePeriodSeconds: 2
  MaxLocalParallelTrainingJobs: 2
"""
SLOW = ["--set", "TrainingJobDefinition.StaticHyperParameters.epoch_seconds=60"]  # still running when stopped


@pytest.fixture
def spec(tmp_path, images) -> str:
    path = tmp_path / "tuning.yaml"
    path.write_text(SPEC)
    return str(path)


def unique() -> str:
    return f"tcli-{uuid.uuid4().hex[:8]}"


def both_training(name: str) -> list[str]:
    """The names of the tuning job's training jobs once both are training."""
    trials = api.tuning_trials(name)
    names = [t["TrainingJobName"] for t in trials]
    if len(names) == 2 and all(api.describe_job(n).get("SecondaryStatus") == "Training" for n in names):
        return names
    return []


def test_tune_detached_then_describe_jobs_and_rm(spec, capsys):
    name = unique()
    assert main(["tune", spec, "--detach", "--name", name]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == name
    assert f"sm-workbench stop {name}" in out.err
    record = api.wait_for_job(name, timeout=120)
    assert record["HyperParameterTuningJobStatus"] == "Completed"

    assert main(["describe", name]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 2
    best = described["BestTrainingJob"]["TrainingJobName"]

    assert main(["describe", name, "--trials", "--sort-by", "FinalObjectiveMetricValue",
                 "--sort-order", "Descending"]) == 0
    trials = json.loads(capsys.readouterr().out)["TrainingJobSummaries"]
    assert [t["TrainingJobName"] for t in trials][0] == best
    names = sorted(t["TrainingJobName"] for t in trials)
    assert all(n.startswith(f"{name}-00") and len(n) == len(name) + 13 for n in names)

    assert main(["metrics", name]) == 2  # not "no definition matched its output"
    assert f"{name} is a tuning job: each of its training jobs has its metrics" in capsys.readouterr().err
    assert main(["metrics", names[0]]) == 0

    capsys.readouterr()
    assert main(["jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
    assert "local tuning" in lines[row]
    assert [line.split()[0] for line in lines[row + 1:row + 3]] == names
    assert all(line.startswith("  ") for line in lines[row + 1:row + 3])
    assert sum(line.split()[0] in names for line in lines) == 2  # each listed once, under its tuning job

    assert main(["rm", name]) == 0
    assert capsys.readouterr().out.strip() == f"removed {name} and its 2 training jobs"
    assert not any(job_paths(n).root.exists() for n in [name, *names])


def test_tune_attached_shows_its_training_jobs_and_ends_with_the_best(spec, capsys):
    name = unique()
    assert main(["tune", spec, "--name", name, "--set", "HyperParameterTuningJobConfig.RandomSeed=3"]) == 0
    out = capsys.readouterr()
    record = api.describe_job(name)
    best = record["BestTrainingJob"]["TrainingJobName"]
    # Each training job's changes as lines (not a terminal), then the whole table.
    for trial in api.tuning_trials(name):
        assert f"{trial['TrainingJobName']}  Completed  x=" in out.out
    table = out.out.split("\n\n")[-1].splitlines()
    assert table[0].split()[:4] == ["TRAINING", "JOB", "STATUS", "x"]
    assert next(line for line in table if line.startswith("*")).split()[1] == best
    assert "Tuning job: " + name in out.err
    assert f"Best:       {best}: objective = " in out.err
    assert "Trials:     2 Completed; objective: 2 Succeeded" in out.err


def test_stop_stops_the_tuning_job_and_its_training_jobs_and_rm_waits_for_it(spec, capsys):
    name = unique()
    assert main(["tune", spec, "--detach", "--name", name, *SLOW]) == 0
    trials = wait_for(lambda: both_training(name), timeout=120, what="both training jobs to train")
    capsys.readouterr()
    assert main(["rm", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stop it first" in err[0]

    assert main(["stop", name]) == 0  # stopped as asked
    err = capsys.readouterr().err
    assert f"Stopping tuning job {name} and its running training jobs" in err
    assert "Status:     Stopped" in err
    assert api.describe_job(name)["TrainingJobStatusCounters"]["Stopped"] == 2
    assert {api.describe_job(t)["TrainingJobStatus"] for t in trials} == {"Stopped"}
    assert main(["rm", name]) == 0


def test_ctrl_c_while_attached_stops_the_tuning_job(spec, state_home):
    """As `run` does: SIGTERM to its training jobs, their grace, then Stopped (exit 3)."""
    name = unique()
    process = subprocess.Popen([sys.executable, "-m", "workbench", "tune", spec, "--name", name, *SLOW],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "SM_WORKBENCH_HOME": str(state_home)})
    try:
        wait_for(lambda: job_paths(name).describe.exists() and both_training(name), timeout=120,
                 what="both training jobs to train")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, err
    assert "Ctrl-C: stopping" in err and "Traceback" not in err
    assert api.describe_job(name)["HyperParameterTuningJobStatus"] == "Stopped"


def test_tune_refuses_a_bad_spec_in_one_line_per_problem(tmp_path, capsys):
    path = tmp_path / "tuning.yaml"
    path.write_text(SPEC.replace("MetricName: objective", "MetricName: accuracy"))
    assert main(["tune", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName: 'accuracy'" in err[0]
    training = tmp_path / "job.yaml"
    training.write_text("TrainingJobName: t\nAlgorithmSpecification: {TrainingImage: x, TrainingInputMode: File}\n")
    assert main(["tune", str(training)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a tuning spec" in err[0] and "sm-workbench run" in err[0]
    assert main(["validate", str(path)]) == 2
    assert "MetricName: 'accuracy'" in capsys.readouterr().err
    assert api.list_jobs() == []  # nothing was created
