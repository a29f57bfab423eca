"""A tuning spec's TrainingJobDefinition (or TrainingJobDefinitions) as YAML text: the
training job each trial runs. Its objective and ranges are the form's own fields."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Label, Static, TextArea

from workbench.tui.widgets.spec_fields import SpecField


class DefinitionEditor(SpecField):
    DEFAULT_CSS = """
    DefinitionEditor > .definition-text { height: 14; margin-left: 2; }
    DefinitionEditor > .field-error { padding-left: 2; }
    DefinitionEditor > .field-help { padding-left: 2; }
    """

    def __init__(self, path: str, id: str | None = None) -> None:
        super().__init__(path, "Training job definition", help="the training job each trial runs, as YAML: image, "
                                                               "metric definitions, static hyperparameters, "
                                                               "resources, stopping condition", id=id)

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield Static(self.help, classes="field-help")
        yield TextArea("", classes="definition-text", soft_wrap=False, show_line_numbers=True, tab_behavior="indent")
        yield Static("", classes="field-error")

    @property
    def text_area(self) -> TextArea:
        return self.query_one(".definition-text", TextArea)

    def load(self, value: Any) -> None:
        """`value` is the YAML text (the draft renders it)."""
        area = self.text_area
        if area.text != value:
            with area.prevent(TextArea.Changed):
                area.load_text(str(value or ""))

    def focus_control(self) -> None:
        self.text_area.focus()

    @on(TextArea.Changed, ".definition-text")
    def _changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.emit(event.text_area.text)
