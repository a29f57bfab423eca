"""Checkpoints in real jobs: restore from a raw S3 prefix, live sync of new, changed and deleted
files, two hosts writing one name, stop and failure drains, symlinks, an S3 outage mid-job."""

import hashlib

import pytest

from workbench.cli import main
from workbench.engine import events as ev
from tests.integration.checkpoint_jobs import BackgroundJob, content, keys, writer_spec
from tests.integration.jobs import leftovers, run_spec, wait_for

pytestmark = pytest.mark.docker


def restored_lines(log: list[str]) -> list[list[str]]:
    """The `restored <rel> <size> <sha1>` lines of each `list` step, one list per step."""
    listings, current = [], []
    for line in log:
        if line.startswith("restored "):
            current.append(line)
        elif line == "listed":
            listings.append(current)
            current = []
    return listings


def sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_restore_from_a_raw_prefix_into_every_host(tmp_path, images, s3, bucket, docker_client):
    objects = {
        "ckpt-1/a.pt": b"alpha",  # under <S3Uri>/: back at a.pt
        "ckpt-1/sub/b.pt": b"beta",
        "ckpt-10/c.pt": b"gamma",  # the raw prefix also matches ckpt-10/ (relative to the prefix's folder)
        "ckpt-1.old": b"old",
        "other/x.pt": b"not matched",
    }
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    steps = [{"op": "list"}, {"op": "wait", "name": "go"}, {"op": "list"}]
    job = BackgroundJob(writer_spec(tmp_path, steps, f"s3://{bucket}/ckpt-1", hosts=2), tmp_path)
    wait_for(lambda: len([line for line in job.log("algo-2") if line == "listed"]) == 1, what="the first listing")
    s3.put_object(Bucket=bucket, Key="ckpt-1/late.pt", Body=b"added after the start")
    job.go("go", ("algo-1", "algo-2"))
    record = job.finish()
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")

    expected = sorted(f"restored {rel} {len(body)} {sha(body)}" for rel, body in [
        ("a.pt", b"alpha"), ("sub/b.pt", b"beta"), ("ckpt-10/c.pt", b"gamma"), ("ckpt-1.old", b"old")])
    for host in ("algo-1", "algo-2"):
        first, second = restored_lines(job.log(host))
        assert sorted(first) == expected
        assert sorted(second) == expected  # objects added later are not copied in
    restored = {e.host: e for e in job.of(ev.CheckpointsRestored)}
    assert set(restored) == {"algo-1", "algo-2"}
    assert all(r.files == 4 and r.bytes == 17 and r.source == f"s3://{bucket}/ckpt-1" for r in restored.values())
    assert record["Workbench"]["Checkpoints"]["Restored"]["algo-2"]["Files"] == 4
    # Restored files nobody changed are not uploaded again (no ckpt-1/ckpt-10/c.pt appears).
    assert sorted(keys(s3, bucket)) == sorted([*objects, "ckpt-1/late.pt"])
    assert leftovers(docker_client, job.name) == []


