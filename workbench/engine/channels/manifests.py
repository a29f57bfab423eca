"""ManifestFile and AugmentedManifestFile channels: what the manifest lists, checked.

A ManifestFile is a JSON array `[{"prefix": "s3://b/p/"}, "rel1", "rel2", ...]`; each
entry is the prefix plus a relative path, and an entry that would leave the prefix
(absolute, '..', or a local symlink leading out) is refused. An AugmentedManifestFile is
JSON Lines; `AttributeNames` picks attributes in order, and an attribute whose name ends
in `-ref` holds the URI of an object whose bytes are sent instead of the value.

Local runs also accept local manifests; their prefixes and `-ref`s may then be local
paths (relative to the manifest's folder) that must stay inside that folder. A manifest
read from S3 may only name S3 objects: a bucket's content never reads this machine's files.
"""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.errors import StorageError
from workbench.storage.cache import Lease
from workbench.storage.localfiles import is_inside
from workbench.storage.objects import StoredObject, safe_relpath, stat_object
from workbench.storage.uri import Location, local_path, parse_location

MAX_MANIFEST_BYTES = 1024**3


@dataclass(frozen=True)
class AugmentedLine:
    number: int  # 1-based line number in the manifest
    values: tuple[tuple[str, Any], ...]  # (attribute, value) in AttributeNames order


def _read_manifest(location: Location, lease: Lease) -> str:
    """The manifest's text, through the cache like any other object."""
    obj = stat_object(location)
    if obj.size > MAX_MANIFEST_BYTES:
        raise StorageError(f"Manifest {location.uri} is {obj.size} bytes; split it into manifests under 1 GiB")
    with lease.open(obj) as stream:
        data = stream.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise StorageError(f"Manifest {location.uri} is not UTF-8 text; write it as UTF-8 JSON") from None


def _local_root(manifest: Location) -> Path:
    assert manifest.path is not None
    return manifest.path.parent


def _inside(path: Path, folder: Path) -> bool:
    return is_inside(os.path.realpath(path), os.path.realpath(folder))


def parse_manifest(text: str, manifest: Location) -> tuple[str, list[str]]:
    """(prefix, relative paths) of a ManifestFile; StorageError for a malformed or unsafe one."""
    where = manifest.uri
    try:
        data = json.loads(text)
    except ValueError as err:
        raise StorageError(f"Manifest {where} is not valid JSON ({err}); write a JSON array "
                           '[{"prefix": "s3://bucket/prefix/"}, "relative/path", ...]') from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict) or \
            not isinstance(data[0].get("prefix"), str):
        raise StorageError(f"Manifest {where} must be a JSON array starting with {{\"prefix\": \"s3://bucket/prefix/\"}}")
    prefix = data[0]["prefix"]
    if manifest.is_s3 and not prefix.startswith("s3://"):
        raise StorageError(f"Manifest {where}: its prefix {prefix!r} is not an s3:// URI; a manifest in S3 "
                           "may only list S3 objects")
    rels: list[str] = []
    for index, entry in enumerate(data[1:], start=1):
        if not isinstance(entry, str):
            raise StorageError(f"Manifest {where}: entry {index} is {type(entry).__name__}, not a relative path string")
        try:
            rels.append(safe_relpath(entry, "entry"))
        except StorageError:
            raise StorageError(f"Manifest {where}: entry {index} {entry!r} escapes its prefix {prefix!r} "
                               "(absolute or '..'); list paths relative to the prefix") from None
    return prefix, rels


def manifest_objects(manifest: Location, lease: Lease, workers: int = 16) -> list[StoredObject]:
    """The objects a ManifestFile lists, in its order, each with its relative path as `rel`."""
    prefix, rels = parse_manifest(_read_manifest(manifest, lease), manifest)
    if prefix.startswith("s3://"):
        base = parse_location(prefix)
        if not base.bucket:
            raise StorageError(f"Manifest {manifest.uri}: prefix {prefix!r} names no bucket; write s3://BUCKET/PREFIX")
        locations = [Location("s3", base.bucket, base.key + rel) for rel in rels]
    else:
        root = _local_root(manifest)
        folder = local_path(prefix, root)
        if not prefix.endswith("/") and not folder.is_dir():
            folder = folder.parent
        start = str(local_path(prefix, root)) + ("/" if prefix.endswith("/") else "")
        locations = []
        for rel in rels:
            path = Path(start + rel)
            if not _inside(path, folder):
                raise StorageError(f"Manifest {manifest.uri}: entry {rel!r} leads out of its prefix {prefix!r} "
                                   "(through a symlink); list files inside the prefix")
            locations.append(Location("file", path=path))

    def one(pair: tuple[Location, str]) -> StoredObject:
        location, rel = pair
        return replace(stat_object(location), rel=rel)

    if not locations:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(locations)), thread_name_prefix="wb-manifest") as pool:
        return list(pool.map(one, zip(locations, rels)))


def augmented_lines(manifest: Location, lease: Lease, attribute_names: tuple[str, ...]) -> list[AugmentedLine]:
    """The selected attributes of every line of an AugmentedManifestFile, in order."""
    where = manifest.uri
    if not attribute_names:
        raise StorageError(f"Channel reading augmented manifest {where} names no AttributeNames; list the "
                           "attributes to send, e.g. AttributeNames: [source-ref, class]")
    lines: list[AugmentedLine] = []
    for number, raw in enumerate(io.StringIO(_read_manifest(manifest, lease)), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise StorageError(f"Augmented manifest {where} line {number} is not valid JSON ({err}); "
                               "write one JSON object per line") from None
        if not isinstance(data, dict):
            raise StorageError(f"Augmented manifest {where} line {number} is not a JSON object")
        missing = [name for name in attribute_names if name not in data]
        if missing:
            raise StorageError(f"Augmented manifest {where} line {number} has no attribute {missing[0]!r}; "
                               "every line needs all AttributeNames")
        values = tuple((name, data[name]) for name in attribute_names)
        for name, value in values:
            if name.endswith("-ref"):
                ref_location(value, manifest, number, name)  # refused early, before training starts
        lines.append(AugmentedLine(number, values))
    return lines


def ref_location(value: Any, manifest: Location, number: int, attribute: str) -> Location:
    """Where a `-ref` attribute points; refused when it is not a URI this manifest may read."""
    where = f"Augmented manifest {manifest.uri} line {number} attribute {attribute!r}"
    if not isinstance(value, str) or not value:
        raise StorageError(f"{where} is not a URI string; a -ref attribute holds s3://bucket/key")
    if value.startswith("s3://"):
        location = parse_location(value)
        if not location.bucket or not location.key or location.key.endswith("/"):
            raise StorageError(f"{where}: {value!r} names no object; write s3://bucket/key")
        return location
    if manifest.is_s3 or ("://" in value and not value.startswith("file://")):
        raise StorageError(f"{where}: {value!r} is not an s3:// URI; a manifest in S3 may only reference S3 objects")
    root = _local_root(manifest)
    path = local_path(value, root)
    if not _inside(path, root):
        raise StorageError(f"{where}: {value!r} is outside the manifest's folder {root}; "
                           "local references must stay inside it")
    return Location("file", path=path)


def attribute_bytes(value: Any) -> bytes:
    """A plain attribute as sent down the pipe: strings as UTF-8 text, anything else as compact JSON."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
