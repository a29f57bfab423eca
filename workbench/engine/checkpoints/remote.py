"""Where a job's checkpoints live: CheckpointConfig.S3Uri, on S3 or a local folder.

A file saved as `<LocalPath>/sub/a.pt` goes to `<S3Uri>/sub/a.pt` and comes back to the
same place. S3Uri is a raw key prefix, as on SageMaker: `s3://b/ckpt-1` also matches
`ckpt-10/x.pt` and `ckpt-1.old`. Such keys are restored too, at their path relative to
the prefix's parent folder (`ckpt-10/x.pt`, `ckpt-1.old`, as File-mode channels place
them), but the sync never writes or deletes them: it only touches keys under `<S3Uri>/`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from workbench import aws
from workbench.errors import StorageError
from workbench.storage.localfiles import SafeFolder, remove_quietly, temp_path_for
from workbench.storage.objects import StoredObject, list_objects, safe_relpath
from workbench.storage.s3 import boto_errors, storage_error
from workbench.storage.transfer import delete_object
from workbench.storage.uri import Location, parse_location

PART_SIZE = 8 * 1024 * 1024  # at least; S3 takes at most 10,000 parts
PART_WORKERS = 8

def sync_client():
    """An S3 client for the live sync: one try plus one retry per call, short connect timeout.

    The sync has its own retry loop with backoff and shows each failure in the file's
    status; botocore's default retries would hide an unreachable endpoint for many seconds.
    Endpoints come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, which boto3 reads itself.
    """
    return aws.client("s3", pool=32, attempts=2, connect_timeout=3, read_timeout=20)


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

    def put_parts(self, rel: str, fd: int, size: int, unchanged) -> bool:
        """Upload a big file straight from an open fd, published only if `unchanged()` still
        holds once every part is sent (else the upload is aborted: S3 never shows a mix of
        two versions, and no copy of the file is needed). False when it was aborted."""
        target = self.where(rel)
        if not target.is_s3:
            return self._write_local(rel, lambda handle: _copy_fd(fd, size, handle), unchanged)
        part = max(PART_SIZE, -(-size // 9000))
        spans = [(number, offset, min(part, size - offset))
                 for number, offset in enumerate(range(0, max(size, 1), part), start=1)]
        state: dict = {}

        def run(client) -> None:
            upload = client.create_multipart_upload(Bucket=target.bucket, Key=target.key, ChecksumAlgorithm="CRC32")
            state["id"] = upload["UploadId"]

            def send(span: tuple[int, int, int]) -> dict:
                number, offset, length = span
                body = os.pread(fd, length, offset)
                if len(body) != length:
                    raise _Changed()
                sent = client.upload_part(Bucket=target.bucket, Key=target.key, UploadId=state["id"],
                                          PartNumber=number, Body=body, ChecksumAlgorithm="CRC32")
                entry = {"PartNumber": number, "ETag": sent["ETag"]}
                if sent.get("ChecksumCRC32"):
                    entry["ChecksumCRC32"] = sent["ChecksumCRC32"]
                return entry

            with ThreadPoolExecutor(max_workers=min(PART_WORKERS, len(spans)), thread_name_prefix="ckpt-part") as pool:
                parts = list(pool.map(send, spans))
            if not unchanged():
                raise _Changed()
            client.complete_multipart_upload(Bucket=target.bucket, Key=target.key, UploadId=state["id"],
                                             MultipartUpload={"Parts": parts})
            state.pop("id")

        try:
            self._call("upload", target, run)
        except _Changed:
            return False
        finally:
            if "id" in state:  # failed or changed: leave no parts behind
                try:
                    sync_client().abort_multipart_upload(Bucket=target.bucket, Key=target.key, UploadId=state["id"])
                except Exception:
                    pass  # an unreachable endpoint; S3's lifecycle rules clean up stale uploads
        return True

    def delete(self, rel: str) -> None:
        target = self.where(rel)
        delete_object(target, client=sync_client() if target.is_s3 else None)

    @staticmethod
    def _call(what: str, target: Location, call) -> None:
        if not target.bucket:
            raise StorageError(f"{target.uri} names no bucket; write s3://BUCKET/PREFIX")
        try:
            call(sync_client())
        except boto_errors() as err:
            raise storage_error(err, f"{what} {target.uri}") from None

    def _write_local(self, rel: str, write, unchanged=None) -> bool:
        """Local stand-in for S3: whole files only (temp + rename), never through a symlink;
        False (nothing written) when `unchanged()` no longer holds before the rename."""
        assert self.location.path is not None
        try:
            final = SafeFolder(self.location.path).path_for(rel)
            tmp = temp_path_for(final)
            try:
                with open(tmp, "wb") as handle:
                    write(handle)
                if unchanged is not None and not unchanged():
                    remove_quietly(tmp)
                    return False
                os.replace(tmp, final)
            except _Changed:
                remove_quietly(tmp)
                return False
            except BaseException:
                remove_quietly(tmp)
                raise
        except OSError as err:
            raise StorageError(f"Cannot write {self.location.path / rel}: {err.strerror or err}; "
                               "check the path, free space and permissions") from None
        return True


class _Changed(Exception):
    """The file changed while it was being sent."""


def _copy_fd(fd: int, size: int, handle) -> None:
    offset = 0
    while chunk := os.pread(fd, 1024 * 1024, offset):
        handle.write(chunk)
        offset += len(chunk)
    if offset != size:
        raise _Changed()
