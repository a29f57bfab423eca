"""SageMaker jobs against a real HTTP endpoint (moto's server on 127.0.0.1): submit sends
exactly the spec's request, describe/stop/logs work on cloud jobs as on local ones, and
import brings a job home so that submitting it again sends the same request.

moto has no StopTrainingJob and its jobs are Completed the moment they are created, so
the tests that need a job to move use botocore's Stubber on the SageMaker client with
answers shaped as SageMaker gives them (botocore checks them against the API model)."""

from __future__ import annotations

import io
import json
import time
import uuid

import pytest
import yaml

from tests.conftest import SAMPLES
from tests.integration.cloud_helpers import (  # noqa: F401 (fixtures)
    ROLE, aws, described, put_logs, received, stubbed_sagemaker,
)
from workbench.cli import main
from workbench.engine import api, cloud_jobs
from workbench.engine import events as ev
from workbench.engine.store import job_paths
from workbench.errors import JobStateError

pytestmark = pytest.mark.s3

CREATE = "SageMaker.CreateTrainingJob"


def unique(prefix: str = "cloud") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _endpoint(aws):
    """Every test talks to moto's server, with fresh clients."""


@pytest.fixture
def fast(monkeypatch):
    """Follow and wait without the real pauses between DescribeTrainingJob / CloudWatch calls."""
    monkeypatch.setattr(cloud_jobs, "REFRESH_INTERVAL", 0.0)
    monkeypatch.setattr(cloud_jobs, "LOG_POLL_INTERVAL", 0.01)


def upload_sample(bucket: str, capsys) -> dict[str, str]:
    """The python-code sample's local folders, uploaded with `sm-workbench upload`."""
    uris = {}
    for folder in ("code", "data"):
        assert main(["upload", str(SAMPLES / "python-code" / folder), f"s3://{bucket}/python-code/{folder}"]) == 0
        uris[folder] = capsys.readouterr().out.strip()
    return uris


def sample_args(bucket: str, uris: dict[str, str]) -> list[str]:
    return ["--set", f"RoleArn={ROLE}",
            "--set", f"InputDataConfig[0].DataSource.S3DataSource.S3Uri={uris['code']}",
            "--set", f"InputDataConfig[1].DataSource.S3DataSource.S3Uri={uris['data']}",
            "--set", f"OutputDataConfig.S3OutputPath=s3://{bucket}/output",
            "--set", f"CheckpointConfig.S3Uri=s3://{bucket}/checkpoints"]


def minimal_spec(tmp_path, bucket: str, hosts: int | None = None) -> str:
    """A spec that leaves out everything the API can default, with a Workbench section."""
    text = f"""\
AlgorithmSpecification:
  TrainingImage: {ROLE.split(':')[4]}.dkr.ecr.us-east-1.amazonaws.com/trainer:1.0
RoleArn: {ROLE}
HyperParameters:
  epochs: 3
  rate: 0.5
InputDataConfig:
  - ChannelName: train
    DataSource:
      S3DataSource: {{S3DataType: S3Prefix, S3Uri: "s3://{bucket}/train/"}}
OutputDataConfig:
  S3OutputPath: s3://{bucket}/output
Workbench:
  StopGracePeriodSeconds: 5
"""
    if hosts:
        text += f"ResourceConfig:\n  InstanceType: ml.c5.xlarge\n  InstanceCount: {hosts}\n"
    path = tmp_path / f"minimal-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(text)
    return str(path)


def submit(spec: str, name: str, capsys, *extra: str) -> None:
    assert main(["submit", spec, "--name", name, *extra]) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[-1] == name


def submit_running(spec: str, name: str, capsys) -> dict:
    """Submit while SageMaker says the job is starting (moto's jobs end the moment they are
    created, so both answers are stubbed); returns the request, checked by the Stubber."""
    from workbench.spec import load_job_spec

    request = load_job_spec(spec, target="sagemaker", name=name).request
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    with stubbed_sagemaker() as stub:
        stub.add_response("create_training_job", {"TrainingJobArn": arn}, request)
        stub.add_response("describe_training_job", described(request, "Starting"), {"TrainingJobName": name})
        submit(spec, name, capsys)
    return request


