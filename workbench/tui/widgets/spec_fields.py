"""Form fields bound to a path of the spec: text, choice and yes/no.

Each field shows the value at its path, reports edits as `SpecField.Changed` (already
typed by the API model), and shows the validator's problems for its path right below it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Iterable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from workbench.spec import Problem
from workbench.spec.model import request_model
from workbench.spec.paths import parse_path
from workbench.tui.draft import typed_value, value_text


def model_doc(path: str, limit: int = 300) -> str:
    """The API model's documentation of a field, as plain text (its first sentences)."""
    parts = [p for p in parse_path(path) if isinstance(p, str)]
    if not parts or parts[0] == "Workbench":
        return ""
    model = request_model()
    shape = model.root
    doc = ""
    for part in parse_path(path):
        if shape.type == "list":
            shape = shape.member
            continue
        if shape.type != "structure" or not isinstance(part, str) or part not in shape.members:
            return ""
        doc = shape.member_doc(part)
        shape = shape.members[part]
    text = html.unescape(re.sub(r"<[^>]+>", "", doc))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


ACRONYMS = {"aws": "AWS", "id": "ID", "gpus": "GPUs", "gpu": "GPU", "arn": "ARN", "s3": "S3", "uri": "URI"}


def label_words(name: str) -> str:
    """A field's name as a label in words, so it wraps between words in a narrow form:
    "CheckpointDrainTimeoutSeconds" -> "Checkpoint drain timeout (s)"."""
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name) or [name]
    words = [ACRONYMS.get(p.lower(), p.lower()) for p in parts]
    if words[-1] == "seconds":
        words = words[:-2] if words[-2:-1] == ["in"] else words[:-1]
        words.append("(s)")
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def problem_lines(problems: Iterable[Problem], path: str) -> str:
    lines = []
    for problem in problems:
        where = problem.path[len(path):].lstrip(".") if problem.path != path else ""
        prefix = "warning: " if problem.severity == "warning" else ""
        text = f"{prefix}{where + ': ' if where else ''}{problem.message}"
        lines.append(text.replace("[", r"\["))
    return "\n".join(lines)


