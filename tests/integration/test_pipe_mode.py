"""Pipe mode on the real engine: FIFOs per epoch, byte-exact content, RecordIO, Gzip,
shuffling, sharding across hosts, early close, and readers that never open their pipe."""

from __future__ import annotations

import os
import threading
import time

import pytest

from tests.integration.channels import channel, decode_recordio, dumped, gz, reader_spec, report
from tests.integration.jobs import leftovers, run_spec
from workbench.engine import events as ev

pytestmark = pytest.mark.docker


def put_all(s3, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def epochs_fed(ran, name: str, host: str = "algo-1") -> list[ev.PipeEpochFed]:
    return sorted((e for e in ran.of(ev.PipeEpochFed) if e.channel == name and e.host == host), key=lambda e: e.epoch)


def test_two_epochs_byte_exact_from_s3_and_a_local_folder(tmp_path, images, s3, bucket, docker_client):
    objects = {"pipe/a.bin": os.urandom(1_500_000), "pipe/b/c.txt": b"hello\n", "pipe/d.empty": b"",
               "pipe/e.bin": os.urandom(70_001)}
    put_all(s3, bucket, {**objects, "pipeline/not-mine": b"x"})
    folder = tmp_path / "local"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_bytes(b"one\n")
    (folder / "sub" / "two.bin").write_bytes(os.urandom(200_000))
    spec = reader_spec(tmp_path, [channel("remote", f"s3://{bucket}/pipe/"), channel("local", str(folder))],
                       pipes="remote,local", epochs=2, dump=1, check_next=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")

    remote = b"".join(objects[k] for k in sorted(objects))
    local = (folder / "one.txt").read_bytes() + (folder / "sub" / "two.bin").read_bytes()
    for epoch in (0, 1):
        assert dumped(ran, "remote", epoch) == remote
        assert dumped(ran, "local", epoch) == local
    seen = report(ran)
    assert {"remote_0", "local_0"} <= set(seen["listing"])  # the FIFOs exist when the container starts
    assert "remote_1" not in seen["listing"]
    for name in ("remote", "local"):
        assert [e["next_before_close"] for e in seen["pipes"][name]] == [False, False]
        fed = epochs_fed(ran, name)
        assert [(e.epoch, e.closed_early) for e in fed] == [(0, False), (1, False)]
    assert [e.bytes for e in epochs_fed(ran, "remote")] == [len(remote)] * 2
    assert [e.records for e in epochs_fed(ran, "remote")] == [4, 4]
    host = ran.record["Workbench"]["Channels"]["remote"]["Hosts"]["algo-1"]
    assert host["Epochs"] == 2 and host["Files"] == 4
    data_dir = ran.paths.opt_ml("algo-1") / "input" / "data"
    assert sorted(os.listdir(data_dir)) == []  # every FIFO removed once read
    assert not leftovers(docker_client, ran.name)


def test_recordio_framing_read_by_an_independent_decoder(tmp_path, images, s3, bucket):
    payloads = {f"rec/{i:02d}": os.urandom(size) for i, size in enumerate([0, 1, 2, 3, 4, 5, 1000, 70_001])}
    payloads["rec/09"] = b"\x0a\x23\xd7\xce" * 3  # the magic inside a payload stays as it is
    put_all(s3, bucket, payloads)
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/rec/", RecordWrapperType="RecordIO")],
                       pipes="train", epochs=2, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    expected = [payloads[k] for k in sorted(payloads)]
    assert decode_recordio(dumped(ran, "train", 0)) == expected
    assert decode_recordio(dumped(ran, "train", 1)) == expected
    inputs = (ran.paths.opt_ml("algo-1") / "input" / "config" / "inputdataconfig.json").read_text()
    assert '"TrainingInputMode": "Pipe"' in inputs and '"RecordWrapperType": "RecordIO"' in inputs


def test_gzip_is_decompressed_on_the_way(tmp_path, images, s3, bucket):
    parts = {"gz/1.gz": b"first line\n" * 1000, "gz/2.gz": os.urandom(3_000_000)}
    members = (b"member one\n", b"member two\n")
    put_all(s3, bucket, {k: gz(v) for k, v in parts.items()})
    s3.put_object(Bucket=bucket, Key="gz/3.gz", Body=gz(members[0]) + gz(members[1]))
    local = tmp_path / "gzlocal"
    local.mkdir()
    (local / "x.gz").write_bytes(gz(b"local data"))
    spec = reader_spec(tmp_path, [
        channel("plain", f"s3://{bucket}/gz/", CompressionType="Gzip"),
        channel("records", f"s3://{bucket}/gz/", CompressionType="Gzip", RecordWrapperType="RecordIO"),
        channel("local", str(local), CompressionType="Gzip"),
    ], pipes="plain,records,local", epochs=2, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    whole = [parts["gz/1.gz"], parts["gz/2.gz"], b"".join(members)]
    for epoch in (0, 1):
        assert dumped(ran, "plain", epoch) == b"".join(whole)
        assert decode_recordio(dumped(ran, "records", epoch)) == whole
        assert dumped(ran, "local", epoch) == b"local data"


def test_shuffle_differs_per_epoch_and_repeats_for_the_same_seed(tmp_path, images, s3, bucket):
    names = [f"shuf/{i:02d}" for i in range(10)]
    put_all(s3, bucket, {name: name.encode() for name in names})
    uri = f"s3://{bucket}/shuf/"
    spec = reader_spec(tmp_path, [
        channel("one", uri, RecordWrapperType="RecordIO", ShuffleConfig={"Seed": 7}),
        channel("two", uri, RecordWrapperType="RecordIO", ShuffleConfig={"Seed": 7}),
        channel("other", uri, RecordWrapperType="RecordIO", ShuffleConfig={"Seed": 8}),
    ], pipes="one,two,other", epochs=3, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    orders = {name: [[r.decode() for r in decode_recordio(dumped(ran, name, e))] for e in range(3)]
              for name in ("one", "two", "other")}
    for order in orders["one"] + orders["other"]:
        assert sorted(order) == names  # every object once per epoch
    assert orders["one"] == orders["two"]  # same seed, same order, epoch after epoch
    assert len({tuple(o) for o in orders["one"]}) == 3  # a new order every epoch
    assert orders["one"][0] != names
    assert orders["other"] != orders["one"]


def test_sharded_by_s3_key_across_two_hosts(tmp_path, images, s3, bucket):
    names = [f"shard/{i}" for i in range(7)]
    put_all(s3, bucket, {name: name.encode() for name in names})
    uri = f"s3://{bucket}/shard/"
    spec = reader_spec(tmp_path, [
        channel("plain", uri, RecordWrapperType="RecordIO", S3DataDistributionType="ShardedByS3Key"),
        channel("mixed", uri, RecordWrapperType="RecordIO", S3DataDistributionType="ShardedByS3Key",
                ShuffleConfig={"Seed": 3}),
        channel("full", uri, RecordWrapperType="RecordIO"),
    ], hosts=2, pipes="plain,mixed,full", epochs=2, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")

    def got(name, epoch, host):
        return [r.decode() for r in decode_recordio(dumped(ran, name, epoch, host))]

    for epoch in (0, 1):
        assert got("plain", epoch, "algo-1") == names[0::2]
        assert got("plain", epoch, "algo-2") == names[1::2]
        one, two = got("mixed", epoch, "algo-1"), got("mixed", epoch, "algo-2")
        assert not set(one) & set(two) and sorted(one + two) == names and {len(one), len(two)} == {3, 4}
        assert got("full", epoch, "algo-1") == got("full", epoch, "algo-2") == names
    assignment = [set(got("mixed", e, "algo-1")) for e in (0, 1)]
    assert assignment[0] != assignment[1]  # shuffled across hosts anew each epoch, as SageMaker does


def test_early_close_ends_the_epoch_and_the_next_one_is_whole(tmp_path, images, s3, bucket):
    big = os.urandom(3 * 1024 * 1024 + 7)  # more than the pipe buffer: the feeder is mid-write
    put_all(s3, bucket, {"early/big.bin": big, "early/small.bin": b"tail"})
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/early/")], pipes="train", epochs=2, dump=1,
                       close_after=10)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert dumped(ran, "train", 0) == big[:10]
    assert dumped(ran, "train", 1) == big + b"tail"
    fed = epochs_fed(ran, "train")
    assert [(e.epoch, e.closed_early) for e in fed] == [(0, True), (1, False)]
    assert fed[0].bytes < len(big)
    assert ran.record["Workbench"]["Channels"]["train"]["Hosts"]["algo-1"]["ClosedEarly"] == 1


def test_a_reader_that_never_opens_its_pipe_does_not_hang_the_job(tmp_path, images, docker_client):
    folder = tmp_path / "unread"
    folder.mkdir()
    (folder / "data.bin").write_bytes(os.urandom(5_000_000))
    spec = reader_spec(tmp_path, [channel("train", str(folder)), channel("val", str(folder))], hosts=2, pipes="")
    started = time.monotonic()
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert time.monotonic() - started < 30
    assert not ran.of(ev.PipeEpochFed)
    assert not [t for t in threading.enumerate() if t.name.startswith("pipe-") and t.is_alive()]
    for host in ("algo-1", "algo-2"):
        assert os.listdir(ran.paths.opt_ml(host) / "input" / "data") == []
    assert not leftovers(docker_client, ran.name)


def test_data_that_cannot_be_delivered_fails_the_job(tmp_path, images, s3, bucket):
    put_all(s3, bucket, {"notgz/data.gz": b"this is not gzip data at all"})
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/notgz/", CompressionType="Gzip")],
                       pipes="train", epochs=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    reason = ran.record["FailureReason"]
    assert reason.startswith("ClientError: Pipe channel 'train' on algo-1:") and "not valid gzip" in reason


def test_a_pipe_job_whose_workbench_died_is_not_resumed(tmp_path, images, docker_client):
    """Feeders lived in the dead process: the job ends Failed, clean, instead of a reader
    waiting forever on a FIFO nobody feeds."""
    import signal

    from tests.integration.test_job_history import cli, record_of, wait_for, write
    from workbench.engine.api import job_paths
    from workbench.fileio import read_json

    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    spec = reader_spec(tmp_path, [channel("train", str(folder))], pipes="", sleep=30)
    name = cli("run", write(tmp_path, spec), "--detach").stdout.strip()
    wait_for(lambda: record_of(name)["Workbench"]["Hosts"].get("algo-1", {}).get("ContainerId"))
    os.kill(read_json(job_paths(name).owner)["pid"], signal.SIGKILL)
    time.sleep(0.3)
    assert cli("jobs").returncode == 0  # looking at the job hands it to a new process
    record = wait_for(lambda: (lambda r: r if r["TrainingJobStatus"] != "InProgress" else None)(record_of(name)),
                      timeout=60)
    assert record["TrainingJobStatus"] == "Failed"
    assert "Pipe feeders cannot be resumed" in record["FailureReason"]
    assert leftovers(docker_client, name) == []
