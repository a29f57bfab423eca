"""Reading a tree a container wrote (its /opt/ml, its checkpoint folder), without being led out of it.

The tree is written by root in a container that may plant symlinks anywhere in it: a
link to `/etc`, a folder swapped for a link between two of our calls, a FIFO where a
file was expected. Every access here walks the path one component at a time with
O_NOFOLLOW, so nothing outside the tree is ever stat'ed, read or listed; a symlink is
followed only when, as the container sees it, its target lies inside the tree; files are
opened non-blocking and used only when they are regular files. The checkpoint sync and
the packing of outputs both read through here.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class Outside(Exception):
    """A symlink in the folder leads out of it (or goes round in circles)."""


def _open_folder(root: Path, rel: str) -> int:
    """An fd of root/rel, reached one component at a time without following any symlink."""
    fd = os.open(root, _DIR_FLAGS)
    if not rel:
        return fd
    try:
        for part in rel.split("/"):
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_parent(root: Path, rel: str) -> tuple[int, str]:
    """An fd of rel's parent folder (reached safely) and rel's last part."""
    parent, _, name = rel.rpartition("/")
    return _open_folder(root, parent), name


def lstat_inside(root: Path, rel: str) -> os.stat_result | None:
    """rel's own stat (a symlink is not followed); None when it, or a real folder on its way, is missing."""
    try:
        fd, name = _open_parent(root, rel)
    except OSError:  # missing, or a folder on the way is a symlink or a file
        return None
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return None
    finally:
        os.close(fd)


def link_target(root: Path, rel: str, mount: str | None = None, hops: int = 8, inside: str = "") -> str:
    """The path inside the folder a symlink at rel leads to, read as the container reads it:
    relative targets, and absolute ones under the folder's mount point (`mount`, e.g.
    /opt/ml/checkpoints). Outside when it leads anywhere else; nothing outside is looked at.

    `inside` narrows the folder to a sub-folder of root (e.g. `model` of an /opt/ml tree,
    reached from root without following links): `mount` is then that sub-folder's mount point.
    """
    current = rel
    base = (mount or "").rstrip("/")
    for _ in range(hops):
        try:
            fd, name = _open_parent(root, current)
        except OSError:
            raise Outside(rel) from None
        try:
            target = os.readlink(name, dir_fd=fd)
        except OSError:
            raise Outside(rel) from None
        finally:
            os.close(fd)
        if target.startswith("/"):
            if not base or not target.startswith(base + "/"):
                raise Outside(rel)
            candidate = posixpath.join(inside, target[len(base) + 1:])
        else:
            candidate = posixpath.join(posixpath.dirname(current), target)
        candidate = posixpath.normpath(candidate)
        if candidate in (".", "..") or candidate.startswith(("../", "/")):
            raise Outside(rel)
        if inside and not candidate.startswith(inside.rstrip("/") + "/"):
            raise Outside(rel)
        info = lstat_inside(root, candidate)
        if info is None or not stat.S_ISLNK(info.st_mode):
            return candidate
        current = candidate
    raise Outside(rel)  # a chain of links too long, or a loop


def open_inside(root: Path, rel: str) -> int:
    """A read-only fd of the regular file at rel (never through a symlink, never blocking on a FIFO).

    OSError otherwise: ELOOP for a symlink, EISDIR for a folder, FIFO, socket or device."""
    fd, name = _open_parent(root, rel)
    try:
        handle = os.open(name, _FILE_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise IsADirectoryError(errno.EISDIR, f"{rel} is not a regular file")
    return handle


def read_start(root: Path, rel: str, limit: int) -> bytes:
    """At most `limit` bytes from the start of the regular file at rel (OSError as open_inside)."""
    fd = open_inside(root, rel)
    try:
        return os.pread(fd, limit, 0)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Peek:
    """What is at a path of the tree, and the start of it when it is a regular file."""

    kind: str  # file, folder, fifo, symlink, other, missing
    size: int = 0
    data: bytes = b""
    error: str = ""  # why a regular file could not be read


def peek(root: Path, rel: str, limit: int) -> Peek:
    """The start of the file at rel for a viewer: never through a link, never blocking."""
    info = lstat_inside(root, rel)
    if info is None:
        return Peek("missing")
    mode = info.st_mode
    if not stat.S_ISREG(mode):
        kind = ("folder" if stat.S_ISDIR(mode) else "fifo" if stat.S_ISFIFO(mode)
                else "symlink" if stat.S_ISLNK(mode) else "other")
        return Peek(kind, info.st_size)
    try:
        fd = open_inside(root, rel)
    except OSError as err:  # swapped for something else since the lstat
        return Peek("other", info.st_size, error=err.strerror or str(err))
    try:
        return Peek("file", os.fstat(fd).st_size, os.pread(fd, limit, 0))
    finally:
        os.close(fd)


def scan(root: Path, under: str = "") -> tuple[dict[str, os.stat_result], list[str]]:
    """Every regular file and symlink below root/under (rel -> its own stat), and every real folder.

    Each folder is reached component by component with O_NOFOLLOW, so one swapped for a
    symlink meanwhile is never entered.
    """
    files: dict[str, os.stat_result] = {}
    folders: list[str] = []
    stack = [under]
    while stack:
        prefix = stack.pop()
        try:
            fd = _open_folder(root, prefix)
        except OSError:
            continue  # removed, swapped for a link, or not ours to read
        try:
            with os.scandir(fd) as entries:
                listed = list(entries)
            for entry in listed:
                rel = f"{prefix}/{entry.name}" if prefix else entry.name
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    folders.append(rel)
                    stack.append(rel)
                elif stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                    files[rel] = info
        except OSError:
            pass
        finally:
            os.close(fd)
    return files, folders


def is_real_folder(root: Path, rel: str) -> bool:
    info = lstat_inside(root, rel)
    return info is not None and stat.S_ISDIR(info.st_mode)
