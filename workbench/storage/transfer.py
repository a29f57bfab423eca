"""Moving objects: channels and checkpoints down, outputs and checkpoints up, in parallel.

Small S3 objects are one GET each on a thread pool (a managed transfer per object would
add a HEAD and a thread pool per file); big ones go through boto3's managed transfer so
their parts move in parallel. Every file is written under a temp name and renamed, so a
failed or cancelled transfer never leaves a half file behind.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, TypeVar

from workbench.errors import StorageError
from workbench.storage.localfiles import SafeFolder, copy_file_atomic, remove_quietly, temp_path_for
from workbench.storage.objects import StoredObject, list_objects, safe_relpath
from workbench.storage.s3 import boto_errors, require_key, s3_client, storage_error
from workbench.storage.uri import Location

BIG_OBJECT = 16 * 1024 * 1024  # from this size on, managed multipart transfer
PART_SIZE = 8 * 1024 * 1024
BIG_CONCURRENCY = 8  # parts in flight per big object
CHUNK = 1024 * 1024
STREAM_ATTEMPTS = 3  # a small GET whose body breaks off is fetched again
REPORT_INTERVAL = 0.1  # seconds between progress reports

T = TypeVar("T")


@dataclass
class TransferProgress:
    """What an `on_progress` listener gets: a snapshot it may keep, never one we change later."""

    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0


class TransferCancelled(StorageError):
    """The caller's cancel event was set (a job stopped while its data was moving)."""


class _Meter:
    """Counts from many threads; reports a snapshot at most every REPORT_INTERVAL, and at the end.

    Reports are serialised and taken in order, so a listener never sees counts go back.
    """

    def __init__(self, progress: TransferProgress, on_progress, cancel: threading.Event | None) -> None:
        self.progress = progress
        self.stop = threading.Event()  # set on the first failure: the other workers give up
        self._on_progress = on_progress
        self._cancel = cancel
        self._lock = threading.Lock()
        self._report_lock = threading.Lock()
        self._last = 0.0

    def check(self) -> None:
        if self.stop.is_set() or (self._cancel is not None and self._cancel.is_set()):
            raise TransferCancelled("Transfer cancelled")

    def add_bytes(self, count: int) -> None:
        self.check()
        with self._lock:
            self.progress.bytes_done += count
        self._report()

    def file_done(self) -> None:
        with self._lock:
            self.progress.files_done += 1
        self._report()

    def finish(self) -> TransferProgress:
        self._report(force=True)
        with self._lock:
            return replace(self.progress)

    def _report(self, force: bool = False) -> None:
        if self._on_progress is None:
            return
        if not force and time.monotonic() - self._last < REPORT_INTERVAL:
            return
        if not self._report_lock.acquire(blocking=force):
            return  # another thread is reporting right now; the next one will carry our counts
        try:
            with self._lock:
                snapshot = replace(self.progress)
            self._last = time.monotonic()
            self._on_progress(snapshot)
        finally:
            self._report_lock.release()


def _run_all(work: Callable[[T], None], items: list[T], workers: int, meter: _Meter) -> None:
    """Run `work` on every item; the first failure stops the rest and is raised."""
    if not items:
        return

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))), thread_name_prefix="wb-transfer") as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            meter.stop.set()
            for future in futures:
                future.cancel()
            raise


def _big_config():
    from boto3.s3.transfer import TransferConfig  # deferred: boto3 (~0.3 s to import)

    return TransferConfig(multipart_threshold=BIG_OBJECT, multipart_chunksize=PART_SIZE,
                          max_concurrency=BIG_CONCURRENCY, use_threads=True)


def _unique_by_rel(objects: Iterable[StoredObject]) -> list[StoredObject]:
    """The objects with one per destination path; two sources for one path, or a file where a
    folder must go, are refused before anything is written."""
    by_rel: dict[str, StoredObject] = {}
    folders: set[str] = set()
    for obj in objects:
        rel = safe_relpath(obj.rel, obj.location.uri)
        if rel in by_rel:
            if by_rel[rel].location != obj.location:
                raise StorageError(
                    f"{by_rel[rel].location.uri} and {obj.location.uri} would both be written to {rel!r}; rename one"
                )
            continue
        by_rel[rel] = obj if rel == obj.rel else replace(obj, rel=rel)
        parts = rel.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clash = sorted(folders & by_rel.keys())
    if clash:
        raise StorageError(
            f"{by_rel[clash[0]].location.uri} would be a file where other objects need a folder "
            f"named {clash[0]!r}; rename or remove it"
        )
    return list(by_rel.values())


