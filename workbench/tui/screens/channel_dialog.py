"""Add or edit one channel: every member of a Channel the workbench runs, validated as you type."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from workbench.spec import Problem
from workbench.tui.draft import SpecDraft, assign_problems, problem_at
from workbench.tui.screens.confirm import DIALOG_CSS
from workbench.tui.screens.file_picker import pick_into_field
from workbench.tui.widgets.spec_fields import ChoiceField, SpecField, TextField, enum_options


def new_channel(existing: list) -> dict:
    names = {c.get("ChannelName") for c in existing if isinstance(c, dict)}
    name = next(n for n in ("train", "validation", "test", *(f"channel-{i}" for i in range(1, 99)))
                if n not in names)
    return {"ChannelName": name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": ""}}}


class ChannelDialog(ModalScreen[dict | None]):
    """Edits a copy of the spec; returns the channel (problems and all) or None."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ChannelDialog") + """
    ChannelDialog > Vertical { width: 100; height: 90%; }
    ChannelDialog VerticalScroll { height: 1fr; }
    ChannelDialog .field-label { width: 18; }
    ChannelDialog .field-help, ChannelDialog .field-error { padding-left: 18; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Keep", id="channel.keep"),
        Binding("escape", "cancel", "Cancel", id="channel.cancel"),
    ]

    @dataclass
    class Checked(Message):
        problems: list[Problem]

    def __init__(self, draft: SpecDraft, index: int | None, target: str = "local") -> None:
        super().__init__()
        data = copy.deepcopy(draft.data)
        channels = data.get("InputDataConfig")
        if not isinstance(channels, list):
            channels = data["InputDataConfig"] = []
        if index is None:
            channels.append(new_channel(channels))
            index = len(channels) - 1
        self.index = index
        self.is_new = index == len(draft.get("InputDataConfig", []) or [])
        self.draft = SpecDraft(data)
        self.draft.path = draft.path
        self.target = target
        self.prefix = f"InputDataConfig[{index}]"

    def compose(self) -> ComposeResult:
        p = self.prefix
        groups = [g.get("InstanceGroupName") for g in (self.draft.get("ResourceConfig.InstanceGroups") or [])
                  if isinstance(g, dict) and g.get("InstanceGroupName")]
        with Vertical():
            yield Label(("New channel" if self.is_new else f"Channel {self.index + 1}")
                        + " (ctrl+s keeps it, esc cancels)", classes="dialog-title")
            with VerticalScroll(can_focus=False):
                yield TextField(f"{p}.ChannelName", "Name", placeholder="train")
                yield TextField(f"{p}.DataSource.S3DataSource.S3Uri", "Source", browse=True,
                                placeholder="s3://bucket/prefix/, file:///path or a local path",
                                help="local paths are relative to the spec's folder")
                yield ChoiceField(f"{p}.InputMode", "Input mode", enum_options(f"{p}.InputMode"),
                                  blank="(the job's mode)")
                yield ChoiceField(f"{p}.DataSource.S3DataSource.S3DataType", "S3 data type",
                                  enum_options(f"{p}.DataSource.S3DataSource.S3DataType"))
                yield ChoiceField(f"{p}.DataSource.S3DataSource.S3DataDistributionType", "Distribution",
                                  enum_options(f"{p}.DataSource.S3DataSource.S3DataDistributionType"),
                                  blank="(FullyReplicated)")
                yield TextField(f"{p}.ContentType", "Content type", placeholder="e.g. text/csv")
                yield ChoiceField(f"{p}.CompressionType", "Compression", enum_options(f"{p}.CompressionType"))
                yield ChoiceField(f"{p}.RecordWrapperType", "Record wrapper",
                                  enum_options(f"{p}.RecordWrapperType"))
                yield TextField(f"{p}.DataSource.S3DataSource.InstanceGroupNames", "Instance groups",
                                placeholder="group names, space separated",
                                help=f"defined: {', '.join(groups)}" if groups else "no instance groups defined")
                yield TextField(f"{p}.ShuffleConfig.Seed", "Shuffle seed", placeholder="a whole number")
                yield TextField(f"{p}.DataSource.S3DataSource.AttributeNames", "Attribute names",
                                placeholder="augmented manifest keys, space separated")
            yield Static("", id="channel-summary")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep (ctrl+s)", variant="primary", id="channel-keep")
                yield Button("Cancel (esc)", id="channel-cancel")

    def on_mount(self) -> None:
        for field in self.query(SpecField):
            field.load(self.draft.get(field.path))
        self.query_one(TextField).focus_control()
        self._check()

    @on(SpecField.Changed)
    def _changed(self, event: SpecField.Changed) -> None:
        event.stop()
        self.draft.set_value(event.path, event.value)
        self._check()

    @on(TextField.BrowseRequested)
    def _browse(self, event: TextField.BrowseRequested) -> None:
        event.stop()
        pick_into_field(self, event.field, self.draft.base_dir, "Choose the channel's data (a folder or a file)")

    def _check(self) -> None:
        self._check_copy(copy.deepcopy(self.draft.data))

    @work(thread=True, exclusive=True, group="channel-check")
    def _check_copy(self, data: dict) -> None:
        validation = self.draft.check(self.target, data=data)
        self.post_message(self.Checked(problem_at(validation.problems, self.prefix)))

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        fields = list(self.query(SpecField))
        shown, others = assign_problems(event.problems, [f.path for f in fields])
        for field in fields:
            field.show_problems(shown[field.path])
        summary = self.query_one("#channel-summary", Static)
        if others:
            summary.update("\n".join(f"{p.path}: {p.message}".replace("[", r"\[") for p in others))
        else:
            summary.update("")

    def action_save(self) -> None:
        self.dismiss(self.draft.get(self.prefix) or {})

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#channel-keep")
    def _keep(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#channel-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()
