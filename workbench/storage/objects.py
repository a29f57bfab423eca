"""What a location holds: the objects under an S3 prefix or the files under a local folder.

Each object carries the relative path it gets in a destination folder (`rel`), decided
here once and checked so that no key can place a file outside that folder.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import StorageError
from workbench.storage.localfiles import is_inside, is_temp_name
from workbench.storage.s3 import boto_errors, require_key, s3_client, storage_error
from workbench.storage.uri import Location


@dataclass(frozen=True)
class StoredObject:
    location: Location  # the object itself: s3 bucket+key, or an absolute local file path
    rel: str  # posix path under the destination folder, checked by safe_relpath
    size: int
    etag: str  # S3 ETag without quotes; local files f"{size}-{mtime_ns}" (a cache key either way)
    mtime: float  # epoch seconds


def safe_relpath(rel: str, what: str) -> str:
    """`rel` without '.' and empty parts; StorageError when it is empty, absolute or has '..'.

    Any '..' is refused, even one that would stay inside: a folder on the way may be a
    symlink, and S3 has no folders to resolve '..' against anyway.
    """
    parts = [part for part in rel.split("/") if part not in ("", ".")]
    if rel.startswith("/") or ".." in parts or "\x00" in rel:
        raise StorageError(
            f"Refusing {what}: its path {rel!r} escapes the destination folder "
            "(absolute or '..'); rename it at the source"
        )
    if not parts:
        raise StorageError(f"Refusing {what}: it names no file (empty path {rel!r})")
    return "/".join(parts)


@dataclass
class FolderLinks:
    """The symlinks a local listing met, for whoever must tell the user or mount the folder."""

    outside: list[str] = field(default_factory=list)  # leading outside the folder: not followed
    # Every link followed is relative and never climbs ('..'): it resolves the same
    # wherever the folder is mounted (in a container, say).
    portable: bool = True


def list_objects(location: Location, links: FolderLinks | None = None) -> list[StoredObject]:
    """Everything a File-mode channel or a checkpoint restore would copy from `location`.

    S3: the key is a raw prefix (`s3://b/train` matches `train-01/x` too, as SageMaker
    does); `rel` is the key minus the prefix up to its last '/'; folder markers are skipped.
    Local: a folder lists its files recursively, a file lists itself; symlinks that lead
    outside the folder are not followed (noted in `links` when given).
    """
    if location.is_s3:
        return _list_s3(location)
    assert location.path is not None
    return _list_local(location.path, links if links is not None else FolderLinks())


def stat_object(location: Location) -> StoredObject:
    """One object (a manifest entry, an augmented-manifest `-ref`), with rel = its base name."""
    if location.is_s3:
        require_key(location)
        try:
            head = s3_client().head_object(Bucket=location.bucket, Key=location.key)
        except boto_errors() as err:
            raise storage_error(err, f"read {location.uri}") from None
        name = location.key.rstrip("/").rsplit("/", 1)[-1]
        return StoredObject(location, safe_relpath(name, location.uri), head["ContentLength"],
                            head.get("ETag", "").strip('"'), head["LastModified"].timestamp())
    assert location.path is not None
    path = location.path
    info = _stat_local(path)
    if not stat.S_ISREG(info.st_mode):
        raise StorageError(f"{path} is not a file; name a file")
    return _local_object(path, path.name, info)


def _list_s3(location: Location) -> list[StoredObject]:
    if not location.bucket:
        raise StorageError(f"{location.uri} names no bucket; write s3://BUCKET/PREFIX")
    prefix = location.key
    cut = prefix.rfind("/") + 1
    found: list[StoredObject] = []
    try:
        pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"]
                if key.endswith("/"):
                    continue  # folder marker written by consoles and some tools
                where = Location("s3", location.bucket, key)
                found.append(StoredObject(
                    location=where,
                    rel=safe_relpath(key[cut:], f"S3 object {where.uri}"),
                    size=int(item["Size"]),
                    etag=str(item.get("ETag", "")).strip('"'),
                    mtime=item["LastModified"].timestamp(),
                ))
    except boto_errors() as err:
        raise storage_error(err, f"list {location.uri}") from None
    found.sort(key=lambda obj: obj.location.key)
    return found


def _stat_local(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise StorageError(
            f"{path} does not exist; check the path (relative paths start at the spec file's folder)"
        ) from None
    except OSError as err:
        raise StorageError(f"Cannot read {path}: {err.strerror or err}; check its permissions") from None


def _local_object(path: Path, rel: str, info: os.stat_result) -> StoredObject:
    return StoredObject(Location("file", path=path), rel, info.st_size,
                        f"{info.st_size}-{info.st_mtime_ns}", info.st_mtime)


def _list_local(root: Path, links: FolderLinks) -> list[StoredObject]:
    info = _stat_local(root)
    if stat.S_ISREG(info.st_mode):
        return [_local_object(root, root.name, info)]
    if not stat.S_ISDIR(info.st_mode):
        raise StorageError(f"{root} is neither a file nor a folder; name a file or a folder")
    root_real = os.path.realpath(root)
    visited = {(info.st_dev, info.st_ino)}  # folders reached through symlinks can loop
    found: list[StoredObject] = []
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as err:
            raise StorageError(f"Cannot list {folder}: {err.strerror or err}; check its permissions") from None
        for entry in entries:
            if entry.is_symlink():
                if not is_inside(os.path.realpath(entry.path), root_real):
                    links.outside.append(prefix + entry.name)
                    continue  # never copy what lies outside the folder
                try:
                    target = os.readlink(entry.path)
                except OSError:
                    continue  # removed since scandir
                links.portable = links.portable and not target.startswith("/") and ".." not in target.split("/")
            try:
                entry_info = entry.stat()
            except OSError:
                continue  # a dangling symlink, or removed since scandir
            rel = prefix + entry.name
            if stat.S_ISDIR(entry_info.st_mode):
                ident = (entry_info.st_dev, entry_info.st_ino)
                if ident not in visited:
                    visited.add(ident)
                    stack.append((entry.path, rel + "/"))
            elif stat.S_ISREG(entry_info.st_mode) and not is_temp_name(entry.name):
                found.append(_local_object(Path(entry.path), rel, entry_info))
            # sockets, FIFOs and devices are skipped: copying one would block or make no sense
    found.sort(key=lambda obj: obj.rel)
    return found