def download_objects(
    objects: list[StoredObject],
    dest_dir: Path,
    *,
    workers: int = 16,
    on_progress: Callable[[TransferProgress], None] | None = None,
    cancel: threading.Event | None = None,
    readable: bool = False,
) -> TransferProgress:
    """Each object to dest_dir/obj.rel. `on_progress` is called from worker threads.

    `readable`: files 0644 and folders 0755 whatever the umask, for a container whose
    user is not us (a user's umask of 077 would otherwise hide its data from it)."""
    unique = _unique_by_rel(objects)
    file_mode = 0o644 if readable else None
    folder = SafeFolder(Path(dest_dir), 0o755 if readable else None)
    meter = _Meter(TransferProgress(0, len(unique), 0, sum(obj.size for obj in unique)), on_progress, cancel)
    big_slots = threading.BoundedSemaphore(max(1, workers // BIG_CONCURRENCY))

    def one(obj: StoredObject) -> None:
        meter.check()
        target = folder.path_for(obj.rel)
        if obj.location.is_s3:
            _download_s3(obj, target, meter, big_slots, file_mode)
        else:
            assert obj.location.path is not None
            try:
                meter.add_bytes(copy_file_atomic(obj.location.path, target, file_mode))
            except OSError as err:
                raise StorageError(
                    f"Cannot copy {obj.location.path} to {target}: {err.strerror or err}; "
                    "check that it still exists, free space and permissions"
                ) from None
        meter.file_done()

    _run_all(one, unique, workers, meter)
    return meter.finish()


def _download_s3(obj: StoredObject, target: Path, meter: _Meter, big_slots: threading.BoundedSemaphore,
                 mode: int | None = None) -> None:
    client = s3_client()
    where = obj.location
    tmp = temp_path_for(target)
    try:
        if obj.size >= BIG_OBJECT:
            with big_slots:  # bounds the connections big objects open (the pool holds 32)
                meter.check()
                client.download_file(where.bucket, where.key, str(tmp), Callback=meter.add_bytes, Config=_big_config())
        else:
            _get_small(client, obj, tmp, meter)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as err:
        remove_quietly(tmp)
        if isinstance(err, boto_errors()):
            raise storage_error(err, f"download {where.uri}") from None
        if isinstance(err, OSError):
            raise StorageError(f"Cannot write {target}: {err.strerror or err}; check free space and permissions") from None
        raise


def _get_small(client, obj: StoredObject, tmp: Path, meter: _Meter) -> None:
    from botocore.exceptions import (
        ConnectionClosedError,
        IncompleteReadError,
        ReadTimeoutError,
        ResponseStreamingError,  # deferred: botocore (~0.2 s to import)
    )

    args = {"Bucket": obj.location.bucket, "Key": obj.location.key}
    if obj.etag:
        args["IfMatch"] = f'"{obj.etag}"'  # the object we listed, not one replaced since
    for attempt in range(1, STREAM_ATTEMPTS + 1):
        got = 0
        try:
            body = client.get_object(**args)["Body"]
            with body, open(tmp, "wb") as out:
                for chunk in body.iter_chunks(CHUNK):
                    out.write(chunk)
                    got += len(chunk)
                    meter.add_bytes(len(chunk))
            return
        except (ConnectionClosedError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError):
            meter.add_bytes(-got)
            if attempt == STREAM_ATTEMPTS:
                raise


def copy_tree(
    src_dir: Path,
    dest_dir: Path,
    *,
    workers: int = 8,
    on_progress: Callable[[TransferProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[int, int]:
    """A real copy (never hardlinks) of a local folder, so a container cannot change the source.

    Symlinks leading out of src_dir are skipped. Returns (files, bytes).
    """
    objects = list_objects(Location("file", path=Path(src_dir)))
    done = download_objects(objects, Path(dest_dir), workers=workers, on_progress=on_progress, cancel=cancel)
    return done.files_done, done.bytes_done


def _put_s3(path: Path, dest: Location, size: int, extra: dict | None, callback=None) -> None:
    client = s3_client()
    try:
        if size >= BIG_OBJECT:
            client.upload_file(str(path), dest.bucket, dest.key, ExtraArgs=extra or None,
                               Callback=callback, Config=_big_config())
        else:
            with open(path, "rb") as body:
                client.put_object(Bucket=dest.bucket, Key=dest.key, Body=body, **(extra or {}))
            if callback is not None:
                callback(size)
    except boto_errors() as err:
        raise storage_error(err, f"upload {path} to {dest.uri}") from None
    except OSError as err:
        raise StorageError(f"Cannot read {path}: {err.strerror or err}; check that it exists and is readable") from None


def _file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError as err:
        raise StorageError(f"Cannot read {path}: {err.strerror or err}; check that it exists and is readable") from None


def upload_file(path: Path, dest: Location, *, extra: dict | None = None) -> None:
    """One file to an S3 key (`extra`: put_object arguments such as ContentType) or a local
    path (parents created, temp + rename; `extra` ignored)."""
    path = Path(path)
    size = _file_size(path)
    if dest.is_s3:
        require_key(dest)
        _put_s3(path, dest, size, extra)
        return
    assert dest.path is not None
    try:
        dest.path.parent.mkdir(parents=True, exist_ok=True)
        copy_file_atomic(path, dest.path)
    except OSError as err:
        raise StorageError(f"Cannot copy {path} to {dest.path}: {err.strerror or err}; check the path and permissions") from None


def upload_open_file(handle: BinaryIO, size: int, dest: Location) -> None:
    """An already open file (`size` bytes) to an S3 key or a local path, never reopened by
    name: the caller opened it safely (a container could have swapped the path for a link)."""
    if dest.is_s3:
        require_key(dest)
        client = s3_client()
        try:
            if size >= BIG_OBJECT:
                client.upload_fileobj(handle, dest.bucket, dest.key, Config=_big_config())
            else:
                client.put_object(Bucket=dest.bucket, Key=dest.key, Body=handle.read(size))
        except boto_errors() as err:
            raise storage_error(err, f"upload to {dest.uri}") from None
        return
    assert dest.path is not None
    tmp = None
    try:
        dest.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path_for(dest.path)
        with open(tmp, "xb") as out:
            shutil.copyfileobj(handle, out, CHUNK)
        os.replace(tmp, dest.path)
    except OSError as err:
        if tmp is not None:
            remove_quietly(tmp)
        raise StorageError(f"Cannot write {dest.path}: {err.strerror or err}; check the path and permissions") from None


def upload_tree(
    src_dir: Path,
    dest: Location,
    *,
    workers: int = 16,
    on_progress: Callable[[TransferProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[int, int]:
    """Every file under src_dir to dest/<rel>; symlinks leading out of src_dir are skipped.

    Returns (files, bytes).
    """
    objects = list_objects(Location("file", path=Path(src_dir)))
    meter = _Meter(TransferProgress(0, len(objects), 0, sum(obj.size for obj in objects)), on_progress, cancel)
    if dest.is_s3:
        if not dest.bucket:
            raise StorageError(f"{dest.uri} names no bucket; write s3://BUCKET/PREFIX")

        def one(obj: StoredObject) -> None:
            meter.check()
            assert obj.location.path is not None
            _put_s3(obj.location.path, dest.join(obj.rel), obj.size, None, meter.add_bytes)
            meter.file_done()
    else:
        assert dest.path is not None
        folder = SafeFolder(dest.path)

        def one(obj: StoredObject) -> None:
            meter.check()
            assert obj.location.path is not None
            target = folder.path_for(obj.rel)
            try:
                meter.add_bytes(copy_file_atomic(obj.location.path, target))
            except OSError as err:
                raise StorageError(f"Cannot copy {obj.location.path} to {target}: {err.strerror or err}; "
                                   "check free space and permissions") from None
            meter.file_done()

    _run_all(one, objects, workers, meter)
    done = meter.finish()
    return done.files_done, done.bytes_done


def delete_object(location: Location, *, client=None) -> None:
    """Remove one object or local file; one that is already gone is fine. `client` is an
    S3 client with other retries (the checkpoint sync's), else the shared one."""
    if location.is_s3:
        require_key(location, folder_ok=True)
        try:
            (client or s3_client()).delete_object(Bucket=location.bucket, Key=location.key)
        except boto_errors() as err:
            raise storage_error(err, f"delete {location.uri}") from None
        return
    assert location.path is not None
    try:
        os.unlink(location.path)
    except FileNotFoundError:
        pass
    except OSError as err:
        raise StorageError(f"Cannot delete {location.path}: {err.strerror or err}; check that it is a file you may remove") from None


def read_object_bytes(location: Location) -> bytes:
    """The whole content of a small object (a manifest, a `-ref` attribute)."""
    with open_object_stream(location) as stream:
        try:
            return stream.read()
        except boto_errors() as err:
            raise storage_error(err, f"read {location.uri}") from None


def open_object_stream(source: StoredObject | Location) -> BinaryIO:
    """A binary stream over one object, for Pipe mode and FastFile reads; close it when done.

    Given a StoredObject, S3 serves only the version that was listed (If-Match on its ETag).
    Errors while reading an S3 body are botocore's; wrap them with storage_error.
    """
    location = source.location if isinstance(source, StoredObject) else source
    if location.is_s3:
        require_key(location)
        args = {"Bucket": location.bucket, "Key": location.key}
        if isinstance(source, StoredObject) and source.etag:
            args["IfMatch"] = f'"{source.etag}"'
        try:
            return s3_client().get_object(**args)["Body"]
        except boto_errors() as err:
            raise storage_error(err, f"read {location.uri}") from None
    assert location.path is not None
    try:
        return open(location.path, "rb")
    except FileNotFoundError:
        raise StorageError(f"{location.path} does not exist; check the path") from None
    except OSError as err:
        raise StorageError(f"Cannot read {location.path}: {err.strerror or err}; check its permissions") from None
