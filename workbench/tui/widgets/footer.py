"""The footer: the keys of what has focus, with `? Help` always in sight.

Textual's footer lists the focused widget's keys first and the app's last, so at 80
columns the app's `? Help` was the first key cut off; here it is docked first, on the
left, where narrow terminals still show it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

HELP_ACTIONS = ("help", "app.help")


class WorkbenchFooter(Footer):
    DEFAULT_CSS = """
    WorkbenchFooter .-help { dock: left; }
    """

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if getattr(widget, "action", None) in HELP_ACTIONS:  # a FooterKey (not public API)
                widget.add_class("-help")
            yield widget
