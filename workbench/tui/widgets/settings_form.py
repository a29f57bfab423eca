"""The `Workbench:` section, generated from the settings' own metadata.

Settings added by later issues (a field on WorkbenchSettings with its help text and kind)
appear here with no change to the TUI: numbers and text get an input, yes/no a checkbox,
string maps a key/value table, anything else an input that takes YAML.
"""

from __future__ import annotations

import yaml
from textual.app import ComposeResult
from textual.containers import Vertical

from workbench.spec.settings import setting_default, setting_fields, setting_kind
from workbench.tui.widgets.key_value_editor import KeyValueEditor
from workbench.tui.widgets.spec_fields import BoolField, SpecField, TextField, label_words

KINDS_AS_TEXT = {"int": "a whole number", "float": "a number", "str": "text"}


def setting_widget(name: str) -> SpecField:
    field = setting_fields()[name]
    kind = setting_kind(name)
    help_text = str(field.metadata.get("help", ""))
    path = f"Workbench.{name}"
    label = label_words(name)
    help_text = f"{help_text} ({name})" if help_text else name  # the name to write in YAML
    default = setting_default(name)
    if kind == "bool":
        return BoolField(path, label, help=f"{help_text} (default: {'yes' if default else 'no'})")
    if kind in ("str_map", "dict"):
        return KeyValueEditor(path, label, help=help_text)
    shown = default if isinstance(default, (int, float, str)) and not isinstance(default, bool) else (
        yaml.safe_dump(default, default_flow_style=True).strip())
    placeholder = f"default: {shown}" if shown not in ("", None) else ""
    if kind not in KINDS_AS_TEXT:
        help_text += " (YAML, e.g. [0, 1])" if kind in ("list", "numbers", "gpus") else " (YAML)"
    return TextField(path, label, help=help_text, placeholder=placeholder)


class SettingsForm(Vertical):
    DEFAULT_CSS = """
    SettingsForm { height: auto; }
    """

    def compose(self) -> ComposeResult:
        for name, spec_field in setting_fields().items():
            if not spec_field.metadata.get("internal"):  # set by sm-workbench itself (a trial's TuningJob)
                yield setting_widget(name)
