"""An editable key/value table for string maps (HyperParameters, Environment, settings)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from workbench.spec import Problem
from workbench.spec.paths import parse_path
from workbench.tui.draft import path_of
from workbench.tui.widgets.spec_fields import SpecField


class KeyValueRow(Horizontal):
    DEFAULT_CSS = """
    KeyValueRow { height: 1; margin-bottom: 0; }
    KeyValueRow > .kv-key { width: 1fr; margin-right: 1; }
    KeyValueRow > .kv-value { width: 2fr; }
    KeyValueRow > Button { min-width: 5; width: 5; margin-left: 1; }
    KeyValueRow.-error > .kv-key { background: $error 20%; }
    """

    def __init__(self, key: str = "", value: str = "") -> None:
        super().__init__()
        self.initial = (key, value)

    def compose(self) -> ComposeResult:
        yield Input(self.initial[0], placeholder="key", classes="kv-key", compact=True)
        yield Input(self.initial[1], placeholder="value", classes="kv-value", compact=True)
        yield Button("✕", classes="kv-remove", compact=True, tooltip="remove this entry")

    @property
    def pair(self) -> tuple[str, str]:
        return (self.query_one(".kv-key", Input).value, self.query_one(".kv-value", Input).value)


class KeyValueEditor(SpecField):
    """Rows of key and value; every edit reports the whole mapping."""

    DEFAULT_CSS = """
    KeyValueEditor > .field-row > Button { width: auto; min-width: 9; }
    KeyValueEditor > .kv-rows { height: auto; padding-left: 2; }
    KeyValueEditor > .kv-empty { color: $text-muted; padding-left: 2; }
    KeyValueEditor > .field-error { padding-left: 2; }
    """

    def __init__(self, path: str, label: str, *, help: str = "", key_hint: str = "key",
                 id: str | None = None) -> None:
        super().__init__(path, label, help=help, id=id)
        self.key_hint = key_hint

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield Button("+ Add", classes="kv-add", compact=True)
        if self.help:
            yield Static(self.help.replace("[", r"\["), classes="field-help")
        yield Vertical(classes="kv-rows")
        yield Static("(none)", classes="kv-empty")
        yield Static("", classes="field-error")

    @property
    def rows(self) -> list[KeyValueRow]:
        return list(self.query(KeyValueRow))

    def mapping(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for row in self.rows:
            key, value = row.pair
            if key.strip():
                out[key.strip()] = value
        return out

    def load(self, value: Any) -> None:
        container = self.query_one(".kv-rows", Vertical)
        container.remove_children()
        items = value.items() if isinstance(value, dict) else []
        rows = [KeyValueRow(str(k), "" if v is None else str(v)) for k, v in items]
        if rows:
            container.mount(*rows)
        self.query_one(".kv-empty").display = not rows

    async def add_row(self, key: str = "", value: str = "") -> KeyValueRow:
        row = KeyValueRow(key, value)
        await self.query_one(".kv-rows", Vertical).mount(row)
        self.query_one(".kv-empty").display = False
        row.query_one(".kv-key", Input).focus()
        return row

    def focus_control(self) -> None:
        rows = self.rows
        if rows:
            rows[0].query_one(".kv-key", Input).focus()
        else:
            self.query_one(".kv-add", Button).focus()

    @on(Button.Pressed, ".kv-add")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        await self.add_row()

    @on(Button.Pressed, ".kv-remove")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        row = next(a for a in event.button.ancestors if isinstance(a, KeyValueRow))
        await row.remove()
        self.query_one(".kv-empty").display = not self.rows
        self._report()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._report()

    def _report(self) -> None:
        mapping = self.mapping()
        keys = [row.pair[0].strip() for row in self.rows if row.pair[0].strip()]
        self.duplicates = sorted({k for k in keys if keys.count(k) > 1})
        self.emit(mapping or None)

    def show_problems(self, problems: list[Problem]) -> None:
        duplicates = getattr(self, "duplicates", [])
        extra = [Problem(path_of(*self._path_parts(), key), "is used twice; the last row wins", "warning")
                 for key in duplicates]
        super().show_problems(problems + extra)
        bad = {p.path for p in problems}
        for row in self.rows:
            key = row.pair[0].strip()
            row.set_class(bool(key) and path_of(*self._path_parts(), key) in bad, "-error")

    def _path_parts(self) -> list:
        return parse_path(self.path)