# --- submit -------------------------------------------------------------------------


def test_submit_sends_exactly_the_sample_specs_request(bucket, received, capsys):
    uris = upload_sample(bucket, capsys)
    name = unique("python-code")
    assert main(["submit", str(SAMPLES / "python-code" / "job.yaml"), "--name", name, *sample_args(bucket, uris)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == name
    assert f"Submitted {name} to SageMaker (us-east-1): arn:aws:sagemaker:us-east-1:" in out.err

    assert received(CREATE) == [{
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "sm-workbench/python:latest", "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/train.py"]},
        "HyperParameters": {"epochs": "20", "learning_rate": "0.05", "epoch_seconds": "0.2"},
        "InputDataConfig": [
            {"ChannelName": "code", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/python-code/code/"}}},
            {"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/python-code/data/"}}},
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CheckpointConfig": {"S3Uri": f"s3://{bucket}/checkpoints"},
        "Environment": {"LOG_LEVEL": "info"},
        "RoleArn": ROLE,
    }]

    # In the job history, as a SageMaker job; never taken over as a local job would be.
    assert main(["jobs", "--json"]) == 0
    record = next(r for r in json.loads(capsys.readouterr().out) if r["TrainingJobName"] == name)
    assert record["Workbench"]["Kind"] == "sagemaker"
    assert record["TrainingJobArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    assert main(["jobs"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name))
    assert row.split()[1] == "SageMaker"
    assert api.job_kind(name) == "sagemaker"
    assert api.job_spec(name)["Workbench"] == {"StopGracePeriodSeconds": 30}  # kept for reruns here
    assert not job_paths(name).owner.exists()


def test_submit_fills_the_defaults_and_strips_workbench(tmp_path, bucket, received, capsys):
    name = unique("minimal")
    submit(minimal_spec(tmp_path, bucket), name, capsys)
    (request,) = received(CREATE)
    assert request == {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:1.0",
                                   "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {"epochs": "3", "rate": "0.5"},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }


def test_submit_without_a_name_uses_the_sdk_naming(tmp_path, bucket, received, capsys):
    assert main(["submit", minimal_spec(tmp_path, bucket)]) == 0
    name = capsys.readouterr().out.strip()
    assert name.startswith("trainer-") and [r["TrainingJobName"] for r in received(CREATE)] == [name]


def test_submit_refuses_local_inputs_and_says_to_upload(received, capsys):
    assert main(["submit", str(SAMPLES / "hello" / "job.yaml"), "--name", unique()]) == 2
    err = capsys.readouterr().err
    assert "InputDataConfig[0].DataSource.S3DataSource.S3Uri: 'data/' is a local path" in err
    assert "sm-workbench upload PATH s3://BUCKET/PREFIX" in err
    assert "RoleArn: is required" in err
    assert "Traceback" not in err
    assert received(CREATE) == []
    assert api.list_jobs() == []


def test_submit_refuses_the_local_placeholder_role(tmp_path, bucket, received, capsys):
    spec = minimal_spec(tmp_path, bucket)
    role = "arn:aws:iam::000000000000:role/sm-workbench-local"
    assert main(["submit", spec, "--set", f"RoleArn={role}"]) == 2
    assert f"RoleArn: {role!r} is sm-workbench's stand-in for local runs" in capsys.readouterr().err
    assert received(CREATE) == []


def test_a_name_used_here_is_refused_before_anything_is_sent(tmp_path, bucket, received, capsys):
    name = unique()
    submit(minimal_spec(tmp_path, bucket), name, capsys)
    assert main(["submit", minimal_spec(tmp_path, bucket), "--name", name]) == 2
    assert f"A job named {name!r} already exists" in capsys.readouterr().err
    assert len(received(CREATE)) == 1


# --- upload -------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_upload_a_folder_and_a_file_with_a_progress_bar(tmp_path, s3, bucket, capsys):
    from workbench.cli.progress import ProgressBar

    folder = tmp_path / "dataset"
    (folder / "part").mkdir(parents=True)
    (folder / "a.csv").write_text("1,2\n" * 1000)
    (folder / "part" / "b.csv").write_text("3,4\n" * 10)
    (folder / "c.bin").write_bytes(bytes(5000))

    terminal = _Terminal()
    bar = ProgressBar("Uploading dataset", stream=terminal, interval=0)
    done = api.upload(str(folder), f"s3://{bucket}/sets/v1", on_progress=bar)
    bar.finish()
    assert (done.uri, done.files, done.bytes) == (f"s3://{bucket}/sets/v1/", 3, 4000 + 40 + 5000)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="sets/")["Contents"])
    assert keys == ["sets/v1/a.csv", "sets/v1/c.bin", "sets/v1/part/b.csv"]
    drawn = terminal.getvalue()
    assert "\r" in drawn and "100%" in drawn and "3/3 files" in drawn and drawn.endswith("\n")

    assert main(["upload", str(folder / "a.csv"), f"s3://{bucket}/single/"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == f"s3://{bucket}/single/a.csv"
    assert "Uploaded 1 file (3.9 KB)" in out.err
    assert s3.get_object(Bucket=bucket, Key="single/a.csv")["Body"].read() == b"1,2\n" * 1000


def test_upload_errors_are_one_line(tmp_path, bucket, capsys):
    assert main(["upload", str(tmp_path / "missing"), f"s3://{bucket}/x/"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["upload", str(tmp_path), "/tmp/elsewhere"]) == 2
    assert "is not an S3 URI; write s3://BUCKET/PREFIX" in capsys.readouterr().err
    (tmp_path / "f.txt").write_text("x")
    assert main(["upload", str(tmp_path / "f.txt"), "s3://no-such-bucket-here/x/"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: Cannot upload {tmp_path / 'f.txt'} to s3://no-such-bucket-here/x/f.txt: bucket "
                   "'no-such-bucket-here' does not exist; create it or correct the S3 URI")


# --- describe -----------------------------------------------------------------------


def test_describe_refreshes_the_record_from_sagemaker(tmp_path, bucket, received, capsys):
    name = unique()
    submit(minimal_spec(tmp_path, bucket, hosts=2), name, capsys)
    assert main(["describe", name]) == 0
    record = json.loads(capsys.readouterr().out)
    # moto's jobs complete at once; the record is its DescribeTrainingJob answer.
    assert record["TrainingJobStatus"] == "Completed"
    assert record["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{bucket}/output/{name}/output/model.tar.gz"
    assert record["CreationTime"].endswith("Z")
    assert record["Workbench"]["Kind"] == "sagemaker"
    assert set(record["Workbench"]["Hosts"]) == {"algo-1", "algo-2"}
    assert set(record["Workbench"]["NotAvailable"]) == {"Gpu", "OptMl", "Checkpoints", "Signals"}
    assert {"TrainingJobName": name} in received("SageMaker.DescribeTrainingJob")
    assert api.job_hosts(name) == ["algo-1", "algo-2"]
    kinds = [type(e).__name__ for e in api.job_events(name)]
    assert kinds == ["JobCreated", "StatusChanged", "JobFinished"]


def test_describe_follows_the_status_as_it_moves(tmp_path, bucket, capsys):
    name = unique()
    request = submit_running(minimal_spec(tmp_path, bucket), name, capsys)
    assert json.loads(job_paths(name).describe.read_text())["SecondaryStatus"] == "Starting"
    with stubbed_sagemaker() as stub:
        stub.add_response("describe_training_job", described(request, "Training"), {"TrainingJobName": name})
        stub.add_response("describe_training_job", described(request, "Completed"), {"TrainingJobName": name})
        assert main(["describe", name]) == 0
        running = json.loads(capsys.readouterr().out)
        assert (running["TrainingJobStatus"], running["SecondaryStatus"]) == ("InProgress", "Training")
        changes = [(e.status, e.secondary) for e in api.job_events(name) if isinstance(e, ev.StatusChanged)]
        assert changes == [("InProgress", "Starting"), ("InProgress", "Downloading"), ("InProgress", "Training")]

        assert main(["describe", name]) == 0
        done = json.loads(capsys.readouterr().out)
        assert done["TrainingJobStatus"] == "Completed" and done["TrainingTimeInSeconds"] == 120
        finished = api.job_events(name)[-1]
        assert isinstance(finished, ev.JobFinished) and finished.status == "Completed"
        assert finished.model_artifacts == done["ModelArtifacts"]["S3ModelArtifacts"]
        # An ended job's record no longer changes: no more calls (the Stubber has none left).
        assert main(["describe", name]) == 0
        assert json.loads(capsys.readouterr().out)["TrainingJobStatus"] == "Completed"


def test_a_cloud_job_is_never_taken_over_as_a_local_job(tmp_path, bucket, capsys, monkeypatch):
    from tests.conftest import _free_port

    name = unique()
    submit(minimal_spec(tmp_path, bucket), name, capsys)
    paths = job_paths(name)
    record = json.loads(paths.describe.read_text())
    record.update(TrainingJobStatus="InProgress", SecondaryStatus="Training")
    record["Workbench"].pop("RefreshedAt")
    paths.describe.write_text(json.dumps(record))
    # SageMaker cannot be reached: `jobs` still lists the job, quickly, with the reason.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    started = time.monotonic()
    assert main(["jobs", "--json"]) == 0
    assert time.monotonic() - started < 20
    listed = next(r for r in json.loads(capsys.readouterr().out) if r["TrainingJobName"] == name)
    assert listed["TrainingJobStatus"] == "InProgress"
    assert "does not answer" in listed["Workbench"]["RefreshError"]
    from workbench.engine.local_jobs import reconcile

    assert reconcile(paths)["TrainingJobStatus"] == "InProgress"  # never taken over as a local job
    assert not paths.owner.exists() and not (paths.control / "adopting").exists()
    assert not paths.worker_log.exists()


# --- stop ---------------------------------------------------------------------------


def test_stop_calls_stop_training_job_and_waits_for_stopped(tmp_path, bucket, capsys, fast):
    name = unique()
    request = submit_running(minimal_spec(tmp_path, bucket), name, capsys)
    ask = {"TrainingJobName": name}
    with stubbed_sagemaker() as stub:
        stub.add_response("describe_training_job", described(request, "Training"), ask)  # describe_job
        stub.add_response("describe_training_job", described(request, "Training"), ask)  # before stopping
        stub.add_response("stop_training_job", {}, ask)
        stub.add_response("describe_training_job", described(request, "Stopping"), ask)
        stub.add_response("describe_training_job", described(request, "Stopped"), ask)
        assert main(["stop", name]) == 0
    err = capsys.readouterr().err
    assert f"Stopping {name}: SIGTERM now, SIGKILL after the grace period (120 s)" in err
    assert "Status:     Stopped (Stopped)" in err
    assert api.describe_job(name)["TrainingJobStatus"] == "Stopped"
    assert [e.secondary for e in api.job_events(name) if isinstance(e, ev.StatusChanged)][-1] == "Stopping"

    assert main(["stop", name]) == 2
    assert f"Job {name} has already ended (Stopped); nothing to stop" in capsys.readouterr().err


def test_stop_kill_and_interrupt_are_refused_for_cloud_jobs(tmp_path, bucket, capsys, fast):
    name = unique()
    request = submit_running(minimal_spec(tmp_path, bucket), name, capsys)
    with stubbed_sagemaker() as stub:
        stub.add_response("describe_training_job", described(request, "Training"))
        stub.add_response("describe_training_job", described(request, "Training"))
        assert main(["stop", name, "--kill"]) == 2
        assert "SageMaker cannot kill" in capsys.readouterr().err
    with pytest.raises(JobStateError) as err:
        api.interrupt_job(name)
    assert "runs on SageMaker, where a spot interruption cannot be caused" in str(err.value)


# --- logs ---------------------------------------------------------------------------


def test_logs_from_two_streams_merged_in_time_order(tmp_path, bucket, capsys):
    name = unique()
    submit(minimal_spec(tmp_path, bucket, hosts=2), name, capsys)
    base = int(time.time() * 1000) - 60_000
    put_logs(name, {
        "algo-1": [(base + 0, "1: start"), (base + 30, "1: epoch 1"), (base + 50, "1: traceback\n  line two")],
        "algo-2": [(base + 10, "2: start"), (base + 20, "2: epoch 1"), (base + 40, "2: done")],
    })
    put_logs(name, {"algo-1": [(base + 45, "1: restarted")]}, epoch=int(time.time()) + 7)  # a new instance stream
    put_logs(name + "-other", {"algo-1": [(base + 5, "another job")]})  # shares the name as a prefix only

    assert main(["logs", name]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "algo-1 | 1: start",
        "algo-2 | 2: start",
        "algo-2 | 2: epoch 1",
        "algo-1 | 1: epoch 1",
        "algo-2 | 2: done",
        "algo-1 | 1: restarted",
        "algo-1 | 1: traceback",
        "algo-1 |   line two",
    ]
    assert main(["logs", name, "--host", "algo-2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2: start", "2: epoch 1", "2: done"]
    assert main(["logs", name, "--host", "algo-9"]) == 2
    assert "has no host 'algo-9'" in capsys.readouterr().err
    lines = list(api.read_logs(name))
    assert [round(t * 1000) for t, _, _ in lines] == sorted(round(t * 1000) for t, _, _ in lines)


def test_logs_of_a_job_that_has_not_logged_yet(tmp_path, bucket, capsys):
    name = unique()
    submit(minimal_spec(tmp_path, bucket), name, capsys)
    assert main(["logs", name]) == 0
    assert capsys.readouterr().out == ""


def test_logs_follow_reads_lines_as_they_arrive_until_the_job_ends(tmp_path, bucket, capsys, fast):
    name = unique()
    request = submit_running(minimal_spec(tmp_path, bucket, hosts=2), name, capsys)
    now = int(time.time() * 1000)
    put_logs(name, {"algo-1": [(now, "first")]})
    seen = []
    with stubbed_sagemaker() as stub:
        stub.add_response("describe_training_job", described(request, "Training"))
        stub.add_response("describe_training_job", described(request, "Completed"))
        for moment, host, text in api.read_logs(name, follow=True):
            seen.append((host, text))
            if text == "first":
                put_logs(name, {"algo-2": [(now + 5, "second")]})
    assert seen == [("algo-1", "first"), ("algo-2", "second")]
    assert main(["logs", name, "--follow"]) == 0  # an ended job: prints and returns
    assert capsys.readouterr().out.splitlines() == ["algo-1 | first", "algo-2 | second"]


def test_follow_events_of_a_running_cloud_job(tmp_path, bucket, capsys, fast):
    """What the TUI's monitor and `submit --follow` see: transitions, then lines as they
    arrive in CloudWatch, then the end."""
    name = unique()
    request = submit_running(minimal_spec(tmp_path, bucket, hosts=2), name, capsys)
    now = int(time.time() * 1000)
    put_logs(name, {"algo-1": [(now, "first")]})
    seen: list[ev.Event] = []
    with stubbed_sagemaker() as stub:
        stub.add_response("describe_training_job", described(request, "Training"))
        stub.add_response("describe_training_job", described(request, "Training"))
        stub.add_response("describe_training_job", described(request, "Completed"))
        for event in api.follow_events(name):
            seen.append(event)
            if isinstance(event, ev.LogLines) and event.lines[0][1] == "first":
                put_logs(name, {"algo-2": [(now + 5, "second")]})
    kinds = [type(e).__name__ for e in seen]
    assert kinds[0] == "JobCreated" and kinds[-1] == "JobFinished"
    assert [(e.host, [t for _, t in e.lines]) for e in seen if isinstance(e, ev.LogLines)] == [
        ("algo-1", ["first"]), ("algo-2", ["second"])]
    assert [e.secondary for e in seen if isinstance(e, ev.StatusChanged)] == [
        "Starting", "Downloading", "Training", "Uploading"]
    assert seen[-1].status == "Completed"


def test_submit_follow_prints_host_prefixed_lines_and_a_summary(tmp_path, bucket, capsys, fast):
    name = unique()
    put_logs(name, {"algo-1": [(int(time.time() * 1000), "hello from SageMaker")]})
    assert main(["submit", minimal_spec(tmp_path, bucket), "--name", name, "--follow"]) == 0
    out = capsys.readouterr()
    assert "algo-1 | hello from SageMaker" in out.out.splitlines()
    assert "Status:     Completed (Completed)" in out.err
    assert f"Model:      s3://{bucket}/output/{name}/output/model.tar.gz" in out.err


# --- import -------------------------------------------------------------------------


def test_import_round_trip_sends_the_same_request(tmp_path, bucket, received, capsys):
    uris = upload_sample(bucket, capsys)
    name = unique("python-code")
    tags = "Tags=[{Key: team, Value: vision}, {Key: cost-center, Value: '42'}]"
    assert main(["submit", str(SAMPLES / "python-code" / "job.yaml"), "--name", name,
                 *sample_args(bucket, uris), "--set", tags]) == 0
    capsys.readouterr()
    (original,) = received(CREATE)

    # DescribeTrainingJob of the job as SageMaker reports a failed one, and its tags.
    failure = "AlgorithmError: ExecuteUserScriptError: Command \"python3 train.py\" exited with code 1"
    imported = tmp_path / "imported.yaml"
    with stubbed_sagemaker() as stub:
        stub.add_response("describe_training_job", described(original, "Failed", failure), {"TrainingJobName": name})
        stub.add_response("list_tags", {"Tags": original["Tags"] + [{"Key": "aws:sagemaker:owner", "Value": "x"}]},
                          {"ResourceArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"})
        assert main(["import", name, "-o", str(imported)]) == 0
    assert f"Wrote {imported} from {name} (Failed)" in capsys.readouterr().err
    text = imported.read_text()
    assert text.startswith(f"# Imported from the SageMaker training job {name}\n")
    assert "# FailureReason: AlgorithmError: ExecuteUserScriptError" in text
    spec = yaml.safe_load(text)
    assert "TrainingJobName" not in spec and "KmsKeyId" not in spec["OutputDataConfig"]
    assert "S3DataDistributionType" not in spec["InputDataConfig"][0]["DataSource"]["S3DataSource"]

    assert main(["validate", "--target", "sagemaker", str(imported)]) == 0
    capsys.readouterr()
    again = unique("again")
    assert main(["submit", str(imported), "--name", again]) == 0
    resubmitted = received(CREATE)[1]
    assert resubmitted == {**original, "TrainingJobName": again}

    # The imported job's record in the history is the failed one SageMaker described.
    record = api.describe_job(name)
    assert (record["TrainingJobStatus"], record["FailureReason"]) == ("Failed", failure)
    # ... and it can be rerun here: its spec is a valid local spec under a new name.
    rerun = api.rerun_spec(name, new_name=unique("local"))
    assert rerun.request["AlgorithmSpecification"] == original["AlgorithmSpecification"]


def test_import_from_the_endpoint_and_validate(tmp_path, bucket, received, capsys):
    name = unique("elsewhere")
    spec = minimal_spec(tmp_path, bucket)
    submit(spec, name, capsys, "--set", "Tags=[{Key: team, Value: nlp}]")
    assert main(["rm", name]) == 0  # submitted from another machine, say: not in this history
    capsys.readouterr()
    assert main(["import", name]) == 0
    out = capsys.readouterr()
    data = yaml.safe_load(out.out)
    (sent,) = received(CREATE)
    expected = {k: v for k, v in sent.items() if k != "TrainingJobName"}
    # moto adds a metric definition of its own to every job it describes.
    data["AlgorithmSpecification"].pop("MetricDefinitions", None)
    assert data == expected
    assert api.job_kind(name) == "sagemaker"  # back in the history
    path = tmp_path / "imported.yaml"
    path.write_text(out.out)
    assert main(["validate", "--target", "sagemaker", str(path)]) == 0
    assert main(["import", name, "-o", str(path)]) == 2
    assert f"{path} already exists" in capsys.readouterr().err
    assert main(["import", name, "-o", str(path), "--force", "--no-history"]) == 0


def test_import_of_an_unknown_job(aws, capsys):
    assert main(["import", "no-such-job-anywhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: SageMaker has no training job and no tuning job named 'no-such-job-anywhere' in us-east-1; "
                   "check the "
                   "name, and AWS_PROFILE / AWS_DEFAULT_REGION if it runs in another account or region")
