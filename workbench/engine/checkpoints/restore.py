"""Restore: before the containers start, every host gets a copy of what S3Uri holds.

The objects are listed once, downloaded once (into the first host's folder) and copied
to the others, so N hosts cost one download. Objects added to S3 later are not copied in.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.engine.checkpoints.ledger import Signature
from workbench.engine.checkpoints.remote import CheckpointStore
from workbench.engine.container_files import scan
from workbench.engine.container_user import WIDE, FolderAccess
from workbench.errors import WorkbenchError
from workbench.storage.transfer import copy_tree, download_objects


@dataclass(frozen=True)
class Restored:
    host: str
    files: int
    bytes: int
    seconds: float
    signatures: dict[str, Signature]  # what now lies in the folder, as S3 has it
    sources: tuple[str, ...] = ()  # the URIs restored (the host's checkpoints-manifest lists them)


def fresh_folder(folder: Path, access: FolderAccess = WIDE) -> None:
    """An empty folder the container's user can write (an attempt starts from S3 alone)."""
    if folder.exists():
        try:
            shutil.rmtree(folder)
        except PermissionError as err:
            raise WorkbenchError(f"Cannot empty {folder}: {err}; remove it as root") from None
    folder.mkdir(parents=True)
    access.writable(folder)


def open_up(folder: Path, access: FolderAccess = WIDE) -> None:
    """What was restored is the container's user's to change, like the folder itself (before
    the container starts: nothing in it is a container's link yet)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            access.writable(Path(dirpath, name))
        for name in filenames:
            access.owned(Path(dirpath, name))


def restore(store: CheckpointStore, folders: dict[str, Path], cancel=None, on_shadowed=None,
            access: FolderAccess = WIDE) -> list[Restored]:
    """Copy everything under the store into each host's (fresh) folder; one Restored per host.

    Raises StorageError for an unreachable store or a key that would escape the folder,
    TransferCancelled when `cancel` is set.
    """
    started = time.monotonic()
    objects, shadowed = store.listing()
    if shadowed and on_shadowed:
        on_shadowed(shadowed)
    results: list[Restored] = []
    first: Path | None = None
    for host, folder in folders.items():
        fresh_folder(folder, access)
        if objects:
            if first is None:
                done = download_objects(objects, folder, cancel=cancel)
                files, size = done.files_done, done.bytes_done
                first = folder
            else:
                files, size = copy_tree(first, folder, cancel=cancel)
            open_up(folder, access)
        else:
            files, size = 0, 0
        signatures = {rel: Signature.of(info) for rel, info in scan(folder)[0].items()}
        results.append(Restored(host, files, size, time.monotonic() - started, signatures,
                                tuple(o.location.uri for o in objects)))
    return results
