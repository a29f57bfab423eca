"""ResourceConfig.InstanceGroups: a row per group (name, instance type, count)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from workbench.spec import Problem
from workbench.tui.widgets.spec_fields import SpecField

PATH = "ResourceConfig.InstanceGroups"


class GroupRow(Horizontal):
    DEFAULT_CSS = """
    GroupRow { height: 1; }
    GroupRow > .group-name { width: 1fr; margin-right: 1; }
    GroupRow > .group-type { width: 2fr; margin-right: 1; }
    GroupRow > .group-count { width: 8; }
    GroupRow > Button { min-width: 5; width: 5; margin-left: 1; }
    GroupRow.-error > .group-name { background: $error 20%; }
    """

    def __init__(self, group: dict, types: list[str]) -> None:
        super().__init__()
        self.group = group
        self.types = types

    def compose(self) -> ComposeResult:
        yield Input(str(self.group.get("InstanceGroupName", "")), placeholder="group name",
                    classes="group-name", compact=True)
        kind = self.group.get("InstanceType")
        options = list(self.types) + ([kind] if kind and kind not in self.types else [])
        yield Select([(t, t) for t in options], prompt="instance type", classes="group-type", compact=True,
                     value=kind if kind else Select.NULL)
        count = self.group.get("InstanceCount")
        yield Input("" if count is None else str(count), placeholder="count", classes="group-count", compact=True)
        yield Button("✕", classes="group-remove", compact=True, tooltip="remove this group")

    def value(self) -> dict:
        group: dict = {}
        name = self.query_one(".group-name", Input).value.strip()
        if name:
            group["InstanceGroupName"] = name
        kind = self.query_one(".group-type", Select).value
        if kind is not Select.NULL:
            group["InstanceType"] = kind
        count = self.query_one(".group-count", Input).value.strip()
        if count:
            try:
                group["InstanceCount"] = int(count)
            except ValueError:
                group["InstanceCount"] = count  # kept as typed; the validator says why
        return group


class InstanceGroupsEditor(SpecField):
    DEFAULT_CSS = """
    InstanceGroupsEditor > .field-row > Button { width: auto; min-width: 9; }
    InstanceGroupsEditor > .groups { height: auto; padding-left: 2; }
    InstanceGroupsEditor > .groups-head { color: $text-muted; padding-left: 2; }
    InstanceGroupsEditor > .field-error { padding-left: 2; }
    """

    def __init__(self, types: list[str], id: str | None = None) -> None:
        super().__init__(PATH, "Instance groups",
                         help="hosts are numbered across groups in order (algo-1, algo-2, ...)", id=id)
        self.types = types

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield Button("+ Add group", classes="group-add", compact=True)
        yield Static(self.help, classes="field-help")
        yield Static("name / instance type / count", classes="groups-head")
        yield Vertical(classes="groups")
        yield Static("", classes="field-error")

    @property
    def rows(self) -> list[GroupRow]:
        return list(self.query(GroupRow))

    def load(self, value: Any) -> None:
        container = self.query_one(".groups", Vertical)
        container.remove_children()
        groups = [g for g in value if isinstance(g, dict)] if isinstance(value, list) else []
        if groups:
            container.mount(*[GroupRow(g, self.types) for g in groups])

    def groups(self) -> list[dict]:
        return [row.value() for row in self.rows]

    def focus_control(self) -> None:
        rows = self.rows
        (rows[0].query_one(".group-name", Input) if rows else self.query_one(".group-add", Button)).focus()

    @on(Button.Pressed, ".group-add")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        number = len(self.rows) + 1
        row = GroupRow({"InstanceGroupName": f"group-{number}", "InstanceType": "ml.m5.large",
                        "InstanceCount": 1}, self.types)
        await self.query_one(".groups", Vertical).mount(row)
        self._report()

    @on(Button.Pressed, ".group-remove")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        row = next(a for a in event.button.ancestors if isinstance(a, GroupRow))
        await row.remove()
        self._report()

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        event.stop()
        self._report()

    def _report(self) -> None:
        self.emit(self.groups() or None)

    def show_problems(self, problems: list[Problem]) -> None:
        super().show_problems(problems)
        for index, row in enumerate(self.rows):
            prefix = f"{PATH}[{index}]"
            row.set_class(any(p.path.startswith(prefix) for p in problems), "-error")
