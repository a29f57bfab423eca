"""Pilot helpers: a fixed clock and time zone, waiting for the screen to settle, reading it."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from tests.tui.fake_jobs import T0

NOW = T0 + 1000.0


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Times on screen are local: pin the zone so text and snapshots are stable."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def frozen_clock() -> float:
    return NOW


async def wait_for(pilot, predicate, timeout: float = 10.0, what: str = "the condition") -> None:
    """Let workers and messages run until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        try:
            if predicate():
                return
        except Exception:  # a widget not mounted yet
            pass
    raise AssertionError(f"timed out waiting for {what}")


def screen_text(app) -> str:
    """What the terminal shows, as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system=None,
                      record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens,
                                                       simplify=True))
    return console.export_text()


def field(screen, path: str):
    from workbench.tui.widgets.spec_fields import SpecField

    return next(f for f in screen.query(SpecField) if f.path == path)


def still(app) -> None:
    """No blinking cursors (snapshots)."""
    from textual.widgets import Input, TextArea

    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, (Input, TextArea)):
            widget.cursor_blink = False
