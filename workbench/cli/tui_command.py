"""`sm-workbench` with no command (and `sm-workbench tui`): the Textual workbench."""

from __future__ import annotations

import sys


def open_tui(args) -> int:
    print(
        "The workbench TUI is not built yet; use the commands (`sm-workbench --help`).",
        file=sys.stderr,
    )
    return 2
