"""InputDataConfig as a list of channels; adding or editing one opens the channel dialog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Label, Static

from workbench.spec import Problem
from workbench.tui.widgets.cells import coloured
from workbench.tui.widgets.spec_fields import SpecField

PATH = "InputDataConfig"


def channel_source(channel: dict) -> str:
    source = channel.get("DataSource") or {}
    if isinstance(source, dict):
        s3 = source.get("S3DataSource")
        if isinstance(s3, dict):
            return str(s3.get("S3Uri", ""))
        fs = source.get("FileSystemDataSource")
        if isinstance(fs, dict):
            return f"{fs.get('FileSystemType', 'fs')}:{fs.get('FileSystemId', '?')}{fs.get('DirectoryPath', '')}"
    return ""


class ChannelList(SpecField):
    DEFAULT_CSS = """
    ChannelList > .field-row > Button { width: auto; min-width: 8; margin-right: 1; }
    ChannelList > DataTable { height: auto; max-height: 12; margin-left: 2; }
    ChannelList > .field-error { padding-left: 2; }
    """

    BINDINGS = [
        Binding("a", "add", "Add channel", id="channels.add"),
        Binding("e", "edit", "Edit channel", id="channels.edit"),
        Binding("x", "remove", "Remove channel", id="channels.remove"),
    ]

    @dataclass
    class EditRequested(Message):
        """Open the channel dialog for channel `index` (None: a new channel)."""

        channel_list: "ChannelList"
        index: int | None

    @dataclass
    class RemoveRequested(Message):
        channel_list: "ChannelList"
        index: int

    def __init__(self, id: str | None = None) -> None:
        super().__init__(PATH, "Channels", help="1-20 data channels; enter or e edits, a adds, x removes", id=id)
        self.channels: list[dict] = []

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield Button("+ Add", classes="channel-add", compact=True)
            yield Button("Edit", classes="channel-edit", compact=True)
            yield Button("Remove", classes="channel-remove", compact=True)
        yield Static(self.help, classes="field-help")
        table = DataTable(cursor_type="row", zebra_stripes=True, classes="channel-table")
        table.add_columns("Name", "Source", "Mode", "Data type", "Distribution", "Problems")
        yield table
        yield Static("", classes="field-error")

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def load(self, value: Any) -> None:
        self.channels = [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []
        self._fill()

    def _fill(self) -> None:
        table = self.table
        row = table.cursor_row
        table.clear()
        for index, channel in enumerate(self.channels):
            s3 = ((channel.get("DataSource") or {}).get("S3DataSource") or {}) if isinstance(
                channel.get("DataSource"), dict) else {}
            count = sum(1 for p in self.problems if p.path.startswith(f"{PATH}[{index}]"))
            table.add_row(str(channel.get("ChannelName", "")), channel_source(channel),
                          str(channel.get("InputMode") or "(job's)"), str(s3.get("S3DataType", "")),
                          str(s3.get("S3DataDistributionType") or ""),
                          coloured(self, f"{count} problem{'s' if count != 1 else ''}", "error") if count else "",
                          key=str(index))
        if self.channels:
            table.move_cursor(row=min(max(row, 0), len(self.channels) - 1), animate=False)

    def show_problems(self, problems: list[Problem]) -> None:
        before = [p.path for p in self.problems]
        super().show_problems(problems)
        if [p.path for p in problems] != before:
            self._fill()

    def focus_control(self) -> None:
        self.table.focus()

    def focus_channel(self, index: int) -> None:
        self.table.focus()
        if 0 <= index < len(self.channels):
            self.table.move_cursor(row=index, animate=False)

    @property
    def selected(self) -> int | None:
        if not self.channels:
            return None
        return min(max(self.table.cursor_row, 0), len(self.channels) - 1)

    def action_add(self) -> None:
        self.post_message(self.EditRequested(self, None))

    def action_edit(self) -> None:
        if self.selected is not None:
            self.post_message(self.EditRequested(self, self.selected))

    def action_remove(self) -> None:
        if self.selected is not None:
            self.post_message(self.RemoveRequested(self, self.selected))

    @on(Button.Pressed, ".channel-add")
    def _add(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_add()

    @on(Button.Pressed, ".channel-edit")
    def _edit(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_edit()

    @on(Button.Pressed, ".channel-remove")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_remove()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.EditRequested(self, event.cursor_row))