def test_new_changed_and_deleted_files_sync_live_and_drain_after_a_failure(tmp_path, images, s3, bucket, capsys):
    steps = [
        {"op": "write", "path": "a.pt", "tag": "v1", "size": 3000},
        {"op": "write", "path": "sub/b.pt", "tag": "v1"},
        {"op": "wait", "name": "go1"},
        {"op": "write", "path": "a.pt", "tag": "v2", "size": 5000},
        {"op": "delete", "path": "sub/b.pt"},
        {"op": "write", "path": "deep/er/c.pt", "tag": "v1"},
        {"op": "wait", "name": "go2"},
        {"op": "write", "path": "last.pt", "tag": "v1"},
        {"op": "exit", "code": 3},
    ]
    spec = writer_spec(tmp_path, steps, f"s3://{bucket}/runs/r1/", local_path="/ckpt")
    job = BackgroundJob(spec, tmp_path)
    base = "runs/r1/"
    # While the container runs (it waits for go1), both files reach S3.
    wait_for(lambda: job.state("a.pt") == "synced" and job.state("sub/b.pt") == "synced", what="first sync")
    assert keys(s3, bucket, base) == {base + "a.pt": content("v1", "algo-1", 3000),
                                      base + "sub/b.pt": content("v1", "algo-1")}
    job.go("go1")
    wait_for(lambda: job.state("sub/b.pt") == "deleted" and job.state("deep/er/c.pt") == "synced"
             and keys(s3, bucket, base).get(base + "a.pt") == content("v2", "algo-1", 5000), what="second sync")
    assert sorted(keys(s3, bucket, base)) == [base + "a.pt", base + "deep/er/c.pt"]
    job.go("go2")
    record = job.finish()
    assert record["TrainingJobStatus"] == "Failed"
    # The file written just before the failure was drained before the job ended.
    assert keys(s3, bucket, base) == {base + "a.pt": content("v2", "algo-1", 5000),
                                      base + "deep/er/c.pt": content("v1", "algo-1"),
                                      base + "last.pt": content("v1", "algo-1")}
    assert job.states("a.pt")[:3] == ["pending", "uploading", "synced"]
    synced = [e for e in job.of(ev.CheckpointFileState) if e.state == "synced"]
    assert all(e.lag is not None and 0 <= e.lag < 10 and e.host == "algo-1" for e in synced)
    assert {e.path: e.size for e in synced}["a.pt"] in (3000, 5000)
    summary = record["Workbench"]["Checkpoints"]["Summary"]
    assert summary["Final"] is True
    assert (summary["Files"], summary["Pending"], summary["Synced"], summary["Deleted"]) == (3, 0, 3, 1)
    assert summary["Bytes"] == 5000 + 64 + 64
    assert job.of(ev.CheckpointSummary)[-1].final
    finished = job.of(ev.JobFinished)[0]
    assert all(e.time <= finished.time for e in job.of(ev.CheckpointFileState))

    capsys.readouterr()
    assert main(["checkpoints", job.name]) == 0
    out = capsys.readouterr().out
    assert "algo-1  a.pt" in out and "synced" in out
    assert "sub/b.pt" in out and "deleted" in out
    assert "3 files" in out and "0 pending" in out


