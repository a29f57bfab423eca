"""A tuning spec's ParameterRanges: a row per range of the three kinds (integer and
continuous: name, min, max, scaling; categorical: name and its values), each with the
validator's problems for it right below."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from workbench.spec import Problem
from workbench.spec.tuning import RANGE_KINDS
from workbench.tui.widgets.spec_fields import SpecField, problem_lines

SHORT = {"IntegerParameterRanges": "integer", "ContinuousParameterRanges": "continuous",
         "CategoricalParameterRanges": "categorical"}
SCALINGS = {"IntegerParameterRanges": ("Auto", "Linear", "Logarithmic"),
            "ContinuousParameterRanges": ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")}
MEMBER_INPUTS = {"Name": ".range-name", "MinValue": ".range-min", "MaxValue": ".range-max",
                 "ScalingType": ".range-scaling", "Values": ".range-values"}
NEW = {"IntegerParameterRanges": {"Name": "", "MinValue": "1", "MaxValue": "10"},
       "ContinuousParameterRanges": {"Name": "", "MinValue": "0.0", "MaxValue": "1.0"},
       "CategoricalParameterRanges": {"Name": "", "Values": []}}


def values_text(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list) else str(values or "")


def split_values(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class RangeRow(Vertical):
    """One range; `kind` is its list's name (IntegerParameterRanges, ...)."""

    DEFAULT_CSS = """
    RangeRow { height: auto; }
    RangeRow > .range-fields { height: 1; }
    RangeRow .range-kind { width: 12; color: $text-muted; }
    RangeRow .range-name { width: 1fr; margin-right: 1; }
    RangeRow .range-min, RangeRow .range-max { width: 12; margin-right: 1; }
    RangeRow .range-scaling { width: 22; }
    RangeRow .range-values { width: 2fr; }
    RangeRow Button { min-width: 5; width: 5; margin-left: 1; }
    RangeRow > .range-error { color: $text-error; padding-left: 12; display: none; }
    RangeRow.-problems > .range-error { display: block; }
    RangeRow .-bad { background: $error 20%; }
    """

    def __init__(self, kind: str, entry: dict) -> None:
        super().__init__()
        self.kind = kind
        self.entry = dict(entry)

    def compose(self) -> ComposeResult:
        entry = self.entry
        with Horizontal(classes="range-fields"):
            yield Label(SHORT[self.kind], classes="range-kind")
            yield Input(str(entry.get("Name", "")), placeholder="hyperparameter", classes="range-name", compact=True)
            if self.kind == "CategoricalParameterRanges":
                yield Input(values_text(entry.get("Values")), placeholder="values, comma-separated",
                            classes="range-values", compact=True)
            else:
                yield Input(str(entry.get("MinValue", "")), placeholder="min", classes="range-min", compact=True)
                yield Input(str(entry.get("MaxValue", "")), placeholder="max", classes="range-max", compact=True)
                scaling = entry.get("ScalingType")
                options = list(SCALINGS[self.kind]) + ([scaling] if scaling and scaling not in SCALINGS[self.kind]
                                                       else [])
                yield Select([(s, s) for s in options], prompt="scaling (Auto)", classes="range-scaling",
                             compact=True, value=scaling if scaling else Select.NULL)
            yield Button("✕", classes="range-remove", compact=True, tooltip="remove this range")
        yield Static("", classes="range-error")

    def value(self) -> dict:
        """The range as the API takes it (its values strings); members the row does not
        edit (none today) are kept."""
        entry = {k: v for k, v in self.entry.items() if k not in ("Name", "MinValue", "MaxValue", "ScalingType",
                                                                    "Values")}
        entry["Name"] = self.query_one(".range-name", Input).value.strip()
        if self.kind == "CategoricalParameterRanges":
            entry["Values"] = split_values(self.query_one(".range-values", Input).value)
            return entry
        entry["MinValue"] = self.query_one(".range-min", Input).value.strip()
        entry["MaxValue"] = self.query_one(".range-max", Input).value.strip()
        scaling = self.query_one(".range-scaling", Select).value
        if scaling is not Select.NULL:
            entry["ScalingType"] = scaling
        return entry

    def show_problems(self, problems: list[Problem], path: str) -> None:
        """The problems below the row; the input of each member with an error marked
        (the name's, for a problem with the range as a whole)."""
        self.set_class(bool(problems), "-problems")
        bad = set()
        for problem in problems:
            if problem.severity == "error":
                member = problem.path[len(path):].lstrip(".").split("[")[0].split(".")[0]
                bad.add(MEMBER_INPUTS.get(member, ".range-name"))
        for selector in set(MEMBER_INPUTS.values()):
            for widget in self.query(selector):
                widget.set_class(selector in bad, "-bad")
        self.query_one(".range-error", Static).update(problem_lines(problems, path))


