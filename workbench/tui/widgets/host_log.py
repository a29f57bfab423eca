"""A log tab: the log view, a filter/search bar, and a status line (follow, filter, options)."""

from __future__ import annotations

from typing import Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Input, Label, Static

from workbench.tui.widgets.log_view import LogView


class HostLog(Vertical):
    """Logs of one host, or of every host (`host=None`)."""

    DEFAULT_CSS = """
    HostLog { height: 1fr; }
    HostLog > LogView { height: 1fr; }
    HostLog > #log-bar { height: 1; display: none; background: $panel; }
    HostLog > #log-bar.-open { display: block; }
    HostLog > #log-bar > Label { width: auto; padding: 0 1; color: $text-accent; }
    HostLog > #log-bar > Input { border: none; height: 1; padding: 0; width: 1fr; background: $panel; }
    HostLog > #log-status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    HostLog > #log-status.-paused { color: $text-warning; }
    """

    BINDINGS = [
        Binding("f", "follow", "Follow", id="log.follow"),
        Binding("slash", "open_bar('filter')", "Filter", id="log.filter"),
        Binding("ctrl+f", "open_bar('search')", "Search", id="log.search"),
        Binding("n", "find(True)", "Next match", show=False, id="log.next"),
        Binding("N", "find(False)", "Prev match", show=False, id="log.previous"),
        Binding("w", "toggle_wrap", "Wrap", id="log.wrap"),
        Binding("t", "toggle_timestamps", "Times", id="log.timestamps"),
        Binding("escape", "close_bar", "Clear filter or search", show=False, id="log.close-bar"),
    ]

    mode: reactive[str] = reactive("")  # "", "filter" or "search": what the bar edits

    def __init__(self, host: str | None, *, max_lines: int = 10_000, id: str | None = None) -> None:
        super().__init__(id=id)
        self.host = host
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield LogView(max_lines=self.max_lines, show_host=self.host is None)
        with Horizontal(id="log-bar"):
            yield Label("filter", id="log-bar-label")
            yield Input(placeholder="text to keep (enter: done, esc: clear)", id="log-bar-input")
        yield Static("", id="log-status")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self._render_status()

    def focus_log(self) -> None:
        self.view.focus()

    # --- content ---------------------------------------------------------------------

    def extend(self, lines: Iterable[tuple[float, str, str]]) -> None:
        self.view.extend(lines)

    def add_entries(self, entries: list) -> None:
        self.view.add_entries(entries)

    def append(self, host: str, lines: Iterable[tuple[float, str]]) -> None:
        self.view.append(host, lines)

    def add_marker(self, moment: float, text: str) -> None:
        self.view.add_marker(moment, text)

    # --- actions ---------------------------------------------------------------------

    def action_follow(self) -> None:
        self.view.follow()
        self._render_status()

    def action_toggle_wrap(self) -> None:
        self.view.set_wrap(not self.view.wrap)
        self._render_status()

    def action_toggle_timestamps(self) -> None:
        self.view.set_timestamps(not self.view.timestamps)
        self._render_status()

    def action_open_bar(self, mode: str) -> None:
        self.mode = mode
        bar_input = self.query_one("#log-bar-input", Input)
        self.query_one("#log-bar").add_class("-open")
        self.query_one("#log-bar-label", Label).update("filter" if mode == "filter" else "search")
        bar_input.placeholder = ("text to keep (enter: done, esc: clear)" if mode == "filter"
                                 else "text to highlight (enter: next, esc: clear)")
        with bar_input.prevent(Input.Changed):
            bar_input.value = self.view.filter_text if mode == "filter" else self.view.search_text
        bar_input.focus()

    def action_close_bar(self) -> None:
        """Escape: clear what the bar edits (with the bar closed, the filter, then the
        search, one per press) and give the keys back to the log; only when nothing is
        left to clear does escape reach the screen (back)."""
        if self.mode == "filter" or (not self.mode and self.view.filter_text):
            self.view.set_filter("")
        elif self.mode == "search" or (not self.mode and self.view.search_text):
            self.view.set_search("")
        self._hide_bar()

    def action_find(self, forward: bool) -> None:
        self.view.find(forward)
        self._render_status()

    def _hide_bar(self) -> None:
        self.mode = ""
        self.query_one("#log-bar").remove_class("-open")
        self.view.focus()
        self._render_status()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "close_bar":
            return bool(self.mode or self.view.filter_text or self.view.search_text)
        if action == "find":
            return bool(self.view.search_text or self.view.filter_text)
        return True

    @on(Input.Changed, "#log-bar-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self.mode == "filter":
            self.view.set_filter(event.value)
        else:
            self.view.set_search(event.value)
            self.view.find(True)
        self._render_status()

    @on(Input.Submitted, "#log-bar-input")
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter keeps the filter or search and gives the keys back to the log, so n and
        N move between matches instead of typing into the box."""
        event.stop()
        self._hide_bar()

    @on(LogView.FollowChanged)
    def _follow_changed(self, event: LogView.FollowChanged) -> None:
        event.stop()
        self._render_status()

    def _render_status(self) -> None:
        view = self.view
        parts = []
        status = self.query_one("#log-status", Static)
        if view.following:
            parts.append("following")
            status.remove_class("-paused")
        else:
            new = f" · +{view.unseen:,} new lines" if view.unseen else ""
            parts.append(f"paused{new} · f to follow")
            status.add_class("-paused")
        if view.filter_text:
            parts.append(f"filter “{view.filter_text}”: {len(view.visible_entries):,} of {view.line_count:,} lines")
        if view.search_text:
            total = view.match_count()
            where = f"{view.current_match:,} of {total:,}" if view.current_match else f"{total:,}"
            parts.append(f"search “{view.search_text}”: {where} matching lines (n/N)")
        if view.wrap:
            parts.append("wrap")
        if view.timestamps:
            parts.append("times")
        status.update(" · ".join(parts))
