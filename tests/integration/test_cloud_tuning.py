"""Tuning jobs on SageMaker: `submit` sends exactly the CreateHyperParameterTuningJob request
(`Workbench:` stripped), `describe`, `stop` and `jobs` follow it as a `sagemaker-tuning`
job of the history, and `import` brings one home as a spec that submits the same request.

moto has no tuning jobs: botocore's Stubber answers on the SageMaker client the code uses,
shaped as SageMaker answers (botocore checks requests and answers against the API model);
the endpoint is still moto's server, so nothing reaches AWS."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta

import pytest
import yaml
from botocore.stub import ANY

from tests.integration.cloud_helpers import ROLE, T0, aws, stubbed_sagemaker  # noqa: F401 (fixtures)
from workbench.cli import main
from workbench.cloud.tuning import spec_from_tuning_description
from workbench.engine import api
from workbench.engine.store import job_paths
from workbench.engine.tuning import cloud as tuning_cloud
from workbench.spec import read_spec_file
from workbench.spec.tuning import load_tuning_spec

pytestmark = pytest.mark.s3
ACCOUNT = ROLE.split(":")[4]
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/objective:1"


@pytest.fixture(autouse=True)
def _endpoint(aws):
    """Every test talks to moto's server, with fresh clients."""


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    """Refresh on every look, as a follower would after its interval."""
    monkeypatch.setattr(tuning_cloud, "REFRESH_INTERVAL", 0.0)


def unique() -> str:
    return f"tj-{uuid.uuid4().hex[:10]}"


SPEC = f"""\
HyperParameterTuningJobConfig:
  Strategy: Bayesian
  HyperParameterTuningJobObjective: {{Type: Maximize, MetricName: "validation:objective"}}
  ResourceLimits: {{MaxNumberOfTrainingJobs: 4, MaxParallelTrainingJobs: 2}}
  TrainingJobEarlyStoppingType: Auto
  ParameterRanges:
    ContinuousParameterRanges:
      - {{Name: x, MinValue: "0", MaxValue: "1", ScalingType: Linear}}
    CategoricalParameterRanges:
      - {{Name: kind, Values: [a, b]}}
TrainingJobDefinition:
  AlgorithmSpecification:
    TrainingImage: {IMAGE}
    TrainingInputMode: File
    MetricDefinitions:
      - {{Name: "validation:objective", Regex: "objective=([0-9.eE+-]+)"}}
  StaticHyperParameters: {{epochs: 2, epoch_seconds: 0.1}}
  RoleArn: {ROLE}
  InputDataConfig:
    - ChannelName: train
      DataSource: {{S3DataSource: {{S3DataType: S3Prefix, S3Uri: "s3://bucket/train/"}}}}
  OutputDataConfig: {{S3OutputPath: "s3://bucket/output"}}
  ResourceConfig: {{InstanceType: ml.m5.large, InstanceCount: 1, VolumeSizeInGB: 10}}
  StoppingCondition: {{MaxRuntimeInSeconds: 600}}
Tags:
  - {{Key: team, Value: ml}}
Workbench:
  StopGracePeriodSeconds: 2
  MaxLocalParallelTrainingJobs: 1
"""


def expected_request(name: str) -> dict:
    """The request the spec stands for, written out by hand: what SageMaker must receive."""
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:objective"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "TrainingJobEarlyStoppingType": "Auto",
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Linear"}],
                "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b"]}],
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File", "MetricDefinitions": [
                {"Name": "validation:objective", "Regex": "objective=([0-9.eE+-]+)"}]},
            "StaticHyperParameters": {"epochs": "2", "epoch_seconds": "0.1"},
            "RoleArn": ROLE,
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/"}}}],
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
        "Tags": [{"Key": "team", "Value": "ml"}],
    }


def arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:hyper-parameter-tuning-job/{name.lower()}"


def summary(tuning: str, index: int, status: str, value: float | None = None) -> dict:
    """HyperParameterTrainingJobSummary as ListTrainingJobsForHyperParameterTuningJob gives it."""
    name = f"{tuning}-{index:03d}-{index:08x}"
    out = {"TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{name}",
           "TuningJobName": tuning, "CreationTime": T0 + timedelta(minutes=index), "TrainingJobStatus": status,
           "TunedHyperParameters": {"x": str(index / 10), "kind": "a"},
           "ObjectiveStatus": "Succeeded" if value is not None else ("Pending" if status == "InProgress" else "Failed")}
    if status != "InProgress":
        out["TrainingStartTime"] = T0 + timedelta(minutes=index, seconds=30)
        out["TrainingEndTime"] = T0 + timedelta(minutes=index + 1)
    if value is not None:
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": "Maximize", "MetricName": "validation:objective",
                                                              "Value": value}
    return out


