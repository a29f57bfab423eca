"""Faults lose nothing: the S3 server going away mid-job, the workbench dying mid-job, and
(once issue 4's spot restarts land) a spot interruption that resumes from the synced checkpoint."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import boto3
import pytest
import yaml

from workbench.engine import events as ev
from tests.integration.checkpoint_jobs import BackgroundJob, content, keys, writer_spec
from tests.integration.jobs import leftovers, wait_for

pytestmark = pytest.mark.docker


class OwnS3:
    """A moto server of this test's own, on a fixed port, that can be stopped and started
    again (moto keeps its state in-process, so the buckets survive)."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.server = None


@pytest.fixture
def own_s3(monkeypatch):
    server = OwnS3()
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    yield server
    if server.server is not None:
        server.stop()


def test_s3_going_away_mid_job_loses_nothing(tmp_path, images, own_s3, docker_client):
    s3 = boto3.client("s3", endpoint_url=own_s3.endpoint, region_name="us-east-1")
    bucket = f"outage-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    steps = [
        {"op": "write", "path": "a.pt", "tag": "v1"},
        {"op": "write", "path": "c.pt", "tag": "v1"},
        {"op": "wait", "name": "go1"},
        {"op": "write", "path": "a.pt", "tag": "v2", "size": 500},
        {"op": "write", "path": "b.pt", "tag": "v1"},
        {"op": "delete", "path": "c.pt"},
        {"op": "wait", "name": "go2"},
        {"op": "write", "path": "a.pt", "tag": "v3", "size": 700},
        {"op": "sleep", "seconds": 0.5},
    ]
    job = BackgroundJob(writer_spec(tmp_path, steps, f"s3://{bucket}/ckpt"), tmp_path)
    wait_for(lambda: job.state("a.pt") == "synced" and job.state("c.pt") == "synced", what="first sync")

    own_s3.stop()
    job.go("go1")
    wait_for(lambda: all(job.state(p) == "retrying" for p in ("a.pt", "b.pt", "c.pt")), 30, "retrying")
    retrying = [e for e in job.of(ev.CheckpointFileState) if e.state == "retrying"]
    assert all("does not answer" in e.error and own_s3.endpoint in e.error for e in retrying)
    wait_for(lambda: any(e.retrying == 3 and e.pending == 3 for e in job.of(ev.CheckpointSummary)), 10, "summary")
    wait_for(lambda: max(e.attempts for e in job.of(ev.CheckpointFileState) if e.path == "b.pt") >= 2, 20,
             "a second attempt")
    # Training went on undisturbed while S3 was away.
    job.go("go2")
    wait_for(lambda: job.log().count("done write a.pt") == 3, what="the third version of a.pt")
    assert job.record is None  # still running (or draining): not finished without S3

    own_s3.start()
    record = job.finish()
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    assert keys(s3, bucket) == {"ckpt/a.pt": content("v3", "algo-1", 700), "ckpt/b.pt": content("v1", "algo-1")}
    summary = record["Workbench"]["Checkpoints"]["Summary"]
    assert (summary["Pending"], summary["Retrying"], summary["Final"]) == (0, 0, True)
    assert job.state("c.pt") == "deleted" and job.state("a.pt") == "synced"
    assert leftovers(docker_client, job.name) == []