class RangesEditor(SpecField):
    """ParameterRanges (at the config's or the definition's path)."""

    DEFAULT_CSS = """
    RangesEditor > .field-row > Button { width: auto; min-width: 14; margin-right: 1; }
    RangesEditor > .ranges { height: auto; padding-left: 2; }
    RangesEditor > .ranges-head { color: $text-muted; padding-left: 2; }
    RangesEditor > .field-error { padding-left: 2; }
    """

    def __init__(self, path: str, id: str | None = None) -> None:
        super().__init__(path, "Ranges", help="what the tuner chooses for each training job; values are "
                                              "strings, as the API takes them", id=id)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            for kind in RANGE_KINDS:
                yield Button(f"+ {SHORT[kind]}", classes=f"range-add add-{SHORT[kind]}", name=kind, compact=True)
        yield Static(self.help, classes="field-help")
        yield Static("kind / name / min, max, scaling (categorical: values)", classes="ranges-head")
        yield Vertical(classes="ranges")
        yield Static("", classes="field-error")

    @property
    def rows(self) -> list[RangeRow]:
        return list(self.query(RangeRow))

    def load(self, value: Any) -> None:
        container = self.query_one(".ranges", Vertical)
        container.remove_children()
        ranges = value if isinstance(value, dict) else {}
        rows = [RangeRow(kind, entry) for kind in RANGE_KINDS for entry in ranges.get(kind) or []
                if isinstance(entry, dict)]
        if rows:
            container.mount(*rows)

    def ranges(self) -> dict:
        out: dict[str, list[dict]] = {}
        for row in self.rows:
            out.setdefault(row.kind, []).append(row.value())
        return out

    def where(self, row: RangeRow) -> str:
        """The spec path of a row's range (its index among the rows of its kind)."""
        index = [r for r in self.rows if r.kind == row.kind].index(row)
        return f"{self.path}.{row.kind}[{index}]"

    def focus_control(self) -> None:
        rows = self.rows
        (rows[0].query_one(".range-name", Input) if rows else self.query_one(".range-add", Button)).focus()

    @on(Button.Pressed, ".range-add")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        kind = str(event.button.name)
        row = RangeRow(kind, NEW[kind])
        await self.query_one(".ranges", Vertical).mount(row)
        row.query_one(".range-name", Input).focus()
        self._report()

    @on(Button.Pressed, ".range-remove")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        row = next(a for a in event.button.ancestors if isinstance(a, RangeRow))
        await row.remove()
        self._report()

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event) -> None:
        event.stop()
        self._report()

    def _report(self) -> None:
        self.emit(self.ranges() or None)

    def show_problems(self, problems: list[Problem]) -> None:
        """Each range's problems under its row; the rest (the ranges as a whole) below."""
        rest = list(problems)
        for row in self.rows:
            where = self.where(row)
            own = [p for p in problems if p.path == where or p.path.startswith(where + ".")]
            row.show_problems(own, where)
            rest = [p for p in rest if p not in own]
        super().show_problems(rest)