def described(request: dict, status: str, summaries: list[dict]) -> dict:
    """DescribeHyperParameterTuningJob as SageMaker answers it: the request's members (no
    Tags), `_tuning_objective_metric` in the static hyperparameters, the counters and the best."""
    name = request["HyperParameterTuningJobName"]
    fields = copy.deepcopy({k: v for k, v in request.items() if k not in ("Tags", "HyperParameterTuningJobName")})
    fields["TrainingJobDefinition"]["StaticHyperParameters"]["_tuning_objective_metric"] = "validation:objective"
    jobs = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for item in summaries:
        jobs["NonRetryableError" if item["TrainingJobStatus"] == "Failed" else
             "InProgress" if item["TrainingJobStatus"] == "Stopping" else item["TrainingJobStatus"]] += 1
        objectives[item["ObjectiveStatus"]] += 1
    response = {"HyperParameterTuningJobName": name, "HyperParameterTuningJobArn": arn(name), **fields,
                "HyperParameterTuningJobStatus": status, "CreationTime": T0,
                "TrainingJobStatusCounters": jobs, "ObjectiveStatusCounters": objectives,
                "LastModifiedTime": T0 + timedelta(minutes=5)}
    scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    if scored:
        response["BestTrainingJob"] = max(scored, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    if status in ("Completed", "Stopped", "Failed"):
        response["HyperParameterTuningEndTime"] = T0 + timedelta(minutes=5)
    return response


def answer(stub, request: dict, status: str, summaries: list[dict]) -> None:
    """One refresh: DescribeHyperParameterTuningJob, then its training jobs (one page)."""
    name = request["HyperParameterTuningJobName"]
    stub.add_response("describe_hyper_parameter_tuning_job", described(request, status, summaries),
                      {"HyperParameterTuningJobName": name})
    stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": summaries},
                      {"HyperParameterTuningJobName": name, "MaxResults": 100})


def write_spec(tmp_path) -> str:
    path = tmp_path / "tuning.yaml"
    path.write_text(SPEC)
    return str(path)


def submit(tmp_path, capsys, name: str, summaries: list[dict] | None = None) -> dict:
    request = expected_request(name)
    with stubbed_sagemaker() as stub:
        stub.add_response("create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": arn(name)}, request)
        answer(stub, request, "InProgress", summaries or [])
        assert main(["submit", write_spec(tmp_path), "--name", name]) == 0
    return request


# --- submit --------------------------------------------------------------------------------


def test_submit_sends_exactly_the_tuning_request_without_the_workbench_section(tmp_path, capsys):
    name = unique()
    submit(tmp_path, capsys, name)  # the Stubber compares the request with expected_request
    out = capsys.readouterr()
    assert out.out.strip() == name
    assert f"Submitted the tuning job {name} to SageMaker (us-east-1): {arn(name)}" in out.err
    record = json.loads(job_paths(name).describe.read_text())
    assert record["Workbench"]["Kind"] == "sagemaker-tuning"
    assert record["HyperParameterTuningJobStatus"] == "InProgress"
    # The spec as written is kept, with its Workbench section (for `tune` here later).
    assert read_spec_file(job_paths(name).spec)["Workbench"]["MaxLocalParallelTrainingJobs"] == 1


def test_a_tuning_spec_that_sagemaker_would_refuse_is_refused_before_anything_is_sent(tmp_path, capsys):
    path = tmp_path / "tuning.yaml"
    path.write_text(SPEC.replace('"s3://bucket/output"', "out/"))
    with stubbed_sagemaker():  # no answer queued: any call would fail the test
        assert main(["submit", str(path), "--name", unique()]) == 2
    err = capsys.readouterr().err
    assert "TrainingJobDefinition.OutputDataConfig.S3OutputPath" in err and "Traceback" not in err


# --- describe, jobs, stop ------------------------------------------------------------------


