"""`?`: what the current screen is for, and every key that works there right now."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Markdown

GENERAL = """\
**Everywhere**: `ctrl+p` opens the command palette (run, stop, open a job, switch theme...),
`?` this help, `escape` goes back, `ctrl+q` quits. The mouse works too: click tabs, rows,
buttons and the keys in the footer. Jobs keep running when the workbench closes.
"""


@dataclass(frozen=True)
class KeyHelp:
    key: str
    description: str
    where: str


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
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("question_mark", "close", "Close", show=False, id="help.close-again"),
    ]

    def __init__(self, title: str, text: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Help: {self.title_text} (escape closes)", id="help-title")
            with VerticalScroll():
                yield Markdown(self.text.strip() + "\n\n" + GENERAL)
                table = DataTable(cursor_type="row", zebra_stripes=True, show_cursor=False)
                table.add_columns("Key", "Does", "Where")
                for item in self.keys:
                    table.add_row(item.key, item.description, item.where)
                yield table

    def action_close(self) -> None:
        self.dismiss(None)