def cli(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def test_the_workbench_dying_mid_job_loses_nothing(tmp_path, images, s3, bucket, docker_client):
    from workbench.engine.api import describe_job, job_events, job_paths, wait_for_job
    from workbench.fileio import read_json

    steps = [
        {"op": "write", "path": "a.pt", "tag": "v1"},
        {"op": "write", "path": "old.pt", "tag": "v1"},
        {"op": "wait", "name": "go"},
        {"op": "write", "path": "b.pt", "tag": "v1"},  # written while no workbench runs
        {"op": "delete", "path": "old.pt"},
        {"op": "sleep", "seconds": 0.5},
    ]
    spec = writer_spec(tmp_path, steps, f"s3://{bucket}/ckpt")
    spec_path = tmp_path / "job.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = cli("run", str(spec_path), "--detach")
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    def synced(path: str) -> bool:
        return any(isinstance(e, ev.CheckpointFileState) and e.path == path and e.state == "synced"
                   for e in job_events(name))

    wait_for(lambda: synced("a.pt") and synced("old.pt"), 30, "the first files reported synced")
    assert set(keys(s3, bucket)) == {"ckpt/a.pt", "ckpt/old.pt"}
    owner = read_json(job_paths(name).owner)
    os.kill(owner["pid"], signal.SIGKILL)  # the workbench dies; the container runs on

    # The next run of the same job restores what had synced.
    again = writer_spec(tmp_path, [{"op": "list"}], f"s3://{bucket}/ckpt")
    again_path = tmp_path / "again.yaml"
    again_path.write_text(yaml.safe_dump(again, sort_keys=False))
    rerun = cli("run", str(again_path))
    assert rerun.returncode == 0, rerun.stderr
    assert "algo-1 | restored a.pt 64 " in rerun.stdout and "algo-1 | restored old.pt 64 " in rerun.stdout

    # The job is taken over; the takeover syncs what was written and deleted while nobody watched.
    (job_paths(name).opt_ml("algo-1") / "code" / "go").write_text("go")
    time.sleep(1.0)
    assert cli("jobs").returncode == 0
    record = wait_for_job(name, timeout=60)
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    assert any("ended while the job was Training" in n["Message"] for n in record["Workbench"]["Notices"])
    assert keys(s3, bucket) == {"ckpt/a.pt": content("v1", "algo-1"), "ckpt/b.pt": content("v1", "algo-1")}
    summary = describe_job(name)["Workbench"]["Checkpoints"]["Summary"]
    assert summary["Final"] is True
    # The whole attempt, also what synced before the takeover (a.pt; old.pt then deleted).
    assert (summary["Files"], summary["Synced"], summary["Deleted"]) == (2, 2, 1)
    assert leftovers(docker_client, name) == []


def test_a_spot_interruption_resumes_from_the_synced_checkpoint(tmp_path, images, s3, bucket, docker_client):
    from workbench.engine.api import interrupt_job, wait_for_job

    steps = [{"op": "resume", "epochs": 12, "pause": 0.4}]
    spec = writer_spec(tmp_path, steps, f"s3://{bucket}/spot", hosts=2, EnableManagedSpotTraining=True)
    spec["StoppingCondition"] = {"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 600}
    job = BackgroundJob(spec, tmp_path)

    def epoch_in_s3(host: str) -> int:
        import json

        body = keys(s3, bucket, "spot/").get(f"spot/state-{host}.json")
        return json.loads(body)["epoch"] if body else 0

    wait_for(lambda: epoch_in_s3("algo-1") >= 3 and epoch_in_s3("algo-2") >= 3, 60, "epoch 3 in S3")
    interrupt_job(job.name)
    record = job.finish(timeout=180)
    assert wait_for_job(job.name)["TrainingJobStatus"] == "Completed"
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    attempts = job.of(ev.AttemptStarted)
    assert [a.attempt for a in attempts] == [2]
    restored = [r for r in job.of(ev.CheckpointsRestored) if r.attempt == 2]
    assert {r.host for r in restored} == {"algo-1", "algo-2"} and all(r.files >= 2 for r in restored)
    for host in ("algo-1", "algo-2"):
        resumed = [line for line in job.log(host) if line.startswith("resuming from epoch")]
        assert len(resumed) == 1 and int(resumed[0].split()[-1]) >= 3
        assert epoch_in_s3(host) == 12
    assert record["Workbench"]["Checkpoints"]["Summary"]["Final"] is True
    assert leftovers(docker_client, job.name) == []