def test_describe_refreshes_the_record_and_lists_its_training_jobs(tmp_path, capsys):
    name = unique()
    request = submit(tmp_path, capsys, name)
    capsys.readouterr()
    running = [summary(name, 1, "Completed", 0.8), summary(name, 2, "InProgress"), summary(name, 3, "Failed")]
    with stubbed_sagemaker() as stub:
        answer(stub, request, "InProgress", running)
        assert main(["describe", name]) == 0
        record = json.loads(capsys.readouterr().out)
        assert record["TrainingJobStatusCounters"]["Completed"] == 1
        assert record["BestTrainingJob"]["TrainingJobName"] == f"{name}-001-00000001"
        assert [s["TrainingJobName"] for s in record["Workbench"]["TrainingJobSummaries"]] == [
            s["TrainingJobName"] for s in running]
        answer(stub, request, "InProgress", running)
        assert main(["describe", name, "--trials", "--status", "Failed"]) == 0
        listed = json.loads(capsys.readouterr().out)["TrainingJobSummaries"]
        assert [s["TrainingJobName"] for s in listed] == [f"{name}-003-00000003"]
    assert api.job_kind(name) == "sagemaker-tuning"


def test_stop_asks_sagemaker_and_waits_for_stopped(tmp_path, capsys):
    name = unique()
    request = submit(tmp_path, capsys, name)
    capsys.readouterr()
    running = [summary(name, 1, "InProgress")]
    with stubbed_sagemaker() as stub:
        answer(stub, request, "InProgress", running)  # stop's look
        answer(stub, request, "InProgress", running)  # the kind's look before it acts
        stub.add_response("stop_hyper_parameter_tuning_job", {}, {"HyperParameterTuningJobName": name})
        stopping = [summary(name, 1, "Stopping")]
        answer(stub, request, "Stopping", stopping)
        answer(stub, request, "Stopped", [summary(name, 1, "Stopped", 0.4)])
        assert main(["stop", name]) == 0
    err = capsys.readouterr().err
    assert f"Stopping tuning job {name} and its running training jobs" in err
    assert "Status:     Stopped" in err
    assert api.describe_job(name)["HyperParameterTuningJobStatus"] == "Stopped"  # final: no call
    # An ended job refuses a second stop in one line, without asking SageMaker again.
    assert main(["stop", name]) == 2
    assert "has already ended (Stopped)" in capsys.readouterr().err


