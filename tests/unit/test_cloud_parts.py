"""The pure parts of the SageMaker support: stream names to hosts, AWS errors to one line,
descriptions to specs and to events, the progress bar."""

from __future__ import annotations

import io

import pytest
from botocore import exceptions as bx

from workbench.cloud.client import region_of_arn
from workbench.cloud.errors import cloud_error, reason
from workbench.cloud.importer import spec_from_description
from workbench.cloud.logs import host_of_stream
from workbench.engine import events as ev
from workbench.engine.cloud_jobs import events_of


@pytest.mark.parametrize("stream,job,host", [
    ("job/algo-1-1700000000", "job", "algo-1"),
    ("job/algo-12-1700000123", "job", "algo-12"),
    ("job-x/algo-3-1700000000", "job-x", "algo-3"),
    ("job/algo-1", "job", "algo-1"),  # no instance epoch
    ("job/data-log", "job", "data-log"),
])
def test_host_of_stream(stream, job, host):
    assert host_of_stream(stream, job) == host


def test_region_of_arn():
    assert region_of_arn("arn:aws:sagemaker:eu-west-1:123456789012:training-job/x") == "eu-west-1"
    assert region_of_arn("") is None and region_of_arn("not-an-arn") is None


def client_error(code: str, message: str = "", operation: str = "CreateTrainingJob") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize("err,expected", [
    (bx.NoCredentialsError(), "no AWS credentials found"),
    (bx.NoRegionError(), "no AWS region set"),
    (bx.ProfileNotFound(profile="work"), "The config profile (work) could not be found; fix AWS_PROFILE"),
    (bx.EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/"),
     "https://api.sagemaker.us-east-1.amazonaws.com does not answer (EndpointConnectionError)"),
    (client_error("AccessDeniedException", "not authorized"), "access denied (not authorized); the credentials' "
     "IAM policy must allow sagemaker:CreateTrainingJob and iam:PassRole on the job's RoleArn"),
    (client_error("ThrottlingException", "Rate exceeded"), "AWS is throttling requests (ThrottlingException)"),
    (client_error("ExpiredTokenException", "expired"), "the AWS credentials were rejected (ExpiredTokenException)"),
    (client_error("ValidationException", "bad\nthing"), "SageMaker refused the request: bad thing"),
    (client_error("InternalFailure", "oops"), "the service failed (InternalFailure: oops); try again later"),
    (client_error("SomethingNew", "new"), "SomethingNew: new"),
])
def test_aws_errors_become_one_line(err, expected):
    text = str(cloud_error(err, "submit x to SageMaker", "CreateTrainingJob"))
    assert text.startswith("Cannot submit x to SageMaker: ")
    assert expected in text and "\n" not in text


def test_param_validation_is_one_line():
    err = bx.ParamValidationError(report="Invalid type for parameter A\nInvalid type for parameter B")
    assert "\n" not in reason(err)


DESCRIPTION = {
    "TrainingJobName": "job-1",
    "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1",
    "TrainingJobStatus": "Failed",
    "SecondaryStatus": "Failed",
    "FailureReason": "AlgorithmError: boom",
    "HyperParameters": {"epochs": "3"},
    "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File",
                               "EnableSageMakerMetricsTimeSeries": False},
    "RoleArn": "arn:aws:iam::123456789012:role/R",
    "InputDataConfig": [
        {"ChannelName": "a", "CompressionType": "None", "RecordWrapperType": "None",
         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/a/",
                                         "S3DataDistributionType": "FullyReplicated"}}},
        {"ChannelName": "b", "CompressionType": "Gzip", "InputMode": "Pipe",
         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/b/",
                                         "S3DataDistributionType": "ShardedByS3Key"}}},
    ],
    "OutputDataConfig": {"KmsKeyId": "", "S3OutputPath": "s3://b/out", "CompressionType": "NONE"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    "EnableNetworkIsolation": True,
    "EnableInterContainerTrafficEncryption": False,
    "EnableManagedSpotTraining": False,
    "Environment": {},
    "ModelArtifacts": {"S3ModelArtifacts": "s3://b/out/job-1/output/model.tar.gz"},
    "CreationTime": "2026-11-20T09:00:00.000Z",
    "TrainingEndTime": "2026-11-20T09:05:00.000Z",
    "SecondaryStatusTransitions": [
        {"Status": "Starting", "StartTime": "2026-11-20T09:00:00.000Z", "StatusMessage": "Preparing"},
        {"Status": "Training", "StartTime": "2026-11-20T09:02:00.000Z", "StatusMessage": "Training"},
        {"Status": "Failed", "StartTime": "2026-11-20T09:05:00.000Z", "StatusMessage": "failed"},
    ],
}
FIELDS = ["HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
          "ResourceConfig", "VpcConfig", "StoppingCondition", "Tags", "EnableNetworkIsolation",
          "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining", "Environment"]


