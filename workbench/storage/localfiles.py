"""Writing into a local folder without ever writing outside it, and never a half file.

Destination folders can hold symlinks planted by a container (a checkpoint dir, an old
channel), so every folder on the way to a file is checked before anything is created.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from workbench.errors import StorageError

TEMP_SUFFIX = ".wbtmp"


def temp_path_for(final: Path) -> Path:
    """A hidden sibling to write first and rename onto `final`, so readers see whole files only."""
    return final.parent / f".{final.name[:180]}.{os.urandom(6).hex()}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Files we are still writing; listings skip them."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def is_inside(path: str, root: str) -> bool:
    """True when real path `path` is `root` or below it (both already resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class SafeFolder:
    """A destination folder that hands out file paths under it, creating the folders between.

    Thread-safe; folders already checked are remembered, so a deep tree costs one check
    per folder, not per file. `mode` sets the folders' mode whatever the umask (data for a
    container whose user is not us).
    """

    def __init__(self, root: Path, mode: int | None = None) -> None:
        self.root = Path(root)
        self.mode = mode
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(f"Cannot create {self.root}: {err.strerror or err}; check the path and its permissions") from None
        if mode is not None:
            os.chmod(self.root, mode)
        self._real = os.path.realpath(self.root)
        self._checked: set[str] = {""}
        self._lock = threading.Lock()

    def path_for(self, rel: str) -> Path:
        """`root/rel` with its parent folders made; `rel` must already be safe (safe_relpath)."""
        parts = rel.split("/")
        folder = ""
        for part in parts[:-1]:
            folder = f"{folder}/{part}" if folder else part
            if folder in self._checked:
                continue
            self._make_folder(folder)
            with self._lock:
                self._checked.add(folder)
        return self.root / rel

    def _make_folder(self, folder: str) -> None:
        path = self.root / folder
        try:
            os.mkdir(path)
            if self.mode is not None:
                os.chmod(path, self.mode)
            return
        except FileExistsError:
            pass
        except OSError as err:
            raise StorageError(f"Cannot create {path}: {err.strerror or err}; check the permissions") from None
        if path.is_symlink() and not is_inside(os.path.realpath(path), self._real):
            raise StorageError(f"Refusing to write under {path}: it is a symlink leading out of {self.root}; remove it")
        if not path.is_dir():
            raise StorageError(f"Cannot create folder {path}: a file of that name is in the way; remove it")


def copy_file_atomic(src: Path, dest: Path, mode: int | None = None) -> int:
    """A real, independent copy (never a hardlink) written under a temp name; returns bytes.
    `mode`: the copy's mode whatever the umask."""
    tmp = temp_path_for(dest)
    try:
        shutil.copyfile(src, tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        size = os.path.getsize(tmp)
        os.replace(tmp, dest)
    except BaseException:
        remove_quietly(tmp)
        raise
    return size
