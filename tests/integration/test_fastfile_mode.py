"""FastFile mode on the real engine: a read-only view (a write fails), the right content,
no copy of a local folder (whatever its size), S3 objects shown from the cache."""

from __future__ import annotations

import errno
import hashlib
import os
import time

import pytest

from tests.integration.channels import channel, dumped, reader_spec, report
from tests.integration.jobs import run_spec
from workbench.engine import events as ev

pytestmark = pytest.mark.docker

READ_ONLY = f"OSError: errno {errno.EROFS}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_local_folder_is_mounted_read_only_without_a_copy(tmp_path, images):
    folder = tmp_path / "dataset"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.csv").write_bytes(b"1,2,3\n")
    (folder / "nested" / "b.bin").write_bytes(os.urandom(100_000))
    huge = folder / "huge.bin"
    with open(huge, "wb") as handle:  # 20 GiB, sparse: a copy would take minutes and fill the disk
        handle.truncate(20 * 1024**3)
    single = tmp_path / "labels.csv"
    single.write_text("cat,1\n")
    spec = reader_spec(tmp_path, [channel("train", str(folder), CompressionType="Gzip"), channel("one", str(single))],
                       mode="FastFile", files="train,one")
    started = time.monotonic()
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert time.monotonic() - started < 30

    view = report(ran)["views"]["train"]
    assert view["writes"] == {"new": READ_ONLY, "existing": READ_ONLY}
    assert view["files"]["a.csv"]["sha256"] == sha(b"1,2,3\n")
    assert view["files"]["nested/b.bin"]["sha256"] == sha((folder / "nested" / "b.bin").read_bytes())
    assert view["files"]["huge.bin"]["size"] == 20 * 1024**3
    for rel in ("a.csv", "nested/b.bin", "huge.bin"):  # the very same files: nothing was copied
        assert view["files"][rel]["inode"] == (folder / rel).stat().st_ino
    assert (folder / "a.csv").read_bytes() == b"1,2,3\n" and not (folder / "written-by-container").exists()
    one = report(ran)["views"]["one"]  # a single file: a read-only folder holding a link to it
    assert one["files"] == {"labels.csv": {"sha256": sha(b"cat,1\n"), "size": 6, "inode": single.stat().st_ino}}
    assert one["writes"] == {"new": READ_ONLY, "existing": READ_ONLY}
    assert list((ran.paths.opt_ml("algo-1") / "input" / "data" / "train").iterdir()) == []
    staged = next(e for e in ran.of(ev.ChannelStaged) if e.channel == "train")
    assert (staged.mode, staged.files, staged.bytes) == ("FastFile", 3, 20 * 1024**3 + 100_006)
    inputs = (ran.paths.opt_ml("algo-1") / "input" / "config" / "inputdataconfig.json").read_text()
    assert '"TrainingInputMode": "FastFile"' in inputs
    assert any("CompressionType: Gzip apply in Pipe mode only" in n.message for n in ran.of(ev.Notice))


def test_s3_objects_come_from_the_cache_read_only(tmp_path, images, s3, bucket, state_home):
    objects = {"ff/x.txt": b"x" * 10, "ff/deep/y.bin": os.urandom(300_000), "ff/z.txt": b"zz"}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    spec = reader_spec(tmp_path, [
        channel("full", f"s3://{bucket}/ff", InputMode="FastFile"),  # a whole folder without its slash
        channel("sharded", f"s3://{bucket}/ff/", InputMode="FastFile", S3DataDistributionType="ShardedByS3Key"),
    ], mode="File", hosts=2, files="full,sharded", sleep=0)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    names = sorted(k[len("ff/"):] for k in objects)
    shards = []
    for host in ("algo-1", "algo-2"):
        seen = report(ran, host)["views"]
        assert sorted(seen["full"]["files"]) == names
        assert {rel: f["sha256"] for rel, f in seen["full"]["files"].items()} == \
            {k[len("ff/"):]: sha(v) for k, v in objects.items()}
        assert seen["full"]["writes"]["new"] == READ_ONLY and seen["full"]["writes"]["existing"] == READ_ONLY
        shards.append(sorted(seen["sharded"]["files"]))
    assert shards == [names[0::2], names[1::2]]
    entries = {p.stat().st_ino for p in (state_home / "cache" / "data" / "objects").rglob("*") if p.is_file()}
    inodes = {f["inode"] for f in report(ran)["views"]["full"]["files"].values()}
    assert inodes <= entries  # the view is the cache's own files, linked, not copies
    assert not (ran.paths.root / "fastfile").exists()  # views go when the job ends
    assert ran.record["Workbench"]["Channels"]["full"]["Cache"]["Fetched"] == 3


def test_a_raw_prefix_matching_other_folders_is_refused(tmp_path, images, s3, bucket):
    for key in ("train/a", "train-01/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"data")
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/train")], mode="FastFile")
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert "also matches" in ran.record["FailureReason"] and f"s3://{bucket}/train/" in ran.record["FailureReason"]


def test_symlinks_out_of_a_local_channel_follow_one_rule_in_every_mode(tmp_path, images):
    """Reproduction: a local channel folder holding `leak.txt -> ~/secret.txt`: File and
    Pipe left it out without a word, FastFile mounted the folder as it is, so the link
    dangled in the container (and an absolute link inside the folder did too). Now every
    mode leaves out links that lead outside, says which, and FastFile shows a view in
    which the links that stay inside work."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    folder = tmp_path / "dataset"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_bytes(b"a,1\n")
    (folder / "sub" / "b.csv").write_bytes(b"b,2\n")
    (folder / "alias.csv").symlink_to("a.csv")
    (folder / "absolute.csv").symlink_to(folder / "sub" / "b.csv")
    (folder / "leak.txt").symlink_to(outside / "secret.txt")
    (folder / "sub" / "leakdir").symlink_to(outside)
    spec = reader_spec(tmp_path, [channel("file", str(folder), mode="File"), channel("fast", str(folder)),
                                  channel("pipe", str(folder), mode="Pipe")],
                       mode="FastFile", files="file,fast", pipes="pipe", epochs=1, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")

    expected = {"a.csv": b"a,1\n", "absolute.csv": b"b,2\n", "alias.csv": b"a,1\n", "sub/b.csv": b"b,2\n"}
    for name in ("file", "fast"):
        files = report(ran)["views"][name]["files"]
        assert {rel: item["sha256"] for rel, item in files.items()} == {
            rel: sha(data) for rel, data in expected.items()}
    assert report(ran)["views"]["fast"]["files"]["alias.csv"]["inode"] == (folder / "a.csv").stat().st_ino
    assert dumped(ran, "pipe", 0) == b"".join(expected[rel] for rel in sorted(expected))
    notices = sorted(n.message for n in ran.of(ev.Notice) if "symlink" in n.message)
    assert notices == [f"Channel {name}: 2 symlinks in {folder} lead outside the folder and are left out: "
                       "leak.txt, sub/leakdir; copy what they point to into the folder to use it"
                       for name in ("fast", "file", "pipe")]