def test_spec_from_description_keeps_what_was_asked_for():
    spec = spec_from_description(DESCRIPTION, FIELDS, tags=[{"Key": "team", "Value": "x"}])
    assert list(spec) == ["HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig",
                          "OutputDataConfig", "ResourceConfig", "StoppingCondition", "Tags", "EnableNetworkIsolation"]
    assert spec["AlgorithmSpecification"] == {"TrainingImage": "img:1", "TrainingInputMode": "File"}
    assert spec["InputDataConfig"][0] == {"ChannelName": "a", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "s3://b/a/"}}}
    # Values that differ from the API's defaults were asked for: they stay.
    assert spec["InputDataConfig"][1]["CompressionType"] == "Gzip"
    assert spec["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert spec["OutputDataConfig"] == {"S3OutputPath": "s3://b/out", "CompressionType": "NONE"}
    assert spec["EnableNetworkIsolation"] is True
    assert DESCRIPTION["OutputDataConfig"]["KmsKeyId"] == ""  # the description itself is left alone


def test_events_of_a_failed_job():
    record = dict(DESCRIPTION, Workbench={"Kind": "sagemaker", "Hosts": {"algo-1": {}, "algo-2": {}}})
    events = events_of(record)
    assert isinstance(events[0], ev.JobCreated) and events[0].hosts == ("algo-1", "algo-2")
    assert [(e.status, e.secondary) for e in events if isinstance(e, ev.StatusChanged)] == [
        ("InProgress", "Starting"), ("InProgress", "Training")]
    finished = events[-1]
    assert isinstance(finished, ev.JobFinished)
    assert (finished.status, finished.failure_reason) == ("Failed", "AlgorithmError: boom")
    assert finished.time == events[-2].time + 180


def test_events_of_a_stopping_job():
    record = {"TrainingJobName": "j", "TrainingJobStatus": "Stopping", "SecondaryStatus": "Stopping",
              "CreationTime": "2026-11-20T09:00:00.000Z", "SecondaryStatusTransitions": [
                  {"Status": "Training", "StartTime": "2026-11-20T09:00:00.000Z"},
                  {"Status": "Stopping", "StartTime": "2026-11-20T09:01:00.000Z"}]}
    changes = [(e.status, e.secondary) for e in events_of(record) if isinstance(e, ev.StatusChanged)]
    assert changes == [("InProgress", "Training"), ("Stopping", "Stopping")]
    assert not any(isinstance(e, ev.JobFinished) for e in events_of(record))


def test_progress_bar_is_quiet_off_a_terminal():
    from workbench.cli.progress import ProgressBar
    from workbench.storage import TransferProgress

    stream = io.StringIO()
    bar = ProgressBar("Uploading", stream=stream)
    bar(TransferProgress(1, 2, 512, 1024))
    bar.finish()
    assert stream.getvalue() == ""
    assert bar.line(TransferProgress(1, 2, 512, 1024)) == (
        "Uploading [###############...............]  50%  1/2 files  512 B of 1.0 KB")
