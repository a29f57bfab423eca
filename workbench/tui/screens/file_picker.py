"""Pick a file or folder: type a path, or browse for it. Used to open and save specs and
to choose local data for channels, outputs and checkpoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DirectoryTree, Input, Label, Static

from workbench.tui.screens.confirm import DIALOG_CSS


class PickerTree(DirectoryTree):
    def __init__(self, path: Path, suffixes: tuple[str, ...], id: str | None = None) -> None:
        super().__init__(path, id=id)
        self.suffixes = suffixes

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        for path in paths:
            if path.name.startswith(".") or path.name in ("__pycache__", "node_modules"):
                continue
            if not self.suffixes or path.suffix in self.suffixes or self._safe_is_dir(path):
                yield path


class FilePicker(ModalScreen[Path | None]):
    """Returns the chosen path (absolute), or None."""

    DEFAULT_CSS = DIALOG_CSS.format(name="FilePicker") + """
    FilePicker > Vertical { width: 90; height: 80%; }
    FilePicker PickerTree { height: 1fr; border: round $panel-lighten-2; }
    FilePicker #picker-error { color: $text-error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, title: str, *, start: Path | None = None, suffixes: tuple[str, ...] = (),
                 must_exist: bool = True, folders: bool = False, initial: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.start = (start or Path.cwd()).resolve()
        self.suffixes = suffixes
        self.must_exist = must_exist
        self.folders = folders
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.initial, placeholder="path (relative to the folder below, or absolute)",
                        id="picker-path")
            yield Static("", id="picker-error")
            yield PickerTree(self.start, self.suffixes, id="picker-tree")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="picker-ok")
                yield Button("Cancel", id="picker-cancel")

    def on_mount(self) -> None:
        self.query_one("#picker-path", Input).focus()

    def _relative(self, path: Path) -> str:
        try:
            return os.path.relpath(path, self.start)
        except ValueError:
            return str(path)

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.query_one("#picker-path", Input).value = self._relative(event.path)
        self._accept()

    @on(DirectoryTree.DirectorySelected)
    def _folder(self, event: DirectoryTree.DirectorySelected) -> None:
        event.stop()
        if self.folders:
            self.query_one("#picker-path", Input).value = self._relative(event.path) + "/"

    @on(Input.Submitted, "#picker-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    @on(Button.Pressed, "#picker-ok")
    def _ok(self, event: Button.Pressed) -> None:
        event.stop()
        self._accept()

    @on(Button.Pressed, "#picker-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _accept(self) -> None:
        text = self.query_one("#picker-path", Input).value.strip()
        error = self.query_one("#picker-error", Static)
        if not text:
            error.update("Type a path, or choose one below.")
            return
        path = (self.start / Path(text).expanduser()).resolve()
        if self.must_exist and not path.exists():
            error.update(f"{path} does not exist.")
            return
        if path.is_dir() and not self.folders:
            error.update(f"{path} is a folder; choose a file.")
            return
        if not self.must_exist and not path.parent.is_dir():
            error.update(f"The folder {path.parent} does not exist.")
            return
        self.dismiss(path)


def pick_into_field(screen: Screen, field, base_dir: Path, title: str, *, must_exist: bool = True) -> None:
    """Open the picker and write the chosen path into a path field, as the spec would write it."""

    def picked(path: Path | None) -> None:
        if path is not None:
            field.set_text(spec_relative(path, base_dir))

    screen.app.push_screen(FilePicker(title, start=base_dir, folders=True, must_exist=must_exist), picked)


def spec_relative(path: Path, base_dir: Path) -> str:
    """A picked path as a spec writes it: relative to the spec's folder when inside it, and
    a folder with a trailing slash (an S3 prefix that names the whole folder)."""
    folder = path.is_dir()
    text = str(path) + ("/" if folder else "")
    try:
        relative = os.path.relpath(path, base_dir)
    except ValueError:
        return text
    if relative.startswith(".."):
        return text
    return relative + ("/" if folder and not relative.endswith("/") else "")
