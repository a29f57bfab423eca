"""One version of a checkpoint file, read consistently while its container may still write.

The file is opened without following links, checked to be the version the sync saw,
read whole (into memory, or copied aside when big), and checked again: if it changed
meanwhile, the read is thrown away. What gets uploaded is the copy, never the live file,
so S3 never sees a mix of two versions.
"""

from __future__ import annotations

import errno
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from workbench.engine.checkpoints.folders import Signature, open_inside
from workbench.errors import StorageError

IN_MEMORY = 8 * 1024 * 1024  # files up to this size are read into memory; bigger ones copied aside
_GONE = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}  # the path changed under us


@dataclass
class Snapshot:
    data: bytes | None = None  # small files
    path: Path | None = None  # big files: a private copy, removed by discard()

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def take(root: Path, rel: str, expected: Signature, staging: Path) -> Snapshot | None:
    """The file at root/rel as `expected` describes it; None when it is not that version any more.

    StorageError when it cannot be read (permissions): the sync retries and shows why.
    """
    try:
        fd = open_inside(root, rel)
    except OSError as err:
        if err.errno in _GONE:
            return None
        raise StorageError(f"Cannot read {rel}: {err.strerror or err}") from None
    snapshot = Snapshot()
    try:
        if Signature.of(os.fstat(fd)) != expected:
            return None
        if expected.size <= IN_MEMORY:
            snapshot.data = _read_all(fd, expected.size)
        else:
            staging.mkdir(parents=True, exist_ok=True)
            snapshot.path = staging / f"{uuid.uuid4().hex}.part"
            _copy_out(fd, snapshot.path)
        if Signature.of(os.fstat(fd)) != expected:
            snapshot.discard()
            return None
    except OSError as err:
        snapshot.discard()
        raise StorageError(f"Cannot read {rel}: {err.strerror or err}") from None
    finally:
        os.close(fd)
    return snapshot


def _read_all(fd: int, size: int) -> bytes:
    """The whole file (to its end, even if it grew: the signature check then rejects it)."""
    chunks, got = [], 0
    while chunk := os.pread(fd, max(size - got, 1024 * 1024), got):
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _copy_out(fd: int, target: Path) -> None:
    with open(target, "wb") as out:
        offset = 0
        while True:
            try:
                sent = os.sendfile(out.fileno(), fd, offset, 64 * 1024 * 1024)
            except OSError:
                sent = -1
            if sent == -1:  # no sendfile between these files: copy by hand
                while chunk := os.pread(fd, 1024 * 1024, offset):
                    out.write(chunk)
                    offset += len(chunk)
                return
            if sent == 0:
                return
            offset += sent
