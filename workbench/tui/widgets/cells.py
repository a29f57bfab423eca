"""Table cells coloured by the current theme's variables (DataTable renders Rich text)."""

from __future__ import annotations

from rich.text import Text
from textual.dom import DOMNode


def coloured(node: DOMNode, text: str, colour: str, bold: bool = False) -> Text:
    """`text` in the theme colour `colour` (success, error, warning, primary, ...)."""
    value = node.app.theme_variables.get(colour)
    style = ("bold " if bold else "") + (value or "")
    return Text(text, style=style.strip() or "", no_wrap=True, end="")


def muted(node: DOMNode, text: str) -> Text:
    return Text(text, style="dim", no_wrap=True, end="")
