"""Helpers for the SageMaker tests: moto's server on 127.0.0.1 as the AWS endpoint, its
recorder for the requests that arrived, and DescribeTrainingJob answers shaped as
SageMaker gives them for the calls moto lacks (StopTrainingJob) or simplifies (statuses
that move; moto's jobs are Completed at once)."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from botocore.stub import Stubber

from workbench.cloud.client import logs_client, reset_clients, sagemaker_client
from workbench.cloud.logs import LOG_GROUP

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"


@pytest.fixture
def aws(s3_server, monkeypatch):
    """The AWS endpoint for every client: moto's server; fresh clients per test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    reset_clients()
    yield s3_server
    reset_clients()


def _post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b"")).read()


@pytest.fixture
def received(aws, tmp_path, monkeypatch):
    """`received("SageMaker.CreateTrainingJob")`: the JSON bodies of those requests as moto's
    server got them over HTTP (its recorder), in order."""
    monkeypatch.chdir(tmp_path)  # the recorder writes ./moto_recording
    _post(f"{aws}/moto-api/recorder/reset-recording")
    _post(f"{aws}/moto-api/recorder/start-recording")

    def bodies(target: str) -> list[dict]:
        text = urllib.request.urlopen(f"{aws}/moto-api/recorder/download-recording").read().decode()
        found = []
        for line in text.splitlines():
            entry = json.loads(line)
            if entry["headers"].get("X-Amz-Target") != target:
                continue
            body = entry["body"]
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            found.append(json.loads(body))
        return found

    yield bodies
    _post(f"{aws}/moto-api/recorder/stop-recording")
    _post(f"{aws}/moto-api/recorder/reset-recording")


@contextmanager
def stubbed_sagemaker():
    """botocore's Stubber on the SageMaker client the code uses (for what moto lacks);
    every queued answer must have been asked for."""
    client = sagemaker_client()
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
}
_PATHS = {
    "Starting": ["Starting"],
    "Downloading": ["Starting", "Downloading"],
    "Training": ["Starting", "Downloading", "Training"],
    "Uploading": ["Starting", "Downloading", "Training", "Uploading"],
    "Completed": ["Starting", "Downloading", "Training", "Uploading", "Completed"],
    "Failed": ["Starting", "Downloading", "Training", "Failed"],
    "Stopping": ["Starting", "Downloading", "Training", "Stopping"],
    "Stopped": ["Starting", "Downloading", "Training", "Stopping", "Stopped"],
}
_PRIMARY = {"Completed": "Completed", "Failed": "Failed", "Stopping": "Stopping", "Stopped": "Stopped"}
T0 = datetime(2026, 11, 20, 9, 0, 0, tzinfo=timezone.utc)


def described(request: dict, secondary: str = "Training", failure: str = "") -> dict:
    """DescribeTrainingJob as SageMaker answers it for a job created by `request`: the
    request's fields (no Tags), the defaults the service fills in, and the job's state."""
    name = request["TrainingJobName"]
    fields = {k: json.loads(json.dumps(v)) for k, v in request.items() if k not in ("Tags",)}
    algo = fields["AlgorithmSpecification"]
    algo.setdefault("EnableSageMakerMetricsTimeSeries", False)
    output = fields["OutputDataConfig"]
    output.setdefault("KmsKeyId", "")
    for channel in fields.get("InputDataConfig") or []:
        channel.setdefault("CompressionType", "None")
        channel.setdefault("RecordWrapperType", "None")
        s3 = channel["DataSource"].get("S3DataSource")
        if s3:
            s3.setdefault("S3DataDistributionType", "FullyReplicated")
    for flag in ("EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining"):
        fields.setdefault(flag, False)
    steps = _PATHS[secondary]
    status = _PRIMARY.get(secondary, "InProgress")
    transitions = []
    for index, step in enumerate(steps):
        entry = {"Status": step, "StartTime": T0 + timedelta(minutes=index), "StatusMessage": _MESSAGES[step]}
        if index < len(steps) - 1:
            entry["EndTime"] = T0 + timedelta(minutes=index + 1)
        elif status in ("Completed", "Failed", "Stopped"):
            entry["EndTime"] = entry["StartTime"]
        transitions.append(entry)
    fields.pop("TrainingJobName")
    response = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        **fields,
        "ModelArtifacts": {"S3ModelArtifacts": f"{output['S3OutputPath']}/{name}/output/model.tar.gz"},
        "CreationTime": T0,
        "LastModifiedTime": T0 + timedelta(minutes=len(steps)),
        "SecondaryStatusTransitions": transitions,
        "ProfilingStatus": "Disabled",
    }
    if "Training" in steps:
        response["TrainingStartTime"] = T0 + timedelta(minutes=2)
    if status in ("Completed", "Failed", "Stopped"):
        response["TrainingEndTime"] = T0 + timedelta(minutes=len(steps) - 1)
        response["TrainingTimeInSeconds"] = 60 * (len(steps) - 3)
        response["BillableTimeInSeconds"] = 60 * (len(steps) - 3)
    if failure:
        response["FailureReason"] = failure
    return response


def put_logs(job: str, lines: dict[str, list[tuple[int, str]]], epoch: int | None = None) -> None:
    """Log events as SageMaker writes them: one stream per host, `<job>/<host>-<epoch>`;
    `lines` maps a host to (milliseconds, message) pairs."""
    client = logs_client()
    try:
        client.create_log_group(logGroupName=LOG_GROUP)
    except client.exceptions.ResourceAlreadyExistsException:
        pass
    epoch = epoch or int(time.time())
    for host, events in lines.items():
        stream = f"{job}/{host}-{epoch}"
        try:
            client.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        except client.exceptions.ResourceAlreadyExistsException:
            pass
        client.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                              logEvents=[{"timestamp": ms, "message": text} for ms, text in events])
