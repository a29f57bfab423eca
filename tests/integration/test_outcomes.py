"""Outputs, failures and statuses: what a job leaves behind and how it ends."""

import json
import tarfile

import pytest

from workbench.engine import events as ev
from tests.integration.jobs import leftovers, probe_spec, run_spec

pytestmark = pytest.mark.docker


def test_model_tar_merges_every_host(tmp_path, images, docker_client):
    spec = probe_spec(tmp_path, hosts=2, Environment={"PROBE_MODEL": "shared.txt"})
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed"
    model = tmp_path / "output" / ran.name / "output" / "model.tar.gz"
    assert ran.record["ModelArtifacts"]["S3ModelArtifacts"] == model.as_uri()
    with tarfile.open(model) as tar:
        names = sorted(tar.getnames())
        assert names == ["algo-1.txt", "algo-2.txt", "shared.txt"]
        assert tar.extractfile("shared.txt").read() == b"algo-1"
    with tarfile.open(tmp_path / "output" / ran.name / "output" / "output.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["probe-algo-1.json", "probe-algo-2.json"]
    warnings = [n.message for n in ran.of(ev.Notice) if n.level == "warning"]
    assert any("shared.txt" in w and "algo-1" in w and "algo-2" in w for w in warnings)


def test_outputs_to_s3_and_uncompressed(tmp_path, images, s3, bucket):
    spec = probe_spec(tmp_path, Environment={"PROBE_MODEL": "weights.bin"})
    spec["OutputDataConfig"] = {"S3OutputPath": f"s3://{bucket}/results", "CompressionType": "NONE"}
    ran = run_spec(spec, tmp_path)
    assert ran.record["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{bucket}/results/{ran.name}/output/model/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [f"results/{ran.name}/output/data/probe-algo-1.json",
                    f"results/{ran.name}/output/model/algo-1.txt",
                    f"results/{ran.name}/output/model/weights.bin"]


def test_outputs_to_s3_gzip(tmp_path, images, s3, bucket):
    spec = probe_spec(tmp_path, Environment={"PROBE_MODEL": "weights.bin"})
    spec["OutputDataConfig"] = {"S3OutputPath": f"s3://{bucket}/results/"}
    ran = run_spec(spec, tmp_path)
    key = f"results/{ran.name}/output/model.tar.gz"
    assert ran.record["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{bucket}/{key}"
    s3.head_object(Bucket=bucket, Key=key)
    s3.head_object(Bucket=bucket, Key=f"results/{ran.name}/output/output.tar.gz")


def test_failure_file_becomes_the_failure_reason(tmp_path, images):
    reason = "AlgorithmError: out of patience. " * 100
    ran = run_spec(probe_spec(tmp_path, Environment={
        "PROBE_EXIT": "2", "PROBE_FAILURE": "AlgorithmError: out of patience. ", "PROBE_FAILURE_REPEAT": "100"}), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["SecondaryStatus"] == "Failed"
    assert ran.record["FailureReason"] == reason[:1024]


def test_non_zero_exit_on_one_host_of_three_stops_the_others(tmp_path, images, docker_client):
    spec = probe_spec(tmp_path, hosts=3, Environment={
        "PROBE_EXIT": "3", "PROBE_EXIT_HOSTS": "algo-2", "PROBE_SLEEP": "60", "PROBE_SLEEP_HOSTS": "algo-1,algo-3",
        "PROBE_SIGTERM": "handle"})
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("AlgorithmError: algo-2 exited with exit code 3")
    signalled = {(s.host, s.signal, s.reason) for s in ran.of(ev.SignalSent)}
    assert signalled == {("algo-1", "SIGTERM", "Failed"), ("algo-3", "SIGTERM", "Failed")}
    exits = {e.host: e.exit_code for e in ran.of(ev.HostExited)}
    assert exits == {"algo-1": 0, "algo-2": 3, "algo-3": 0}
    assert ran.record["TrainingTimeInSeconds"] < 30
    assert leftovers(docker_client, ran.name) == []


def test_statuses_move_as_sagemaker_does(tmp_path, images):
    ran = run_spec(probe_spec(tmp_path), tmp_path)
    transitions = [t["Status"] for t in ran.record["SecondaryStatusTransitions"]]
    assert transitions == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    for transition in ran.record["SecondaryStatusTransitions"]:
        assert transition["StartTime"] <= transition["EndTime"]
        assert transition["StatusMessage"]
    for key in ("TrainingJobArn", "TrainingStartTime", "TrainingEndTime", "TrainingTimeInSeconds",
                "AlgorithmSpecification", "HyperParameters", "ResourceConfig", "StoppingCondition", "RoleArn"):
        assert key in ran.record
    host = ran.record["Workbench"]["Hosts"]["algo-1"]
    assert host["ExitCode"] == 0 and len(host["ContainerId"]) == 64
    kinds = [type(e).__name__ for e in ran.events if not isinstance(e, ev.LogLines)]
    assert kinds[0] == "JobCreated" and kinds[-1] == "JobFinished"
    assert "HostStarted" in kinds and "HostExited" in kinds and "ChannelStaged" in kinds


def test_a_missing_train_program_fails_with_advice(tmp_path, images):
    spec = probe_spec(tmp_path, image=images["shell"])
    spec["AlgorithmSpecification"]["ContainerEntrypoint"] = ["/no/such/program"]
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "cannot start the training container on algo-1" in ran.record["FailureReason"]


def test_the_event_log_replays_the_job(tmp_path, images):
    from workbench.engine.record import apply_event
    from workbench.engine.store import read_events

    ran = run_spec(probe_spec(tmp_path, hosts=2), tmp_path)
    stored = list(read_events(ran.paths))
    live = [e for e in ran.events if not isinstance(e, ev.LogLines)]
    assert [e.to_dict() for e in stored] == [e.to_dict() for e in live]
    from workbench.engine.record import new_record

    # From the request fields alone (as CreateTrainingJob left it), the events rebuild the rest.
    rebuilt = new_record(json.loads(json.dumps(ran.record)), ran.record["TrainingJobArn"], 0)
    rebuilt["CreationTime"] = ran.record["CreationTime"]
    for event in stored:
        apply_event(rebuilt, event)
    for key in ("TrainingJobStatus", "SecondaryStatus", "SecondaryStatusTransitions", "ModelArtifacts",
                "TrainingTimeInSeconds"):
        assert rebuilt[key] == ran.record[key]
    assert rebuilt["Workbench"]["Hosts"] == ran.record["Workbench"]["Hosts"]
