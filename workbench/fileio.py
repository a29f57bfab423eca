"""Atomic file writes: a crash never leaves a half-written record."""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path | str, text: str, *, user_file: bool = False) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`.

    Records (the default) are private to their owner (0600). A `user_file` (a spec the
    user saves) gets the mode a plain `open()` would give it: an existing file keeps its
    mode, a new one gets 0666 less the umask (the kernel applies it at creation, so the
    umask is never changed under other threads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keep: int | None = None
    if user_file:
        try:
            keep = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            keep = None
    fd, tmp = _create_temporary(path, 0o666 if user_file else 0o600)
    try:
        if keep is not None:
            os.fchmod(fd, keep)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _create_temporary(path: Path, mode: int) -> tuple[int, str]:
    """A new file (never an existing one, never through a symlink) next to `path`."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_bytes_atomic(path: Path | str, data: bytes, mode: int = 0o600) -> None:
    """As write_text_atomic, for bytes (a small program written for containers)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json_atomic(path: Path | str, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: Path | str, default: Any = None) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
