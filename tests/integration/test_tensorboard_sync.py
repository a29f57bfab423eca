"""TensorBoard output (issue 16, point 2) goes up live through the checkpoint sync: stable files
only, per-file status, an S3 outage survived, drained at the end."""

from __future__ import annotations

import uuid

import boto3
import pytest

from workbench.cli import main
from workbench.engine import events as ev
from tests.integration.checkpoint_jobs import BackgroundJob, content, keys, writer_spec
from tests.integration.jobs import leftovers, wait_for
from tests.integration.test_checkpoint_faults import OwnS3

pytestmark = pytest.mark.docker


@pytest.fixture
def own_s3(monkeypatch):
    server = OwnS3()
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    yield server
    if server.server is not None:
        server.stop()


def test_tensorboard_output_reaches_s3_live_and_survives_an_outage(tmp_path, images, own_s3, docker_client, capsys):
    s3 = boto3.client("s3", endpoint_url=own_s3.endpoint, region_name="us-east-1")
    bucket = f"tb-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    steps = [
        {"op": "write", "path": "events.out.tfevents.1", "tag": "v1"},
        {"op": "wait", "name": "go1"},
        {"op": "write", "path": "events.out.tfevents.1", "tag": "v2", "size": 300},
        {"op": "write", "path": "train/events.out.tfevents.2", "tag": "v1"},
        {"op": "wait", "name": "go2"},
        {"op": "sleep", "seconds": 0.3},
    ]
    spec = writer_spec(tmp_path, steps, "unused", TensorBoardOutputConfig={"S3OutputPath": f"s3://{bucket}/tb"})
    spec.pop("CheckpointConfig")
    spec["Environment"] = {"CHECKPOINT_DIR": "/opt/ml/output/tensorboard"}  # the writer writes there
    job = BackgroundJob(spec, tmp_path)
    prefix = f"tb/{job.name}/tensorboard-output/"
    wait_for(lambda: job.state("events.out.tfevents.1") == "synced", 30, "the first event file in S3")
    assert keys(s3, bucket) == {prefix + "events.out.tfevents.1": content("v1", "algo-1")}  # while it trains
    assert all(e.sync == "tensorboard" for e in job.of(ev.CheckpointFileState))

    own_s3.stop()
    job.go("go1")
    wait_for(lambda: job.state("events.out.tfevents.1") == "retrying" and
             job.state("train/events.out.tfevents.2") == "retrying", 30, "retrying while S3 is away")
    retrying = [e for e in job.of(ev.CheckpointFileState) if e.state == "retrying"]
    assert all(own_s3.endpoint in e.error for e in retrying)
    job.go("go2")
    own_s3.start()
    record = job.finish()
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    assert keys(s3, bucket) == {prefix + "events.out.tfevents.1": content("v2", "algo-1", 300),
                                prefix + "train/events.out.tfevents.2": content("v1", "algo-1")}
    summary = record["Workbench"]["Synced"]["TensorBoard"]["Summary"]
    assert (summary["Synced"], summary["Pending"], summary["Final"]) == (2, 0, True)
    assert "Checkpoints" not in record["Workbench"]
    assert leftovers(docker_client, job.name) == []

    capsys.readouterr()
    assert main(["checkpoints", job.name, "--folder", "tensorboard"]) == 0  # the CLI's view of the same table
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"TensorBoard of {job.name}: s3://{bucket}/{prefix.rstrip('/')} <- /opt/ml/output/tensorboard"
    assert "2 files, 364 B: 2 synced, 0 pending (0 retrying), 0 deleted" in out
    assert main(["checkpoints", job.name]) == 2  # it has no CheckpointConfig
