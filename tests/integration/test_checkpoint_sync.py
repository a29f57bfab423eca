"""The checkpoint sync engine on real folders and the real S3 server (moto over HTTP), with
files written by this process: half-written files, symlinks, restores that would escape,
a takeover that resumes from the ledger, a local folder as S3Uri."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from workbench.engine import events as ev
from workbench.engine.checkpoints.ledger import Ledger
from workbench.engine.checkpoints.remote import CheckpointStore
from workbench.engine.checkpoints.restore import restore
from workbench.engine.checkpoints.sync import CheckpointSync
from workbench.engine.checkpoints.writers import WriterProbe
from workbench.errors import StorageError
from tests.integration.jobs import wait_for

pytestmark = pytest.mark.s3


class Harness:
    def __init__(self, tmp_path: Path, uri: str, hosts=("algo-1",), probe: bool = False, ledgers=None) -> None:
        self.folders = {h: tmp_path / "hosts" / h / "checkpoints" for h in hosts}
        for folder in self.folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        self.events: list[ev.Event] = []
        self.ledgers = ledgers or {h: Ledger(tmp_path / "hosts" / h / "ledger.json", {}) for h in hosts}
        self.sync = CheckpointSync(CheckpointStore.parse(uri), self.folders, self.ledgers, self.events.append,
                                   probe=WriterProbe([os.getpid()]) if probe else None)
        self.sync.start()

    def states(self, rel: str, host: str = "algo-1") -> list[str]:
        return [e.state for e in list(self.events)
                if isinstance(e, ev.CheckpointFileState) and e.path == rel and e.host == host]

    def state(self, rel: str, host: str = "algo-1") -> str:
        states = self.states(rel, host)
        return states[-1] if states else ""

    def notices(self) -> list[str]:
        return [e.message for e in self.events if isinstance(e, ev.Notice)]


def versions(s3, bucket: str, key: str) -> list[bytes]:
    found = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return [s3.get_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])["Body"].read()
            for v in found if v["Key"] == key]


def inotify_watches() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as handle:
                count += handle.read().count("inotify wd:")
        except OSError:
            pass
    return count


def test_a_file_held_open_for_writing_is_uploaded_only_once_closed(tmp_path, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    harness = Harness(tmp_path, f"s3://{bucket}/held", probe=True)
    path = harness.folders["algo-1"] / "model.pt"
    # Pauses twice as long as the quiet period: only the open file handle says it is unfinished.
    with open(path, "wb") as handle:
        for index in range(4):
            handle.write(b"part%d|" % index * 1000)
            handle.flush()
            time.sleep(0.5)
        handle.write(b"END")
    wait_for(lambda: harness.state("model.pt") == "synced", 10, "model.pt synced")
    assert harness.sync.drain(10)
    stored = versions(s3, bucket, "held/model.pt")
    assert stored == [path.read_bytes()]  # one version, the whole file: never a half-written one
    assert stored[0].endswith(b"END")


def test_a_file_rewritten_while_syncing_ends_in_its_last_version(tmp_path, s3, bucket):
    harness = Harness(tmp_path, f"s3://{bucket}/busy")
    path = harness.folders["algo-1"] / "step.pt"
    for index in range(30):  # rewritten faster than the quiet period: never stable until the end
        path.write_bytes(b"version %d" % index)
        time.sleep(0.05)
    assert harness.sync.drain(10)
    assert s3.get_object(Bucket=bucket, Key="busy/step.pt")["Body"].read() == b"version 29"
    assert harness.states("step.pt")[-1] == "synced"


def test_symlinks_are_never_followed_out_of_the_folder(tmp_path, s3, bucket):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    harness = Harness(tmp_path, f"s3://{bucket}/links")
    folder = harness.folders["algo-1"]
    (folder / "a.pt").write_bytes(b"model")
    os.symlink("a.pt", folder / "latest.pt")  # inside: uploaded with a.pt's content
    os.symlink(outside / "secret.txt", folder / "leak.txt")
    os.symlink(outside, folder / "leakdir")
    os.mkfifo(folder / "pipe")
    # A folder moved in holding a link to / : a recursive watch would walk the whole machine.
    staged = tmp_path / "staged"
    staged.mkdir()
    os.symlink("/", staged / "root")
    (staged / "ok.pt").write_bytes(b"ok")
    os.rename(staged, folder / "moved")
    wait_for(lambda: harness.state("moved/ok.pt") == "synced" and harness.state("latest.pt") == "synced",
             10, "the files inside synced")
    assert inotify_watches() < 50
    assert harness.sync.drain(10)
    stored = {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
              for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert stored == {"links/a.pt": b"model", "links/latest.pt": b"model", "links/moved/ok.pt": b"ok"}
    warned = " ".join(harness.notices())
    assert "leak.txt is a symlink leading out of the checkpoint folder" in warned
    assert "leakdir is a symlink leading out" in warned


def test_restore_refuses_keys_that_would_escape_the_folder(tmp_path, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ckpt/ok.pt", Body=b"fine")
    s3.put_object(Bucket=bucket, Key="ckpt/../../evil.pt", Body=b"evil")
    folder = tmp_path / "deep" / "hosts" / "algo-1" / "checkpoints"
    with pytest.raises(StorageError, match=r"Refusing S3 object .*evil\.pt.*escapes"):
        restore(CheckpointStore.parse(f"s3://{bucket}/ckpt"), {"algo-1": folder})
    assert not list(tmp_path.rglob("evil.pt"))


def test_a_takeover_resumes_from_the_ledger(tmp_path, s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="run/restored.pt", Body=b"from an earlier job")
    store = CheckpointStore.parse(f"s3://{bucket}/run")
    folder = tmp_path / "hosts" / "algo-1" / "checkpoints"
    [done] = restore(store, {"algo-1": folder})
    ledger_path = tmp_path / "hosts" / "algo-1" / "ledger.json"
    Ledger(ledger_path, done.signatures).save()

    first = Harness(tmp_path, store.uri, ledgers={"algo-1": Ledger.load(ledger_path)})
    (folder / "keep.pt").write_bytes(b"keep")
    (folder / "gone.pt").write_bytes(b"gone")
    wait_for(lambda: first.state("keep.pt") == "synced" and first.state("gone.pt") == "synced", 10, "first sync")
    wait_for(lambda: "gone.pt" in Ledger.load(ledger_path).entries, 5, "the ledger on disk")
    first.sync.close()  # the process dies: no drain

    (folder / "gone.pt").unlink()  # changed while nobody watched
    (folder / "late.pt").write_bytes(b"late")
    second = Harness(tmp_path, store.uri, ledgers={"algo-1": Ledger.load(ledger_path)})
    assert second.sync.drain(10)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"run/restored.pt", "run/keep.pt", "run/late.pt"}
    # Unchanged files were not uploaded again: one version each.
    assert len(versions(s3, bucket, "run/restored.pt")) == 1
    assert len(versions(s3, bucket, "run/keep.pt")) == 1
    assert second.state("gone.pt") == "deleted" and second.state("late.pt") == "synced"
    assert second.state("keep.pt") == "" and second.state("restored.pt") == ""


def test_a_local_folder_stands_in_for_s3(tmp_path):
    store_dir = tmp_path / "store"
    (store_dir / "sub").mkdir(parents=True)
    (store_dir / "sub" / "old.pt").write_bytes(b"old")
    harness_dir = tmp_path / "job"
    [done] = restore(CheckpointStore.parse(str(store_dir)), {"algo-1": harness_dir / "hosts" / "algo-1" / "checkpoints"})
    assert (done.files, done.bytes) == (1, 3)
    harness = Harness(harness_dir, str(store_dir),
                      ledgers={"algo-1": Ledger(harness_dir / "ledger.json", done.signatures)})
    folder = harness.folders["algo-1"]
    assert (folder / "sub" / "old.pt").read_bytes() == b"old"
    (folder / "new.pt").write_bytes(b"new")
    (folder / "sub" / "old.pt").unlink()
    assert harness.sync.drain(10)
    assert sorted(p.relative_to(store_dir).as_posix() for p in store_dir.rglob("*") if p.is_file()) == ["new.pt"]


def test_many_files_from_many_threads_all_arrive(tmp_path, s3, bucket):
    harness = Harness(tmp_path, f"s3://{bucket}/burst", hosts=("algo-1", "algo-2"))

    def write(host: str) -> None:
        for index in range(40):
            (harness.folders[host] / f"{host}-{index:02d}.pt").write_bytes(os.urandom(2048))

    threads = [threading.Thread(target=write, args=(h,)) for h in harness.folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert harness.sync.drain(30)
    keys = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="burst/")
            for o in page.get("Contents", ())}
    assert len(keys) == 80
    final = [e for e in harness.events if isinstance(e, ev.CheckpointSummary)][-1]
    assert (final.files, final.synced, final.pending, final.final) == (80, 80, 0, True)


def test_a_big_file_goes_up_in_parts_and_a_change_mid_upload_publishes_nothing(tmp_path, s3, bucket):
    harness = Harness(tmp_path, f"s3://{bucket}/big")
    path = harness.folders["algo-1"] / "big.pt"
    data = os.urandom(20 * 1024 * 1024)
    path.write_bytes(data)
    wait_for(lambda: harness.state("big.pt") == "synced", 30, "big.pt synced")
    assert harness.sync.drain(10)
    assert s3.get_object(Bucket=bucket, Key="big/big.pt")["Body"].read() == data
    assert s3.head_object(Bucket=bucket, Key="big/big.pt")["ETag"].endswith('-3"')  # three 8 MB parts

    store = CheckpointStore.parse(f"s3://{bucket}/big")
    fd = os.open(path, os.O_RDONLY)
    try:  # the file changed while its parts were sent: the upload is aborted, nothing is published
        assert store.put_parts("torn.pt", fd, len(data), lambda: False) is False
    finally:
        os.close(fd)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="big/torn.pt")
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_the_summary_after_a_takeover_counts_the_whole_attempt(tmp_path, s3, bucket):
    """Reproduction: a job writing 60 checkpoint files, its workbench killed halfway and
    the job taken over: the final summary said 30 files, those the new process saw
    written. The ledger now keeps which files the attempt changed, so the summary counts
    the files synced (and deleted) before the takeover too, and still not restored ones."""
    s3.put_object(Bucket=bucket, Key="run/restored.pt", Body=b"from an earlier job")
    store = CheckpointStore.parse(f"s3://{bucket}/run")
    folder = tmp_path / "hosts" / "algo-1" / "checkpoints"
    [done] = restore(store, {"algo-1": folder})
    ledger_path = tmp_path / "hosts" / "algo-1" / "ledger.json"
    Ledger(ledger_path, done.signatures).save()

    first = Harness(tmp_path, store.uri, ledgers={"algo-1": Ledger.load(ledger_path)})
    for index in range(3):
        (folder / f"early-{index}.pt").write_bytes(b"early")
    (folder / "dropped.pt").write_bytes(b"dropped")
    wait_for(lambda: all(first.state(f"early-{i}.pt") == "synced" for i in range(3))
             and first.state("dropped.pt") == "synced", 10, "first sync")
    (folder / "dropped.pt").unlink()
    wait_for(lambda: first.state("dropped.pt") == "deleted", 10, "the delete")
    first.sync.close()  # the process dies: no drain

    (folder / "late.pt").write_bytes(b"late")
    second = Harness(tmp_path, store.uri, ledgers={"algo-1": Ledger.load(ledger_path)})
    assert second.sync.drain(10)
    summary = [e for e in second.events if isinstance(e, ev.CheckpointSummary)][-1]
    assert summary.final
    assert (summary.files, summary.synced, summary.deleted, summary.pending) == (4, 4, 1, 0)
    assert summary.bytes == 3 * len(b"early") + len(b"late")
    assert second.state("early-0.pt") == ""  # nothing reported again
