"""Errors from AWS come out as one clear line each (exit code 2), never a traceback, and
a submission that failed leaves nothing in the job history. The credentials, region and
endpoint cases are real (moto's server, or nothing listening); access denied, throttling
and the service's own validation errors are answers moto does not give, so they come
from botocore's Stubber with the codes and messages SageMaker and CloudWatch Logs use."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from botocore.stub import Stubber

from tests.conftest import _free_port
from tests.integration.cloud_helpers import ROLE, aws, stubbed_sagemaker  # noqa: F401 (fixtures)
from workbench.cli import main
from workbench.cloud.client import logs_client
from workbench.engine import api

pytestmark = pytest.mark.s3


@pytest.fixture(autouse=True)
def _endpoint(aws):
    """Every test talks to moto's server, with fresh clients."""


def spec_file(tmp_path) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(f"""\
AlgorithmSpecification: {{TrainingImage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1.0}}
RoleArn: {ROLE}
InputDataConfig:
  - {{ChannelName: train, DataSource: {{S3DataSource: {{S3DataType: S3Prefix, S3Uri: "s3://data/train/"}}}}}}
OutputDataConfig: {{S3OutputPath: s3://data/output}}
""")
    return str(path)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_no_credentials(tmp_path, monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    assert main(["submit", spec_file(tmp_path), "--name", "no-creds"]) == 2
    assert one_error_line(capsys) == (
        "error: Cannot submit no-creds to SageMaker: no AWS credentials found; set AWS_PROFILE "
        "(see `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    assert api.list_jobs() == []


def test_no_region(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert main(["submit", spec_file(tmp_path), "--name", "no-region"]) == 2
    assert one_error_line(capsys) == (
        "error: Cannot set up the SageMaker client: no AWS region set; set AWS_DEFAULT_REGION "
        "(e.g. us-east-1) or a region in your AWS profile")
    assert api.list_jobs() == []


def test_endpoint_unreachable(tmp_path, monkeypatch, capsys):
    port = _free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert main(["submit", spec_file(tmp_path), "--name", "unreachable"]) == 2
    assert one_error_line(capsys) == (
        f"error: Cannot submit unreachable to SageMaker: http://127.0.0.1:{port} does not answer "
        "(EndpointConnectionError); check the network, or AWS_ENDPOINT_URL if you set one")
    assert api.list_jobs() == []


SUBMIT_ERRORS = [
    ("AccessDeniedException",
     "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: sagemaker:CreateTrainingJob on "
     "resource: arn:aws:sagemaker:us-east-1:123456789012:training-job/denied because no identity-based policy "
     "allows the sagemaker:CreateTrainingJob action",
     "error: Cannot submit denied to SageMaker: access denied (User: arn:aws:iam::123456789012:user/dev is not "
     "authorized to perform: sagemaker:CreateTrainingJob on resource: arn:aws:sagemaker:us-east-1:123456789012:"
     "training-job/denied because no identity-based policy allows the sagemaker:CreateTrainingJob action); the "
     "credentials' IAM policy must allow sagemaker:CreateTrainingJob and iam:PassRole on the job's RoleArn"),
    ("ThrottlingException", "Rate exceeded",
     "error: Cannot submit denied to SageMaker: AWS is throttling requests (ThrottlingException); "
     "wait a minute and try again"),
    ("ValidationException",
     "Could not assume role arn:aws:iam::123456789012:role/SageMakerRole. Please ensure that the role exists "
     "and allows principal 'sagemaker.amazonaws.com' to assume the role.",
     "error: Cannot submit denied to SageMaker: SageMaker refused the request: Could not assume role "
     "arn:aws:iam::123456789012:role/SageMakerRole. Please ensure that the role exists and allows principal "
     "'sagemaker.amazonaws.com' to assume the role."),
    ("ResourceLimitExceeded",
     "The account-level service limit 'ml.m5.large for training job usage' is 0 Instances, with current "
     "utilization of 0 Instances and a request delta of 1 Instances.",
     "error: Cannot submit denied to SageMaker: The account-level service limit 'ml.m5.large for training job "
     "usage' is 0 Instances, with current utilization of 0 Instances and a request delta of 1 Instances.; "
     "request a higher quota in the Service Quotas console, or use another instance type"),
    ("ResourceInUse",
     "Training job names must be unique within an AWS account and region, and a training job with this name "
     "already exists (arn:aws:sagemaker:us-east-1:123456789012:training-job/denied)",
     "error: Cannot submit denied to SageMaker: Training job names must be unique within an AWS account and "
     "region, and a training job with this name already exists (arn:aws:sagemaker:us-east-1:123456789012:"
     "training-job/denied); training job names are unique per account and region: pick another name (--name)"),
    ("UnrecognizedClientException", "The security token included in the request is invalid.",
     "error: Cannot submit denied to SageMaker: the AWS credentials were rejected (UnrecognizedClientException); "
     "refresh them or check AWS_PROFILE"),
]


@pytest.mark.parametrize("code,message,expected", SUBMIT_ERRORS, ids=[c for c, _, _ in SUBMIT_ERRORS])
def test_submit_errors_from_sagemaker(tmp_path, capsys, code, message, expected):
    with stubbed_sagemaker() as stub:
        stub.add_client_error("create_training_job", service_error_code=code, service_message=message,
                              http_status_code=429 if code == "ThrottlingException" else 400)
        assert main(["submit", spec_file(tmp_path), "--name", "denied"]) == 2
    assert one_error_line(capsys) == expected
    assert api.list_jobs() == []


def test_describe_throttled(capsys):
    with stubbed_sagemaker() as stub:
        stub.add_client_error("describe_training_job", service_error_code="ThrottlingException",
                              service_message="Rate exceeded", http_status_code=400)
        assert main(["import", "busy-job"]) == 2
    assert one_error_line(capsys) == (
        "error: Cannot describe the SageMaker training job busy-job: AWS is throttling requests "
        "(ThrottlingException); wait a minute and try again")


def test_logs_access_denied(tmp_path, capsys):
    name = f"logs-{uuid.uuid4().hex[:8]}"
    assert main(["submit", spec_file(tmp_path), "--name", name]) == 0
    capsys.readouterr()
    with Stubber(logs_client()) as stub:
        stub.add_client_error(
            "describe_log_streams", service_error_code="AccessDeniedException", http_status_code=400,
            service_message="User: arn:aws:iam::123456789012:user/dev is not authorized to perform: "
                            "logs:DescribeLogStreams")
        assert main(["logs", name]) == 2
    assert one_error_line(capsys) == (
        f"error: Cannot list the log streams of {name} in /aws/sagemaker/TrainingJobs: access denied (User: "
        "arn:aws:iam::123456789012:user/dev is not authorized to perform: logs:DescribeLogStreams); the "
        "credentials' IAM policy must allow logs:DescribeLogStreams on /aws/sagemaker/TrainingJobs")


def test_the_console_script_prints_one_line_without_a_traceback(tmp_path):
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}", AWS_MAX_ATTEMPTS="1")
    result = subprocess.run([sys.executable, "-m", "workbench", "submit", spec_file(tmp_path), "--name", "x"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "does not answer (EndpointConnectionError)" in result.stderr