class SpecField(Vertical):
    """A labelled control bound to one spec path."""

    DEFAULT_CSS = """
    SpecField { height: auto; margin-bottom: 1; }
    SpecField > .field-row { height: auto; }
    SpecField .field-label { width: 26; color: $text; text-style: bold; padding-right: 1; }
    SpecField > .field-help { color: $text-muted; padding-left: 26; }
    SpecField > .field-error { color: $text-error; display: none; padding-left: 26; }
    SpecField.-problems > .field-error { display: block; }
    SpecField.-warning > .field-error { color: $text-warning; }
    SpecField.-error .field-label { color: $text-error; }
    SpecField.-error Input { background: $error 20%; }
    """

    @dataclass
    class Changed(Message):
        """The user changed the value at `path` (None: remove it)."""

        field: "SpecField"
        path: str
        value: Any

        @property
        def control(self) -> "SpecField":
            return self.field

    def __init__(self, path: str, label: str, *, help: str = "", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.path = path
        self.label = label
        self.help = help
        self.problems: list[Problem] = []

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield from self.compose_control()
        if self.help:
            yield Static(self.help.replace("[", r"\["), classes="field-help")
        yield Static("", classes="field-error")

    def compose_control(self) -> ComposeResult:
        yield from ()

    def load(self, value: Any) -> None:
        """Show `value` without reporting a change."""

    def focus_control(self) -> None:
        for widget in self.query("Input, Select, Checkbox, DataTable, Button"):
            if widget.focusable:
                widget.focus()
                return

    def show_problems(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        self.set_class(bool(problems), "-problems")
        self.set_class(bool(errors), "-error")
        self.set_class(bool(problems) and not errors, "-warning")
        error = self.query_one(".field-error", Static)
        error.update(problem_lines(problems, self.path))

    def emit(self, value: Any) -> None:
        self.post_message(self.Changed(self, self.path, value))


class TextField(SpecField):
    """A one-line input; the text is typed by the field's API type (numbers, word lists...)."""

    DEFAULT_CSS = """
    TextField .field-input { width: 1fr; }
    TextField .field-browse { min-width: 8; width: auto; margin-left: 1; }
    """

    @dataclass
    class BrowseRequested(Message):
        field: "TextField"

    def __init__(self, path: str, label: str, *, help: str = "", placeholder: str = "",
                 browse: bool = False, id: str | None = None) -> None:
        super().__init__(path, label, help=help, id=id)
        self.placeholder = placeholder
        self.browse = browse

    def compose_control(self) -> ComposeResult:
        control = Input(placeholder=self.placeholder, classes="field-input", compact=True)
        tip = model_doc(self.path)
        if tip:
            control.tooltip = tip
        yield control
        if self.browse:
            yield Button("Browse", classes="field-browse", compact=True)

    @property
    def input(self) -> Input:
        return self.query_one(".field-input", Input)

    def load(self, value: Any) -> None:
        control = self.input
        text = value_text(self.path, value)
        if control.value != text:
            with control.prevent(Input.Changed):
                control.value = text

    def set_text(self, text: str) -> None:
        """Put text in the input as if typed (a picked file, ...)."""
        self.input.value = text

    @on(Input.Changed, ".field-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.emit(typed_value(self.path, event.value) if event.value.strip() else None)

    @on(Button.Pressed, ".field-browse")
    def _browse(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.BrowseRequested(self))


class ChoiceField(SpecField):
    """One of the API model's enum values (blank: leave the field out)."""

    def __init__(self, path: str, label: str, options: list[str], *, help: str = "",
                 blank: str = "(not set)", id: str | None = None) -> None:
        super().__init__(path, label, help=help, id=id)
        self.allowed = list(options)
        self.options = list(options)
        self.blank = blank

    def compose_control(self) -> ComposeResult:
        control = Select([(o, o) for o in self.options], prompt=self.blank, allow_blank=True,
                         classes="field-select", compact=True)
        tip = model_doc(self.path)
        if tip:
            control.tooltip = tip
        yield control

    @property
    def select(self) -> Select:
        return self.query_one(".field-select", Select)

    def load(self, value: Any) -> None:
        control = self.select
        with control.prevent(Select.Changed):
            if value is None or value == "":
                control.clear()
                return
            if value not in self.options:  # keep a value the model refuses visible (and flagged)
                self.options.append(value)
                control.set_options([(o if o in self.allowed else f"{o} (not allowed)", o)
                                     for o in self.options])
            control.value = value

    @on(Select.Changed, ".field-select")
    def _changed(self, event: Select.Changed) -> None:
        event.stop()
        self.emit(None if event.value is Select.NULL else event.value)


class BoolField(SpecField):
    """Yes/no; unticked leaves the field out (the API's default, false)."""

    def __init__(self, path: str, label: str, *, help: str = "", id: str | None = None) -> None:
        super().__init__(path, label, help=help, id=id)

    def compose(self) -> ComposeResult:
        control = Checkbox(self.label, classes="field-check", compact=True)
        tip = model_doc(self.path)
        if tip:
            control.tooltip = tip
        with Horizontal(classes="field-row"):
            yield Label("", classes="field-label")
            yield control
        if self.help:
            yield Static(self.help.replace("[", r"\["), classes="field-help")
        yield Static("", classes="field-error")

    def load(self, value: Any) -> None:
        control = self.query_one(".field-check", Checkbox)
        with control.prevent(Checkbox.Changed):
            control.value = value is True

    @on(Checkbox.Changed, ".field-check")
    def _changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.emit(True if event.value else None)


def enum_options(path: str) -> list[str]:
    shape = request_model().shape_at(parse_path(path))
    return list(shape.enum or []) if shape is not None else []

