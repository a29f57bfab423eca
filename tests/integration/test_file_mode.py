"""File mode data: S3, file:// and local channels, per-host copies, sharding, unsafe keys."""

import pytest

from workbench.engine import events as ev
from tests.integration.jobs import probe_spec, run_spec

pytestmark = pytest.mark.docker


def channel(name, uri, **s3):
    return {"ChannelName": name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, **s3}}}


def staged(ran, host, name):
    root = ran.paths.opt_ml(host) / "input" / "data" / name
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_s3_local_file_and_file_uri_channels(tmp_path, images, s3, bucket):
    for key in ("train/part-1.csv", "train/sub/part-2.csv", "train-extra/x.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    single = tmp_path / "single.json"
    single.write_text("{}")
    spec = probe_spec(tmp_path)
    spec["InputDataConfig"] = [
        channel("s3", f"s3://{bucket}/train/"),
        channel("raw", f"s3://{bucket}/train"),  # a raw prefix: also matches train-extra/
        channel("folder", (tmp_path / "data").as_uri()),
        channel("file", str(single)),
    ]
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert staged(ran, "algo-1", "s3") == ["part-1.csv", "sub/part-2.csv"]
    assert staged(ran, "algo-1", "raw") == ["train-extra/x.csv", "train/part-1.csv", "train/sub/part-2.csv"]
    assert staged(ran, "algo-1", "folder") == ["a.txt"]
    assert staged(ran, "algo-1", "file") == ["single.json"]
    channels = ran.record["Workbench"]["Channels"]
    assert channels["s3"]["Files"] == 2 and channels["s3"]["Bytes"] == len("train/part-1.csv") + len("train/sub/part-2.csv")
    assert channels["file"]["Files"] == 1
    assert ran.of(ev.StagingProgress)


def test_each_host_gets_its_own_copy(tmp_path, images):
    spec = probe_spec(tmp_path, hosts=2)
    ran = run_spec(spec, tmp_path)
    one = ran.paths.opt_ml("algo-1") / "input" / "data" / "train" / "a.txt"
    two = ran.paths.opt_ml("algo-2") / "input" / "data" / "train" / "a.txt"
    source = tmp_path / "data" / "a.txt"
    inodes = {one.stat().st_ino, two.stat().st_ino, source.stat().st_ino}
    assert len(inodes) == 3


def test_sharded_by_s3_key(tmp_path, images, s3, bucket):
    keys = [f"shards/part-{i:02d}.rec" for i in range(7)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * 10)
    spec = probe_spec(tmp_path, hosts=2)
    spec["InputDataConfig"] = [channel("train", f"s3://{bucket}/shards/", S3DataDistributionType="ShardedByS3Key")]
    first = run_spec(spec, tmp_path)
    one, two = staged(first, "algo-1", "train"), staged(first, "algo-2", "train")
    assert not set(one) & set(two)
    assert sorted(one + two) == [k.split("/")[1] for k in keys]
    assert {len(one), len(two)} == {3, 4}
    assert first.probe("algo-2")["inputdataconfig"]["train"]["S3DistributionType"] == "ShardedByS3Key"
    spec["TrainingJobName"] += "-again"
    again = run_spec(spec, tmp_path)
    assert staged(again, "algo-1", "train") == one  # deterministic for the same listing


def test_keys_escaping_the_channel_are_refused(tmp_path, images, s3, bucket):
    s3.put_object(Bucket=bucket, Key="evil/../../etc/passwd", Body=b"root")
    spec = probe_spec(tmp_path)
    spec["InputDataConfig"] = [channel("train", f"s3://{bucket}/evil/")]
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "escapes" in ran.record["FailureReason"]
    assert not (ran.paths.root / "etc").exists()
