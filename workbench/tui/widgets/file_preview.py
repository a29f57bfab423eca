"""A read-only preview of one file: JSON pretty-printed, binary and huge files summarised.

Files are read in a thread worker; the result comes back as a message."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, TextArea

from workbench.engine import api
from workbench.units import human_bytes

PREVIEW_BYTES = 256 * 1024


def preview_text(tree: Path, rel: str, limit: int = PREVIEW_BYTES) -> tuple[str, str]:
    """(title, text) for a file of a host's /opt/ml: JSON pretty-printed, binaries and
    special files described. The container made the tree: read through the engine, which
    follows no link out of it and never blocks on a FIFO."""
    name = PurePosixPath(rel).name or "/opt/ml"
    found = api.peek_host_file(tree, rel, limit)
    if found.kind == "missing":
        return name, "no longer there (u reloads the tree)"
    if found.kind == "fifo":
        return name, "a named pipe (FIFO): Pipe-mode data is streamed through it, not stored"
    if found.kind == "symlink":
        return name, "a symbolic link (not followed here: the container made it)"
    if found.kind != "file":
        return name, f"not a regular file{': ' + found.error if found.error else ''}"
    size, data = found.size, found.data
    title = f"{name} · {human_bytes(size)}"
    if b"\x00" in data[:8192]:
        return title, f"binary file, {human_bytes(size)}"
    text = data.decode("utf-8", errors="replace")
    if size <= limit and (name.endswith(".json") or text.lstrip()[:1] in ("{", "[")):
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

    def show(self, tree: Path, path: Path) -> None:
        """Preview `path`, a file of the host tree `tree` (its /opt/ml on this machine)."""
        self.path = path
        self._load(tree, path)

    @work(thread=True, exclusive=True, group="preview")
    def _load(self, tree: Path, path: Path) -> None:
        try:
            rel = path.relative_to(tree).as_posix()
        except ValueError:
            title, text = path.name, "not in the host's /opt/ml"
        else:
            title, text = preview_text(tree, rel)
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
