"""A read-only preview of one file: JSON pretty-printed, binary and huge files summarised.

Files are read in a thread worker; the result comes back as a message."""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, TextArea

from workbench.units import human_bytes

PREVIEW_BYTES = 256 * 1024


def preview_text(path: Path, limit: int = PREVIEW_BYTES) -> tuple[str, str]:
    """(title, text) for a file: JSON pretty-printed, binaries and special files described."""
    try:
        info = path.lstat()
    except OSError as err:
        return path.name, f"cannot read it: {err.strerror or err}"
    if stat.S_ISFIFO(info.st_mode):
        return path.name, "a named pipe (FIFO): Pipe-mode data is streamed through it, not stored"
    if stat.S_ISLNK(info.st_mode):
        return path.name, f"a symbolic link to {path.readlink() if hasattr(path, 'readlink') else '?'}"
    if not stat.S_ISREG(info.st_mode):
        return path.name, "not a regular file"
    size = info.st_size
    title = f"{path.name} · {human_bytes(size)}"
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit)
    except OSError as err:
        return title, f"cannot read it: {err.strerror or err}"
    if b"\x00" in data[:8192]:
        return title, f"binary file, {human_bytes(size)}"
    text = data.decode("utf-8", errors="replace")
    if size <= limit and (path.suffix == ".json" or text.lstrip()[:1] in ("{", "[")):
        try:
            return title + " · JSON", json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    if size > limit:
        title += f" · first {human_bytes(limit)} shown"
    return title, text


class FilePreview(Vertical):
    DEFAULT_CSS = """
    FilePreview { height: 1fr; }
    FilePreview > #preview-title { height: 1; background: $panel; width: 1fr; padding: 0 1; }
    FilePreview > TextArea { height: 1fr; border: none; }
    """

    @dataclass
    class Loaded(Message):
        path: Path
        title: str
        text: str

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.path: Path | None = None

    def compose(self) -> ComposeResult:
        yield Label("select a file to preview it", id="preview-title")
        yield TextArea("", read_only=True, soft_wrap=False, show_line_numbers=False, id="preview-text")

    def show(self, path: Path) -> None:
        self.path = path
        self._load(path)

    @work(thread=True, exclusive=True, group="preview")
    def _load(self, path: Path) -> None:
        title, text = preview_text(path)
        self.post_message(self.Loaded(path, title, text))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        event.stop()
        if event.path != self.path:
            return
        self.query_one("#preview-title", Label).update(event.title)
        self.query_one(TextArea).load_text(event.text)

    def clear(self, message: str = "select a file to preview it") -> None:
        self.path = None
        self.query_one("#preview-title", Label).update(message)
        self.query_one(TextArea).load_text("")
