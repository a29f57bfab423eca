"""The storage layer against a real S3 endpoint (moto's server): raw-prefix listing, parallel
downloads and uploads, and failures turned into one-line StorageErrors."""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import _free_port
from workbench.errors import StorageError
from workbench.storage import (
    Location,
    TransferCancelled,
    TransferProgress,
    delete_object,
    download_objects,
    list_objects,
    open_object_stream,
    read_object_bytes,
    reset_clients,
    s3_client,
    stat_object,
    storage_error,
    upload_file,
    upload_tree,
)
from workbench.storage import transfer

pytestmark = pytest.mark.s3

MANY = 1100  # more than one page of ListObjectsV2
COPIED = 120


def put(s3, bucket: str, files: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1]), files.items()))


def at(bucket: str, key: str = "") -> Location:
    return Location("s3", bucket, key)


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.wbtmp"))


@pytest.fixture(scope="module")
def many_bucket(s3_server) -> str:
    """A bucket holding MANY tiny objects under many/, filled once for the module."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    name = f"many-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    put(s3, name, {f"many/part-{i:05}.txt": f"{i}\n".encode() for i in range(MANY)})
    return name


@pytest.fixture
def small_parts(monkeypatch):
    """Make 1 MiB the big-object threshold so managed multipart transfers run on small data."""
    monkeypatch.setattr(transfer, "BIG_OBJECT", 1024 * 1024)
    monkeypatch.setattr(transfer, "PART_SIZE", 1024 * 1024)


# --- listing ---------------------------------------------------------------------------

def test_prefix_is_raw_and_folder_markers_are_skipped(s3, bucket):
    put(s3, bucket, {"ckpt-1/a.pt": b"a", "ckpt-10/b.pt": b"bb", "ckpt-2/c.pt": b"c", "ckpt-1/": b"",
                     "ckpt-1/sub/": b""})
    raw = list_objects(at(bucket, "ckpt-1"))
    assert [(o.location.key, o.rel) for o in raw] == [("ckpt-1/a.pt", "ckpt-1/a.pt"), ("ckpt-10/b.pt", "ckpt-10/b.pt")]
    folder = list_objects(at(bucket, "ckpt-1/"))
    assert [o.rel for o in folder] == ["a.pt"]
    head = s3.head_object(Bucket=bucket, Key="ckpt-10/b.pt")
    b = raw[1]
    assert (b.size, b.etag, b.mtime) == (2, head["ETag"].strip('"'), head["LastModified"].timestamp())


def test_rel_is_the_key_after_the_prefix_last_slash(s3, bucket):
    put(s3, bucket, {"data/train/a/b.csv": b"1", "data/train/a.csv": b"2", "data/x.csv": b"3"})
    assert [o.rel for o in list_objects(at(bucket, "data/train/"))] == ["a.csv", "a/b.csv"]
    assert [o.rel for o in list_objects(at(bucket, "data/train"))] == ["train/a.csv", "train/a/b.csv"]
    assert [o.rel for o in list_objects(at(bucket, "data/x.csv"))] == ["x.csv"]
    assert [o.rel for o in list_objects(at(bucket))] == ["data/train/a.csv", "data/train/a/b.csv", "data/x.csv"]
    assert list_objects(at(bucket, "nothing/")) == []


@pytest.mark.slow  # filling the bucket takes moto about 10 s
def test_listing_pages_past_1000_keys(many_bucket, s3):
    objects = list_objects(at(many_bucket, "many/"))
    assert len(objects) == MANY
    assert [o.rel for o in objects] == [f"part-{i:05}.txt" for i in range(MANY)]


@pytest.mark.parametrize("key", ["p/a/../../etc/passwd", "/etc/passwd"])
def test_keys_escaping_the_folder_are_refused(s3, bucket, key):
    put(s3, bucket, {key: b"root:x:0:0", "p/fine.txt": b"ok"})
    with pytest.raises(StorageError, match="escapes the destination folder"):
        list_objects(at(bucket, "p/" if key.startswith("p/") else ""))


# --- downloads -------------------------------------------------------------------------

@pytest.mark.slow
def test_download_many_objects_with_progress(many_bucket, s3, tmp_path):
    objects = list_objects(at(many_bucket, "many/"))[:COPIED]  # moto answers ~100 requests/s
    seen: list[TransferProgress] = []
    lock = threading.Lock()

    def on_progress(progress: TransferProgress) -> None:
        with lock:
            seen.append(progress)

    done = download_objects(objects, tmp_path / "train", on_progress=on_progress)
    total = sum(o.size for o in objects)
    assert done == TransferProgress(COPIED, COPIED, total, total)
    assert seen[-1] == done and len(seen) < COPIED  # throttled, not one report per file
    assert (tmp_path / "train" / "part-00119.txt").read_text() == "119\n"
    assert len(list((tmp_path / "train").iterdir())) == COPIED


def test_big_objects_download_in_parts(s3, bucket, tmp_path, small_parts):
    data = os.urandom(3 * 1024 * 1024 + 5)
    put(s3, bucket, {"big/shard-0.bin": data, "big/small.txt": b"s"})
    done = download_objects(list_objects(at(bucket, "big/")), tmp_path / "d")
    assert (tmp_path / "d" / "shard-0.bin").read_bytes() == data
    assert done.bytes_done == done.bytes_total == len(data) + 1
    assert leftovers(tmp_path) == []


def test_failed_download_leaves_no_half_files(s3, bucket, tmp_path):
    put(s3, bucket, {f"p/f{i:02}.bin": b"x" * 2000 for i in range(30)})
    objects = list_objects(at(bucket, "p/"))
    s3.delete_object(Bucket=bucket, Key="p/f07.bin")
    with pytest.raises(StorageError, match=r"Cannot download s3://.*/p/f07.bin: no such object") as caught:
        download_objects(objects, tmp_path / "d", workers=4)
    assert "\n" not in str(caught.value)
    assert leftovers(tmp_path) == [] and not (tmp_path / "d" / "f07.bin").exists()
    assert all(p.read_bytes() == b"x" * 2000 for p in (tmp_path / "d").iterdir())


def test_object_replaced_after_listing_is_refused(s3, bucket, tmp_path):
    put(s3, bucket, {"p/a.txt": b"old"})
    objects = list_objects(at(bucket, "p/"))
    put(s3, bucket, {"p/a.txt": b"new content"})
    with pytest.raises(StorageError, match="changed since it was listed"):
        download_objects(objects, tmp_path / "d")
    assert not (tmp_path / "d" / "a.txt").exists()


def test_cancel_during_a_big_download(s3, bucket, tmp_path, small_parts):
    put(s3, bucket, {"big.bin": os.urandom(4 * 1024 * 1024)})
    cancel = threading.Event()

    def on_progress(progress: TransferProgress) -> None:
        if progress.bytes_done:
            cancel.set()

    with pytest.raises(TransferCancelled):
        download_objects(list_objects(at(bucket, "big.bin")), tmp_path / "d", on_progress=on_progress, cancel=cancel)
    assert list((tmp_path / "d").iterdir()) == []


# --- single objects and uploads ----------------------------------------------------------

def test_upload_read_stream_and_delete(s3, bucket, tmp_path):
    src = tmp_path / "manifest.json"
    src.write_bytes(b'[{"prefix": "s3://b/p/"}, "a"]')
    dest = at(bucket, "in/manifest.json")
    upload_file(src, dest, extra={"ContentType": "application/json"})
    assert s3.head_object(Bucket=bucket, Key="in/manifest.json")["ContentType"] == "application/json"
    assert read_object_bytes(dest) == src.read_bytes()
    info = stat_object(dest)
    assert (info.rel, info.size) == ("manifest.json", src.stat().st_size)
    with open_object_stream(info) as stream:
        assert stream.read(2) == b'[{'
    delete_object(dest)
    delete_object(dest)  # already gone is fine
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_big_upload_is_multipart(s3, bucket, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "BIG_OBJECT", 1024 * 1024)  # parts stay at S3's 5 MiB minimum and up
    data = os.urandom(9 * 1024 * 1024)
    (tmp_path / "model.tar.gz").write_bytes(data)
    upload_file(tmp_path / "model.tar.gz", at(bucket, "out/job/output/model.tar.gz"))
    head = s3.head_object(Bucket=bucket, Key="out/job/output/model.tar.gz")
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert read_object_bytes(at(bucket, "out/job/output/model.tar.gz")) == data


def test_upload_tree_then_list_it_back(s3, bucket, tmp_path):
    src = tmp_path / "checkpoints"
    for rel in ("algo-1/step-1.pt", "algo-2/step-1.pt", "latest"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rel.encode())
    (src / "leak").symlink_to("/etc/hostname")
    assert upload_tree(src, at(bucket, "ckpt-1")) == (3, len("algo-1/step-1.pt") * 2 + len("latest"))
    assert [o.rel for o in list_objects(at(bucket, "ckpt-1/"))] == ["algo-1/step-1.pt", "algo-2/step-1.pt", "latest"]


# --- errors ----------------------------------------------------------------------------

def test_missing_bucket_is_one_clear_line(s3, tmp_path):
    missing = at("no-such-bucket-here", "train/")
    with pytest.raises(StorageError, match="bucket 'no-such-bucket-here' does not exist; create it") as caught:
        list_objects(missing)
    assert str(caught.value).startswith("Cannot list s3://no-such-bucket-here/train/")
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(StorageError, match="does not exist"):
        upload_file(tmp_path / "f", missing.join("f"))
    with pytest.raises(StorageError, match="does not exist"):
        upload_tree(tmp_path, missing)
    with pytest.raises(StorageError, match="no such object or bucket"):
        stat_object(missing.join("f"))


def test_missing_bucket_in_a_managed_upload(s3, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "BIG_OBJECT", 1)
    (tmp_path / "f").write_bytes(b"xyz")
    with pytest.raises(StorageError, match="does not exist"):
        upload_file(tmp_path / "f", at("no-such-bucket-here", "f"))


def test_one_client_is_shared_until_the_endpoint_changes(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    first = s3_client()
    assert s3_client() is first and first.meta.endpoint_url == s3_server
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    assert s3_client().meta.endpoint_url == "http://127.0.0.1:9"
    reset_clients()
    assert s3_client() is not first


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_an_endpoint_that_does_not_answer(s3_server, monkeypatch, variable):
    endpoint = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv(variable, endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reset_clients()
    with pytest.raises(StorageError) as caught:
        list_objects(at("some-bucket", "train/"))
    message = str(caught.value)
    assert message.startswith("Cannot list s3://some-bucket/train/") and "\n" not in message
    assert f"{endpoint} does not answer" in message and "AWS_ENDPOINT_URL" in message


def test_no_credentials(s3_server, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    reset_clients()
    try:
        with pytest.raises(StorageError, match="no AWS credentials found; set AWS_PROFILE"):
            read_object_bytes(at("some-bucket", "x"))
    finally:
        reset_clients()


def test_client_errors_become_advice():
    from botocore.exceptions import ClientError

    def error(code: str) -> str:
        return str(storage_error(ClientError({"Error": {"Code": code, "Message": "m"}}, "GetObject"), "read s3://b/k"))

    assert error("AccessDenied") == ("Cannot read s3://b/k: access denied; check the credentials' "
                                     "IAM permissions and the bucket policy")
    assert "credentials were rejected" in error("InvalidAccessKeyId")
    assert "throttling" in error("SlowDown")
    assert error("Weird") == "Cannot read s3://b/k: Weird: m"
