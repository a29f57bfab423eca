"""After the containers exit: every host's /opt/ml/model merged into model.tar.gz, and
/opt/ml/output/data into output.tar.gz, at <S3OutputPath>/<job>/output/; FailureReason
from /opt/ml/output/failure.

Everything here was written by the container, which may have planted links to this
machine's files (`model -> /etc`, `model/key -> /etc/shadow`) or a FIFO as its failure
file. So both folders are read through container_files: each file is opened once, without
following links, and packed or uploaded from that open file. A link is packed as a
regular file with its target's content when, read as the container reads it, it leads to
a file inside the same folder (as the checkpoint sync does); anything else a link leads
to, and a folder that is itself a link, is skipped and reported.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.engine.container_files import Outside, link_target, lstat_inside, open_inside, read_start, scan
from workbench.storage.transfer import upload_file, upload_open_file
from workbench.storage.uri import Location, parse_location

FAILURE_LIMIT = 1024
FOLDERS = {"model": "model", "data": "output/data"}  # what is packed, by the prefix it gets


@dataclass(frozen=True)
class Member:
    """One file of the merged outputs: which host's tree it comes from and what is read there."""

    host: str
    tree: Path  # the host's /opt/ml on this machine
    source: str  # path under the tree of the regular file read (a link's target, for a link)


@dataclass(frozen=True)
class UploadResult:
    model_artifacts: str
    output_artifacts: str
    files: int
    bytes: int
    seconds: float
    collisions: tuple[tuple[str, str, str], ...]  # (relative path, kept host, dropped host)
    skipped: tuple[tuple[str, str, str], ...] = ()  # (host, path in the container, why)


def merged_files(trees: list[tuple[str, Path]], folder: str) -> tuple[
        dict[str, Member], list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """rel -> Member over several hosts' `folder` (model, output/data); the first host wins
    a clash. Also the clashes and what was skipped (host, container path, why)."""
    merged: dict[str, Member] = {}
    collisions: list[tuple[str, str, str]] = []
    skipped: list[tuple[str, str, str]] = []
    mount = f"/opt/ml/{folder}"
    for host, tree in trees:
        where, info = folder, lstat_inside(tree, folder)
        if info is None and "/" in folder:  # output/data under an `output` that is not a folder
            where, info = folder.split("/")[0], lstat_inside(tree, folder.split("/")[0])
        if info is None:
            continue
        if not stat.S_ISDIR(info.st_mode) or where != folder:
            why = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a folder"
            skipped.append((host, f"/opt/ml/{where}", f"{why}; nothing in it was packed"))
            continue
        files, _ = scan(tree, folder)
        for path in sorted(files):
            rel = path[len(folder) + 1:]
            source = path
            if stat.S_ISLNK(files[path].st_mode):
                try:
                    source = link_target(tree, path, mount, inside=folder)
                except Outside:
                    skipped.append((host, f"{mount}/{rel}", f"a symlink leading out of {mount}"))
                    continue
                target = lstat_inside(tree, source)
                if target is None or not stat.S_ISREG(target.st_mode):
                    skipped.append((host, f"{mount}/{rel}", "a symlink to no file (missing, or a folder)"))
                    continue
            if rel in merged:
                collisions.append((rel, merged[rel].host, host))
                continue
            merged[rel] = Member(host, tree, source)
    return merged, collisions, skipped


class _Opened:
    """A member's file, opened without following links: (handle, size, mode, mtime)."""

    def __init__(self, member: Member) -> None:
        self.fd = open_inside(member.tree, member.source)
        info = os.fstat(self.fd)
        self.size, self.mode, self.mtime = info.st_size, stat.S_IMODE(info.st_mode) & 0o777, info.st_mtime
        self.handle = os.fdopen(self.fd, "rb")

    def __enter__(self) -> "_Opened":
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


def _open(member: Member, rel: str, skipped: list) -> _Opened | None:
    try:
        return _Opened(member)
    except OSError as err:  # changed since the scan: gone, or now a link or a FIFO
        why = "no longer a regular file" if err.errno in (errno.ELOOP, errno.EISDIR, errno.ENOTDIR) else \
            f"unreadable ({err.strerror or err})"
        skipped.append((member.host, rel, why))
        return None


def _tar(files: dict[str, Member], target: Path, folder: str, skipped: list) -> tuple[int, int]:
    count = size = 0
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        for rel, member in files.items():
            opened = _open(member, f"/opt/ml/{folder}/{rel}", skipped)
            if opened is None:
                continue
            with opened:
                info = tarfile.TarInfo(rel)
                info.size, info.mode, info.mtime = opened.size, opened.mode, opened.mtime
                tar.addfile(info, opened.handle)
            count += 1
            size += info.size
    return count, size


def pack_and_upload(job_name: str, output_path: str, compression: str,
                    host_roots: list[tuple[str, Path]], workdir: Path) -> UploadResult:
    """Build and place the job's artifacts; returns where they went. `host_roots`: each
    host's /opt/ml tree on this machine."""
    started = time.monotonic()
    dest = parse_location(output_path).join(job_name, "output")
    merged, clashes, skipped = {}, [], []
    for prefix, folder in FOLDERS.items():
        merged[prefix], more_clashes, more_skipped = merged_files(host_roots, folder)
        clashes += more_clashes
        skipped += more_skipped
    files = total = 0
    if compression == "NONE":
        for prefix, members in merged.items():
            for rel, member in members.items():
                opened = _open(member, f"/opt/ml/{FOLDERS[prefix]}/{rel}", skipped)
                if opened is None:
                    continue
                with opened:
                    upload_open_file(opened.handle, opened.size, dest.join(prefix, rel))
                files += 1
                total += opened.size
        model_uri, output_uri = dest.join("model").uri + "/", dest.join("data").uri + "/"
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            for name, prefix in (("model.tar.gz", "model"), ("output.tar.gz", "data")):
                archive = Path(tmp) / name
                count, size = _tar(merged[prefix], archive, FOLDERS[prefix], skipped)
                files += count
                total += size
                upload_file(archive, dest.join(name))
        model_uri, output_uri = dest.join("model.tar.gz").uri, dest.join("output.tar.gz").uri
    return UploadResult(model_uri, output_uri, files, total, time.monotonic() - started, tuple(clashes),
                        tuple(skipped))


def failure_reason(opt_ml: Path, warn=None) -> str | None:
    """The first 1024 characters of /opt/ml/output/failure, when the job wrote one.

    Only a regular file is read (never through a link, never a FIFO, which would block);
    `warn(message)` hears about anything else found there."""
    try:
        data = read_start(opt_ml, "output/failure", FAILURE_LIMIT * 4)  # UTF-8: at most 4 bytes a character
    except FileNotFoundError:
        return None
    except OSError:
        if warn is not None:
            warn("/opt/ml/output/failure was not read: it is not a regular file (a symlink, a FIFO, a folder, "
                 "or under a symlink)")
        return None
    text = data.decode("utf-8", errors="replace")[:FAILURE_LIMIT]
    return text if text.strip() else None


def output_location(spec: dict) -> Location:
    return parse_location(spec["OutputDataConfig"]["S3OutputPath"])
