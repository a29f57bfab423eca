"""`?`: what the current screen is for, and every key that works there right now: the
workbench's own keys first (with the ids a key map rebinds them by), then the keys of
Textual's widgets, each said in words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Markdown

GENERAL = """\
**Everywhere**: `ctrl+p` opens the command palette (run, stop, open a job, switch theme...),
`?` this help, `escape` goes back, `ctrl+q` quits. The mouse works too: click tabs, rows,
buttons and the keys in the footer. Jobs keep running when the workbench closes.
"""

# What a Textual widget is, for people (by the class it is or derives from).
WIDGET_WORDS = (
    ("DataTable", "table"), ("TextArea", "text"), ("Input", "text box"), ("OptionList", "list"),
    ("Tree", "tree"), ("Select", "drop-down"), ("RadioSet", "choices"), ("ToggleButton", "check box"),
    ("Button", "button"), ("Tabs", "tabs"), ("ScrollView", "scrolling"), ("ScrollableContainer", "scrolling"),
    ("Screen", "screen"), ("App", "everywhere"),
)


@dataclass(frozen=True)
class KeyHelp:
    key: str
    description: str
    id: str = ""  # the binding's id, for a key map in tui.yaml
    where: str = ""


def words_of(action: str) -> str:
    """An action's name in words: "scroll_page_down" -> "Scroll page down"."""
    name = re.sub(r"\\(.*\\)$", "", action.rsplit(".", 1)[-1]).replace("_", " ").strip()
    return name[:1].upper() + name[1:]


def where_of(node: DOMNode) -> str:
    for cls in type(node).__mro__:
        for name, words in WIDGET_WORDS:
            if cls.__name__ == name:
                return words
    return words_of(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(node).__name__)).lower()


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 96; max-width: 98%; height: 90%; border: thick $primary 80%; background: $surface;
        padding: 0 1;
    }
    HelpScreen #help-title { text-style: bold; padding: 0 1; }
    HelpScreen VerticalScroll { height: 1fr; }
    HelpScreen Markdown { margin: 0; padding: 0 1; }
    HelpScreen DataTable { height: auto; margin: 0 1; }
    HelpScreen .help-heading { text-style: bold; color: $text-accent; margin: 1 1 0 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("question_mark", "close", "Close", show=False, id="help.close-again"),
    ]

    def __init__(self, title: str, text: str, keys: list[KeyHelp], generic: list[KeyHelp] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.keys = keys
        self.generic = generic or []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Help: {self.title_text} (escape closes)", id="help-title")
            with VerticalScroll():
                yield Markdown(self.text.strip() + "\n\n" + GENERAL)
                yield Label("Keys here (a key map in tui.yaml rebinds them by id)", classes="help-heading")
                table = DataTable(cursor_type="row", zebra_stripes=True, show_cursor=False, id="help-keys")
                table.add_columns("Key", "Does", "Id")
                for item in self.keys:
                    table.add_row(item.key, item.description, item.id)
                yield table
                if self.generic:
                    yield Label("Other keys (scrolling, editing, lists)", classes="help-heading")
                    table = DataTable(cursor_type="row", zebra_stripes=True, show_cursor=False, id="help-generic")
                    table.add_columns("Key", "Does", "In")
                    for item in self.generic:
                        table.add_row(item.key, item.description, item.where)
                    yield table

    def action_close(self) -> None:
        self.dismiss(None)
