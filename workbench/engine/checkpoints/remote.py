"""Where a job's checkpoints live: CheckpointConfig.S3Uri, on S3 or a local folder.

A file saved as `<LocalPath>/sub/a.pt` goes to `<S3Uri>/sub/a.pt` and comes back to the
same place. S3Uri is a raw key prefix, as on SageMaker: `s3://b/ckpt-1` also matches
`ckpt-10/x.pt` and `ckpt-1.old`. Such keys are restored too, at their path relative to
the prefix's parent folder (`ckpt-10/x.pt`, `ckpt-1.old`, as File-mode channels place
them), but the sync never writes or deletes them: it only touches keys under `<S3Uri>/`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from workbench.errors import StorageError
from workbench.storage.localfiles import SafeFolder, remove_quietly, temp_path_for
from workbench.storage.objects import StoredObject, list_objects, safe_relpath
from workbench.storage.uri import Location, parse_location

BIG_FILE = 16 * 1024 * 1024  # from this size on, multipart upload with parts in parallel
PART_SIZE = 8 * 1024 * 1024

_client_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def sync_client():
    """An S3 client for the live sync: one try plus one retry per call, short connect timeout.

    The sync has its own retry loop with backoff and shows each failure in the file's
    status; botocore's default retries would hide an unreachable endpoint for many seconds.
    Endpoints come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, which boto3 reads itself.
    """
    names = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION")
    key = tuple(os.environ.get(name) for name in names)
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            import boto3.session
            from botocore.config import Config

            config = Config(max_pool_connections=32, connect_timeout=3, read_timeout=20,
                            retries={"mode": "standard", "total_max_attempts": 2})
            client = _clients[key] = boto3.session.Session().client("s3", config=config)
        return client


def restore_path(prefix: str, key: str) -> tuple[str, bool]:
    """Where a key matched by the raw prefix lands in the checkpoint folder, and whether it
    lies under `<prefix>/` (what the sync wrote) rather than merely sharing its beginning.

    restore_path("ckpt-1", "ckpt-1/a.pt") == ("a.pt", True)
    restore_path("ckpt-1", "ckpt-10/x.pt") == ("ckpt-10/x.pt", False)
    """
    base = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    if key.startswith(base):
        return key[len(base):], True
    return key[prefix.rfind("/") + 1:], False


@dataclass(frozen=True)
class CheckpointStore:
    location: Location

    @classmethod
    def parse(cls, uri: str) -> "CheckpointStore":
        return cls(parse_location(uri))

    @property
    def uri(self) -> str:
        return self.location.uri

    @property
    def base_key(self) -> str:
        """The key prefix every synced file goes under: S3Uri with exactly one trailing '/'."""
        key = self.location.key
        return key if not key or key.endswith("/") else key + "/"

    def where(self, rel: str) -> Location:
        if self.location.is_s3:
            return Location("s3", self.location.bucket, self.base_key + rel)
        assert self.location.path is not None
        return Location("file", path=self.location.path / rel)

    # --- restore -----------------------------------------------------------------------

    def listing(self) -> tuple[list[StoredObject], list[str]]:
        """What a restore copies (rel = its place in the checkpoint folder), and the keys left
        out because a key under `<S3Uri>/` has the same place.

        Unsafe keys (absolute, '..') are refused with a StorageError.
        """
        if not self.location.is_s3:
            assert self.location.path is not None
            if not self.location.path.exists():
                return [], []  # a first run: the folder appears with the first sync
            return list_objects(self.location), []
        own: dict[str, StoredObject] = {}
        siblings: dict[str, StoredObject] = {}
        for obj in list_objects(self.location):
            rel, under = restore_path(self.location.key, obj.location.key)
            (own if under else siblings)[safe_relpath(rel, f"S3 object {obj.location.uri}")] = obj
        shadowed = sorted(siblings[rel].location.uri for rel in siblings.keys() & own.keys())
        chosen = {**siblings, **own}
        return [replace(obj, rel=rel) for rel, obj in sorted(chosen.items())], shadowed

    # --- sync --------------------------------------------------------------------------

    def put_bytes(self, rel: str, data: bytes) -> None:
        target = self.where(rel)
        if target.is_s3:
            self._call("upload", target, lambda c: c.put_object(Bucket=target.bucket, Key=target.key, Body=data))
            return
        self._write_local(rel, lambda handle: handle.write(data))

    def put_file(self, rel: str, path: Path) -> None:
        target = self.where(rel)
        if target.is_s3:
            from boto3.s3.transfer import TransferConfig

            config = TransferConfig(multipart_threshold=BIG_FILE, multipart_chunksize=PART_SIZE,
                                    max_concurrency=8, use_threads=True)
            self._call("upload", target, lambda c: c.upload_file(str(path), target.bucket, target.key, Config=config))
            return

        def copy(handle) -> None:
            with open(path, "rb") as source:
                while chunk := source.read(1024 * 1024):
                    handle.write(chunk)

        self._write_local(rel, copy)

    def delete(self, rel: str) -> None:
        target = self.where(rel)
        if target.is_s3:
            self._call("delete", target, lambda c: c.delete_object(Bucket=target.bucket, Key=target.key))
            return
        assert target.path is not None
        try:
            os.unlink(target.path)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise StorageError(f"Cannot delete {target.path}: {err.strerror or err}") from None

    @staticmethod
    def _call(what: str, target: Location, call) -> None:
        from workbench.storage.s3 import boto_errors, storage_error

        if not target.bucket:
            raise StorageError(f"{target.uri} names no bucket; write s3://BUCKET/PREFIX")
        try:
            call(sync_client())
        except boto_errors() as err:
            raise storage_error(err, f"{what} {target.uri}") from None

    def _write_local(self, rel: str, write) -> None:
        """Local stand-in for S3: whole files only (temp + rename), never through a symlink."""
        assert self.location.path is not None
        try:
            final = SafeFolder(self.location.path).path_for(rel)
            tmp = temp_path_for(final)
            try:
                with open(tmp, "wb") as handle:
                    write(handle)
                os.replace(tmp, final)
            except BaseException:
                remove_quietly(tmp)
                raise
        except OSError as err:
            raise StorageError(f"Cannot write {self.location.path / rel}: {err.strerror or err}; "
                               "check the path, free space and permissions") from None
