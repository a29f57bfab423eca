"""The shared data cache end to end: a rerun with unchanged data sends no GET to S3.

Requests are counted at the wire, by a proxy between the engine and moto's server.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.channels import channel, dumped, reader_spec, report
from tests.integration.jobs import run_spec, unique
from tests.integration.s3_counter import CountingProxy
from workbench.engine import events as ev

pytestmark = pytest.mark.docker


@pytest.fixture
def counter(s3, s3_server, monkeypatch):
    """The engine's S3 endpoint becomes a counting proxy; the test's own client stays direct."""
    proxy = CountingProxy(s3_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield proxy
    proxy.close()


def again(spec: dict) -> dict:
    return {**spec, "TrainingJobName": unique("again")}


def staged(ran, name, host="algo-1"):
    root = ran.paths.opt_ml(host) / "input" / "data" / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_file_fastfile_and_pipe_share_the_cache_and_a_rerun_gets_nothing(tmp_path, images, s3, bucket, counter):
    objects = {f"data/{i}.bin": os.urandom(1000 * (i + 1)) for i in range(5)}
    objects["data/big.bin"] = os.urandom(17 * 1024 * 1024)  # a managed multipart download
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    manifest = [{"prefix": f"s3://{bucket}/data/"}, "0.bin", "3.bin"]
    s3.put_object(Bucket=bucket, Key="manifest.json", Body=json.dumps(manifest).encode())
    spec = reader_spec(tmp_path, [
        channel("file", f"s3://{bucket}/data/"),
        channel("listed", f"s3://{bucket}/manifest.json", "ManifestFile"),
        channel("fast", f"s3://{bucket}/data/", mode="FastFile"),
        channel("pipe", f"s3://{bucket}/data/", mode="Pipe"),
    ], mode="File", pipes="pipe", epochs=1, files="fast", dump=1)

    first = run_spec(spec, tmp_path)
    assert first.record["TrainingJobStatus"] == "Completed", first.record.get("FailureReason")
    # each object once for the whole job, whichever modes read it, and the manifest once
    big_gets = counter.object_gets(bucket).count("data/big.bin")
    assert big_gets >= 2  # ranged GETs of its parts
    assert sorted(k for k in counter.object_gets(bucket) if k != "data/big.bin") == \
        sorted([k for k in objects if k != "data/big.bin"] + ["manifest.json"])
    progress = [e for e in first.of(ev.StagingProgress) if e.channel == "file" and e.host == ""]
    assert (progress[-1].files_done, progress[-1].bytes_done) == (6, sum(map(len, objects.values())))
    assert progress[-1].files_total == 6 and len(progress) >= 2
    used = {e.channel: e for e in first.of(ev.CacheUsed)}
    assert (used["file"].fetched, used["file"].hits) == (6, 0)
    assert (used["fast"].fetched, used["fast"].hits) == (0, 6)
    assert first.of(ev.PipeEpochFed)[0].fetched == 0

    counter.reset()
    second = run_spec(again(spec), tmp_path)
    assert second.record["TrainingJobStatus"] == "Completed", second.record.get("FailureReason")
    assert counter.object_gets(bucket) == []  # not one GET: everything came from the cache
    assert any(method == "GET" and "list-type" in path for method, path in counter.requests)  # it did list
    expected = {k[len("data/"):]: v for k, v in objects.items()}
    assert staged(second, "file") == expected
    assert staged(second, "listed") == {"0.bin": objects["data/0.bin"], "3.bin": objects["data/3.bin"]}
    assert {rel: f["size"] for rel, f in report(second)["views"]["fast"]["files"].items()} == \
        {rel: len(body) for rel, body in expected.items()}
    assert dumped(second, "pipe", 0) == b"".join(objects[k] for k in sorted(objects))
    assert second.record["Workbench"]["Channels"]["file"]["Cache"] == {
        "Hits": 6, "HitBytes": sum(map(len, objects.values())), "Fetched": 0, "FetchedBytes": 0}


def test_pipe_caches_what_it_streams_and_a_changed_object_is_fetched_again(tmp_path, images, s3, bucket, counter):
    objects = {f"stream/{i}.bin": os.urandom(2_000_000 + i) for i in range(3)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/stream/")], pipes="train", epochs=2, dump=1)

    first = run_spec(spec, tmp_path)
    assert first.record["TrainingJobStatus"] == "Completed", first.record.get("FailureReason")
    assert sorted(counter.object_gets(bucket)) == sorted(objects)  # epoch 0 streamed them, epoch 1 had them
    assert [e.fetched for e in first.of(ev.PipeEpochFed)] == [3, 0]

    counter.reset()
    second = run_spec(again(spec), tmp_path)
    assert counter.object_gets(bucket) == []
    assert dumped(second, "train", 0) == dumped(second, "train", 1) == b"".join(objects[k] for k in sorted(objects))

    objects["stream/1.bin"] = b"a new version"
    s3.put_object(Bucket=bucket, Key="stream/1.bin", Body=objects["stream/1.bin"])
    counter.reset()
    third = run_spec(again(spec), tmp_path)
    assert counter.object_gets(bucket) == ["stream/1.bin"]  # a new ETag is a new entry
    assert dumped(third, "train", 1) == b"".join(objects[k] for k in sorted(objects))


def test_a_job_stopped_while_fetching_ends_stopped_and_caches_nothing_partial(tmp_path, images, s3, bucket,
                                                                              state_home):
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    s3.put_object(Bucket=bucket, Key="slow/big.bin", Body=os.urandom(96 * 1024 * 1024))
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/slow/")], mode="File")
    holder: dict = {}

    def stop_once_moving(event) -> None:
        if isinstance(event, ev.StagingProgress) and event.bytes_done and "stopped" not in holder:
            holder["stopped"] = True
            holder["job"].stop()

    holder["job"] = launch(check_spec(spec, source="test.yaml", base_dir=tmp_path), subscribers=[stop_once_moving])
    record = holder["job"].run()
    assert holder.get("stopped")
    assert (record["TrainingJobStatus"], record["SecondaryStatus"]) == ("Stopped", "Stopped"), record.get("FailureReason")
    cache = state_home / "cache" / "data"
    assert [p for p in (cache / "objects").rglob("*") if p.is_file()] == []
    assert list((cache / "leases").iterdir()) == []


def test_pipe_data_bigger_than_the_cache_streams_through_it(tmp_path, images, s3, bucket, counter, state_home,
                                                            monkeypatch):
    monkeypatch.setenv("SM_WORKBENCH_CACHE_SIZE", "100K")
    objects = {f"wide/{i}.bin": os.urandom(60_000) for i in range(3)}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    spec = reader_spec(tmp_path, [channel("train", f"s3://{bucket}/wide/")], pipes="train", epochs=3, dump=1)
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    whole = b"".join(objects[k] for k in sorted(objects))
    assert [dumped(ran, "train", e) == whole for e in range(3)] == [True] * 3
    assert [e.fetched for e in ran.of(ev.PipeEpochFed)][1:] == [2, 2]  # the limit keeps one of the three
    entries = [p for p in (state_home / "cache" / "data" / "objects").rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in entries) <= 100 * 1024
