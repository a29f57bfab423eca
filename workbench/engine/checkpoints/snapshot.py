"""One version of a checkpoint file, read consistently while its container may still write.

The file is opened without following links and checked to be the version the sync saw.
A small file is read whole and checked again; a big one is sent in parts straight from
the open file and published only if it is still that version after the last part
(remote.put_parts). Either way S3 never sees a mix of two versions, and no copy of a
big checkpoint is ever made on disk. A writer that replaces the file by rename leaves
our open version intact; one that writes in place changes its size or mtime.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from workbench.engine.checkpoints.ledger import Signature
from workbench.engine.container_files import open_inside
from workbench.errors import StorageError

IN_MEMORY = 8 * 1024 * 1024  # up to this size a file is read into memory and sent in one PUT
_GONE = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}  # the path changed under us


class Version:
    """An open file known to be the version `signature` describes (until unchanged() says not)."""

    def __init__(self, fd: int, signature: Signature) -> None:
        self.fd = fd
        self.signature = signature

    def unchanged(self) -> bool:
        return Signature.of(os.fstat(self.fd)) == self.signature

    def read_all(self) -> bytes | None:
        """The whole file, or None when it changed while read."""
        chunks, got = [], 0
        while chunk := os.pread(self.fd, max(self.signature.size - got, 1024 * 1024), got):
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks) if self.unchanged() else None

    def close(self) -> None:
        os.close(self.fd)


def open_version(root: Path, rel: str, expected: Signature) -> Version | None:
    """The file at root/rel if it is still the version `expected` describes, else None.

    StorageError when it cannot be read (permissions): the sync retries and shows why.
    """
    try:
        fd = open_inside(root, rel)
    except OSError as err:
        if err.errno in _GONE:
            return None
        raise StorageError(f"Cannot read {rel}: {err.strerror or err}") from None
    version = Version(fd, expected)
    try:
        if version.unchanged():
            return version
    except OSError:
        pass
    version.close()
    return None