def test_two_hosts_writing_one_name_are_warned_once(tmp_path, images, s3, bucket):
    steps = [
        {"op": "write", "path": "shared.pt", "tag": "one"},
        {"op": "write", "path": "rank.pt", "tag": "one", "hosts": ["algo-1"]},
        {"op": "write", "path": "rank2.pt", "tag": "one", "hosts": ["algo-2"]},
        {"op": "sleep", "seconds": 0.6},
        {"op": "write", "path": "shared.pt", "tag": "two"},
    ]
    ran = run_spec(writer_spec(tmp_path, steps, f"s3://{bucket}/multi", hosts=2), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    warnings = [n.message for n in ran.of(ev.Notice) if "shared.pt" in n.message]
    assert len(warnings) == 1
    assert "algo-1 and algo-2 both wrote shared.pt" in warnings[0]
    assert f"s3://{bucket}/multi/shared.pt" in warnings[0]
    assert not [n for n in ran.of(ev.Notice) if "rank" in n.message]
    stored = keys(s3, bucket, "multi/")
    assert sorted(stored) == ["multi/rank.pt", "multi/rank2.pt", "multi/shared.pt"]
    assert stored["multi/shared.pt"] in (content("two", "algo-1"), content("two", "algo-2"))
    hosts = {e.host for e in ran.of(ev.CheckpointFileState) if e.path == "shared.pt" and e.state == "synced"}
    assert hosts == {"algo-1", "algo-2"}


def test_a_stop_drains_what_the_sigterm_handler_saved(tmp_path, images, s3, bucket):
    steps = [{"op": "write", "path": "step-1.pt"}, {"op": "sleep", "seconds": 120}]
    job = BackgroundJob(writer_spec(tmp_path, steps, f"s3://{bucket}/stop"), tmp_path)
    wait_for(lambda: job.state("step-1.pt") == "synced", what="step-1.pt synced")
    job.job.stop()
    record = job.finish()
    assert record["TrainingJobStatus"] == "Stopped"
    assert sorted(keys(s3, bucket, "stop/")) == ["stop/final-algo-1.pt", "stop/step-1.pt"]
    assert record["Workbench"]["Checkpoints"]["Summary"]["Pending"] == 0


def test_a_container_cannot_lead_the_sync_out_of_its_folder(tmp_path, images, s3, bucket):
    steps = [
        {"op": "write", "path": "a.pt"},
        {"op": "symlink", "target": "/etc/hostname", "path": "leak-file"},  # in the container: its own file;
        {"op": "symlink", "target": "/", "path": "leak-root"},  # read from the host: the host's
        {"op": "symlink", "target": "/opt/ml/checkpoints/a.pt", "path": "absolute.pt"},  # inside, as the container
        {"op": "symlink", "target": "a.pt", "path": "latest.pt"},  # sees it: followed, like a relative one
        {"op": "symlink", "target": "../../input/config/hyperparameters.json", "path": "up.json"},
        {"op": "fifo", "path": "pipe"},
        {"op": "sleep", "seconds": 0.6},
    ]
    ran = run_spec(writer_spec(tmp_path, steps, f"s3://{bucket}/safe"), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert keys(s3, bucket) == {"safe/a.pt": content("v1", "algo-1"), "safe/latest.pt": content("v1", "algo-1"),
                                "safe/absolute.pt": content("v1", "algo-1")}
    warned = " ".join(n.message for n in ran.of(ev.Notice))
    for name in ("leak-file", "leak-root", "up.json"):
        assert f"{name} is a symlink leading out of the checkpoint folder" in warned


def test_a_key_that_would_escape_the_folder_fails_the_job_before_it_starts(tmp_path, images, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ckpt/fine.pt", Body=b"fine")
    s3.put_object(Bucket=bucket, Key="ckpt/../../../escaped.pt", Body=b"evil")
    ran = run_spec(writer_spec(tmp_path, [{"op": "list"}], f"s3://{bucket}/ckpt"), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "Refusing S3 object" in ran.record["FailureReason"] and "escapes" in ran.record["FailureReason"]
    assert not ran.of(ev.HostStarted)
    assert not list(tmp_path.rglob("escaped.pt")) and not list(ran.paths.root.parent.rglob("escaped.pt"))


def test_checkpoints_follow_prints_changes_until_the_job_ends(tmp_path, images, s3, bucket):
    import subprocess
    import sys

    import yaml

    steps = [{"op": "write", "path": "one.pt"}, {"op": "sleep", "seconds": 1.0}, {"op": "write", "path": "two.pt"},
             {"op": "sleep", "seconds": 0.5}]
    spec = writer_spec(tmp_path, steps, f"s3://{bucket}/follow")
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    started = subprocess.run([sys.executable, "-m", "workbench", "run", str(path), "--detach"],
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    followed = subprocess.run([sys.executable, "-m", "workbench", "checkpoints", spec["TrainingJobName"], "--follow"],
                              capture_output=True, text=True, timeout=120)
    assert followed.returncode == 0, followed.stderr
    lines = followed.stdout.splitlines()
    assert lines[0].startswith(f"Checkpoints of {spec['TrainingJobName']}: s3://{bucket}/follow <-> /opt/ml/checkpoints")
    for name in ("one.pt", "two.pt"):
        states = [line.split()[3] for line in lines if f" algo-1 {name} " in line]
        assert states == ["pending", "uploading", "synced"]
    assert "lag" in next(line for line in lines if " two.pt synced" in line)
    assert "2 files, 128 B: 2 synced, 0 pending (0 retrying), 0 deleted" in lines[-1]
    assert not lines[-1].endswith("(live)")

    plain = subprocess.run([sys.executable, "-m", "workbench", "checkpoints", "no-such-job"], capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 2 and "No job named 'no-such-job'" in plain.stderr


def test_a_file_a_container_writes_slowly_is_uploaded_once_whole(tmp_path, images, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # Pauses twice the quiet period with the file open: only /proc says the writer is not done.
    steps = [{"op": "slow_write", "path": "big.pt", "chunks": 4, "pause": 0.5}, {"op": "sleep", "seconds": 1.0}]
    ran = run_spec(writer_spec(tmp_path, steps, f"s3://{bucket}/slow"), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    found = s3.list_object_versions(Bucket=bucket, Prefix="slow/big.pt")["Versions"]
    assert len(found) == 1
    body = s3.get_object(Bucket=bucket, Key="slow/big.pt")["Body"].read()
    assert body.startswith(b"chunk0|") and b"chunk3|" in body and body.endswith(b"END")
    assert [e.state for e in ran.of(ev.CheckpointFileState) if e.path == "big.pt"] == ["pending", "uploading", "synced"]
