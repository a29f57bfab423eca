"""Metrics of SageMaker jobs: FinalMetricDataList from DescribeTrainingJob, the series from
CloudWatch GetMetricData (namespace /aws/sagemaker/TrainingJobs, dimension TrainingJobName).

moto's server answers CloudWatch for real (the tests put data with PutMetricData and read
it back over HTTP). moto's DescribeTrainingJob replaces a job's MetricDefinitions and
FinalMetricDataList with fixed ones, and CloudWatch refusing access cannot be caused in
moto, so those answers come from botocore's Stubber, shaped as AWS gives them."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber

from tests.integration.cloud_helpers import ROLE, T0, aws, described, stubbed_sagemaker  # noqa: F401 (fixture)
from workbench.cli import main
from workbench.cloud.client import cloudwatch_client
from workbench.cloud.metrics import NAMESPACE
from workbench.engine import api
from workbench.engine import events as ev
from workbench.spec import load_job_spec

pytestmark = pytest.mark.s3

TRAINING = T0 + timedelta(minutes=2)  # `described`: training starts 2 minutes after creation


@pytest.fixture(autouse=True)
def _endpoint(aws):
    """Every test talks to moto's server, with fresh clients."""


def submit_completed(tmp_path, capsys) -> str:
    """A SageMaker job with two MetricDefinitions, Completed, in the job history."""
    name = f"cloud-metrics-{uuid.uuid4().hex[:8]}"
    spec = tmp_path / "job.yaml"
    spec.write_text(f"""\
AlgorithmSpecification:
  TrainingImage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1.0
  MetricDefinitions:
    - {{Name: "train:loss", Regex: "loss=([0-9.]+)"}}
    - {{Name: "validation:acc", Regex: "acc=([0-9.]+)"}}
RoleArn: {ROLE}
OutputDataConfig: {{S3OutputPath: "s3://bucket/output"}}
""")
    request = load_job_spec(spec, target="sagemaker", name=name).request
    answer = described(request, "Completed")
    answer["FinalMetricDataList"] = [
        {"MetricName": "train:loss", "Value": 0.4, "Timestamp": TRAINING + timedelta(seconds=100)},
        {"MetricName": "validation:acc", "Value": 0.91, "Timestamp": TRAINING + timedelta(seconds=110)},
    ]
    with stubbed_sagemaker() as stub:
        stub.add_response("create_training_job", {"TrainingJobArn": answer["TrainingJobArn"]}, request)
        stub.add_response("describe_training_job", answer, {"TrainingJobName": name})
        assert main(["submit", str(spec), "--name", name]) == 0
    capsys.readouterr()
    return name


def put_series(endpoint: str, job: str) -> None:
    """train:loss as SageMaker publishes it: four values over two minutes (validation:acc has none)."""
    client = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    client.put_metric_data(Namespace=NAMESPACE, MetricData=[
        {"MetricName": "train:loss", "Dimensions": [{"Name": "TrainingJobName", "Value": job}],
         "Timestamp": TRAINING + timedelta(seconds=offset), "Value": value}
        for offset, value in ((10, 1.0), (30, 0.8), (80, 0.6), (100, 0.4))])


def test_describe_metrics_and_the_monitors_stream_of_a_cloud_job(tmp_path, aws, capsys):
    name = submit_completed(tmp_path, capsys)
    put_series(aws, name)

    assert main(["describe", name]) == 0
    final = json.loads(capsys.readouterr().out)["FinalMetricDataList"]
    assert [(m["MetricName"], m["Value"]) for m in final] == [("train:loss", 0.4), ("validation:acc", 0.91)]

    # CloudWatch's per-minute averages; FinalMetricDataList for the metric CloudWatch has nothing for.
    assert main(["metrics", name, "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    assert [(r[0], r[1], r[3], float(r[4])) for r in rows] == [
        ("train:loss", "all", "0.0", 0.9), ("train:loss", "all", "60.0", 0.5),
        ("validation:acc", "all", "110.0", 0.91)]
    assert main(["metrics", name]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:6] == ["train:loss", "all", "0.5", "0.5", "0.9", "2"]

    # The monitor's stream carries them too (its Metrics tab).
    samples = [e for e in api.follow_events(name) if isinstance(e, ev.MetricSamples)]
    assert [p[1:] for e in samples for p in e.points] == [("train:loss", 0.9), ("train:loss", 0.5),
                                                          ("validation:acc", 0.91)]
    assert {e.host for e in samples} == {""}


def test_when_cloudwatch_refuses_the_final_values_are_shown_with_a_warning(tmp_path, capsys):
    name = submit_completed(tmp_path, capsys)
    with Stubber(cloudwatch_client()) as stub:
        stub.add_client_error("get_metric_data", "AccessDenied", "User is not authorized to perform "
                              "cloudwatch:GetMetricData", http_status_code=403)
        assert main(["metrics", name, "--csv"]) == 0
        stub.assert_no_pending_responses()
    out = capsys.readouterr()
    assert [(r[0], float(r[4])) for r in list(csv.reader(io.StringIO(out.out)))[1:]] == [
        ("train:loss", 0.4), ("validation:acc", 0.91)]
    assert out.err.strip() == (
        f"warning: Cannot read the metrics of {name} from CloudWatch: access denied (User is not authorized to "
        "perform cloudwatch:GetMetricData); the credentials' IAM policy must allow cloudwatch:GetMetricData; "
        "showing the final metric values only")