def test_jobs_lists_a_sagemaker_tuning_job_with_its_training_jobs_under_it(tmp_path, capsys):
    name = unique()
    request = submit(tmp_path, capsys, name)
    with stubbed_sagemaker() as stub:
        answer(stub, request, "Completed", [summary(name, 1, "Completed", 0.5), summary(name, 2, "Completed", 0.7)])
        api.describe_job(name)  # final now: listings read it without asking
    capsys.readouterr()
    assert main(["jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
    assert "SageMaker tuning" in lines[row] and "Completed" in lines[row]
    assert lines[row + 1].startswith(f"  {name}-001-") and lines[row + 2].startswith(f"  {name}-002-")


# --- import ----------------------------------------------------------------------------------


def test_import_tries_the_training_job_then_the_tuning_job_and_the_spec_submits_the_same_request(tmp_path, capsys):
    name = unique()
    request = expected_request(name)
    done = [summary(name, 1, "Completed", 0.9), summary(name, 2, "Completed", 0.3)]
    output = tmp_path / "imported.yaml"
    with stubbed_sagemaker() as stub:
        stub.add_client_error("describe_training_job", "ValidationException", "Requested resource not found.",
                              expected_params={"TrainingJobName": name})
        stub.add_response("describe_hyper_parameter_tuning_job", described(request, "Completed", done),
                          {"HyperParameterTuningJobName": name})
        stub.add_response("list_tags", {"Tags": [{"Key": "team", "Value": "ml"},
                                                 {"Key": "aws:sagemaker:x", "Value": "y"}]}, {"ResourceArn": arn(name)})
        stub.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": done},
                          {"HyperParameterTuningJobName": name, "MaxResults": 100})
        assert main(["import", name, "-o", str(output)]) == 0
    err = capsys.readouterr().err
    assert f"Wrote {output} from the tuning job {name} (Completed); run it here with `sm-workbench tune" in err
    text = output.read_text()
    assert text.startswith(f"# Imported from the SageMaker tuning job {name}")
    data = yaml.safe_load(text)
    assert "_tuning_objective_metric" not in data["TrainingJobDefinition"]["StaticHyperParameters"]
    assert data["Tags"] == [{"Key": "team", "Value": "ml"}]
    # Submitted again, the imported spec sends the request the job was created with.
    again = load_tuning_spec(output, target="sagemaker", name=name)
    assert again.request == request
    # In the history, as a SageMaker tuning job with its training jobs.
    record = api.describe_job(name)
    assert record["Workbench"]["Kind"] == "sagemaker-tuning"
    assert [s["TrainingJobName"] for s in api.tuning_trials(name, sort_by="FinalObjectiveMetricValue",
                                                            sort_order="Descending")] == [
        f"{name}-001-00000001", f"{name}-002-00000002"]


def test_import_tuning_goes_straight_to_the_tuning_job_and_says_when_neither_exists(tmp_path, capsys):
    """`import NAME` of a name SageMaker has neither as a training job nor as a tuning job
    said "Cannot describe the SageMaker tuning job ...: ResourceNotFound": the not-found
    answer of DescribeHyperParameterTuningJob ("Amazon SageMaker can't find a tuning job
    called X", aws/amazon-sagemaker-examples#1540) was not taken for one."""
    name = unique()
    request = expected_request(name)
    with stubbed_sagemaker() as stub:
        stub.add_response("describe_hyper_parameter_tuning_job", described(request, "Completed", []),
                          {"HyperParameterTuningJobName": name})
        stub.add_response("list_tags", {"Tags": []}, {"ResourceArn": ANY})
        assert main(["import", name, "--tuning", "--no-history"]) == 0
        assert "HyperParameterTuningJobConfig:" in capsys.readouterr().out
        stub.add_client_error("describe_training_job", "ValidationException", "Requested resource not found.")
        stub.add_client_error("describe_hyper_parameter_tuning_job", "ResourceNotFound",
                              "Amazon SageMaker can't find a tuning job called missing-job. Type another name.")
        assert main(["import", "missing-job"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no training job and no tuning job named 'missing-job'" in err[0]
    assert not job_paths(name).root.exists()


def test_spec_from_a_description_drops_the_objective_hyperparameter_of_every_definition():
    description = described(expected_request("tj"), "Completed", [])
    definition = description.pop("TrainingJobDefinition")
    description["TrainingJobDefinitions"] = [dict(copy.deepcopy(definition), DefinitionName="a"),
                                             dict(copy.deepcopy(definition), DefinitionName="b")]
    spec = spec_from_tuning_description(description)
    for item in spec["TrainingJobDefinitions"]:
        assert item["StaticHyperParameters"] == {"epochs": "2", "epoch_seconds": "0.1"}
    assert set(spec) == {"HyperParameterTuningJobConfig", "TrainingJobDefinitions"}


def test_submit_follow_shows_the_training_jobs_until_the_tuning_job_ends(tmp_path, capsys, monkeypatch):
    from workbench.cli import tuning_commands

    monkeypatch.setattr(tuning_commands, "CLOUD_POLL", 0.0)
    name = unique()
    request = expected_request(name)
    with stubbed_sagemaker() as stub:
        stub.add_response("create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": arn(name)}, request)
        answer(stub, request, "InProgress", [])  # submit's own look
        answer(stub, request, "InProgress", [summary(name, 1, "InProgress")])
        answer(stub, request, "Completed", [summary(name, 1, "Completed", 0.6), summary(name, 2, "Failed")])
        assert main(["submit", write_spec(tmp_path), "--name", name, "--follow"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0] == name
    assert lines[1].startswith(f"{name}-001-00000001  InProgress  x=0.1  kind=a")
    assert f"{name}-002-00000002  Failed" in out.out
    assert f"Best:       {name}-001-00000001: validation:objective = 0.6" in out.err


def test_jobs_lists_a_running_tuning_job_when_aws_cannot_be_reached(tmp_path, capsys, monkeypatch):
    from workbench.cloud.client import reset_clients

    name = unique()
    submit(tmp_path, capsys, name, [summary(name, 1, "InProgress")])
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    reset_clients()
    capsys.readouterr()
    assert main(["jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
    assert "SageMaker tuning" in lines[row] and "InProgress" in lines[row]
    assert lines[row + 1].startswith(f"  {name}-001-")
    assert "RefreshError" in json.loads(job_paths(name).describe.read_text())["Workbench"]
