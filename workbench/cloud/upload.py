"""Local data to S3, so a spec that ran on local paths can be submitted to SageMaker."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench.errors import StorageError
from workbench.storage import parse_location, upload_tree


@dataclass(frozen=True)
class Uploaded:
    uri: str  # what to write as S3Uri in the spec
    files: int
    bytes: int
    seconds: float


def upload_path(path: Path | str, destination: str, *, on_progress: Callable | None = None,
                cancel: threading.Event | None = None, workers: int = 16) -> Uploaded:
    """A folder's files keep their paths under the prefix; a file goes to PREFIX/<its name>.

    `on_progress` gets storage's TransferProgress snapshots (files and bytes done of total).
    """
    if not destination.startswith("s3://"):
        raise StorageError(f"{destination} is not an S3 URI; write s3://BUCKET/PREFIX")
    target = parse_location(destination)
    if not target.bucket:
        raise StorageError(f"{destination} names no bucket; write s3://BUCKET/PREFIX")
    source = parse_location(str(path))
    assert source.path is not None
    prefix = target.key.rstrip("/")
    started = time.monotonic()
    files, size = upload_tree(source.path, target, workers=workers, on_progress=on_progress, cancel=cancel)
    if not files:
        raise StorageError(f"{source.path} holds no files; nothing was uploaded")
    base = f"s3://{target.bucket}/{prefix + '/' if prefix else ''}"
    uri = base + source.path.name if source.path.is_file() else base
    return Uploaded(uri, files, size, time.monotonic() - started)
