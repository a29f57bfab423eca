"""A bounded, virtual log view: raw lines kept, rendered only when on screen.

Lines are stored as they arrived (time, host, text) so the filter, search highlighting,
wrapping and timestamps can be changed at any time and re-applied to what is kept.
Only the visible rows are rendered (Line API), so a flood costs one append per line and
one refresh per batch. Follow: the view follows new lines until the user scrolls up; then
it stays put and counts what arrived since; scrolling back to the bottom (or `follow()`)
follows again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import attrgetter
from typing import Iterable

from rich.cells import chop_cells
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.tui.formatting import clock_time
from workbench.tui.log_lines import MARKER, Entry, Numberer, clean

HOST_COLOURS = 6
_width = attrgetter("width")

__all__ = ["Entry", "LogView", "clean"]


class LogView(ScrollView, can_focus=True):
    """One host's output (or every host's, prefixed), newest at the bottom."""

    COMPONENT_CLASSES = {
        "log-view--match", "log-view--time", "log-view--marker",
        *(f"log-view--host-{i}" for i in range(HOST_COLOURS)),
    }
    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        overflow-x: auto;
        &:focus { background-tint: $foreground 4%; }
        & > .log-view--match { background: $warning 55%; color: $text; text-style: bold; }
        & > .log-view--time { color: $text-muted; }
        & > .log-view--marker { color: $warning; text-style: italic; }
        & > .log-view--host-0 { color: $primary; }
        & > .log-view--host-1 { color: $accent; }
        & > .log-view--host-2 { color: $success; }
        & > .log-view--host-3 { color: $secondary; }
        & > .log-view--host-4 { color: $warning; }
        & > .log-view--host-5 { color: $error; }
    }
    """

    @dataclass
    class FollowChanged(Message):
        """Following switched on or off, or the count of unseen lines changed."""

        log_view: "LogView"
        following: bool
        unseen: int

        @property
        def control(self) -> "LogView":
            return self.log_view

    def __init__(self, *, max_lines: int = 10_000, show_host: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_lines = max_lines
        self.show_host = show_host
        self._entries: list[Entry] = []
        self._view: list[Entry] = []  # entries that pass the filter
        self._rows: list[tuple[Entry, int, int]] = []  # wrapped rows (entry, start, end) when wrapping
        self._numberer = Numberer()
        self._widest = 0
        self._hosts: dict[str, int] = {}
        self._host_width = 6
        self._pattern: re.Pattern | None = None  # what the filter keeps
        self._highlight: re.Pattern | None = None  # what is highlighted (filter or search)
        self.filter_text = ""
        self.search_text = ""
        self._match_seq: float | None = None  # the line `find` went to last
        self.wrap = False
        self.timestamps = False
        self.unseen = 0
        self._follow = True
        self._adjusting = False  # a scroll made by the view itself, not the user
        self._posted: tuple[bool, int] | None = None
        self._styles: dict[str, Style] = {}
        self._wrap_width = 0
        self.received = 0  # every line ever appended (bench and tests)

    # --- content ---------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self._entries)

    @property
    def visible_entries(self) -> list[Entry]:
        return self._view

    @property
    def lines(self) -> list[str]:
        """The kept lines' text, oldest first (what the filter shows)."""
        return [e.text for e in self._view]

    def host_index(self, host: str) -> int:
        if host not in self._hosts:
            self._hosts[host] = len(self._hosts)
            self._host_width = max(self._host_width, len(host))
        return self._hosts[host]

    def append(self, host: str, lines: Iterable[tuple[float, str]]) -> None:
        self.extend((moment, host, text) for moment, text in lines)

    def extend(self, lines: Iterable[tuple[float, str, str]]) -> None:
        """Add (time, host, text) lines in order; one refresh for all of them."""
        self.add_entries(self._numberer.entries(lines))

    def add_entries(self, entries: list[Entry]) -> None:
        """Add entries prepared elsewhere (see `workbench.tui.log_lines`), in sequence order.
        A view takes its entries from one source: these, or `extend`/`add_marker`."""
        if not entries:
            return
        self._numberer.seq = max(self._numberer.seq, entries[-1].seq)
        self.received += sum(1 for e in entries if e.kind != MARKER)
        self._add(entries)

    def add_marker(self, moment: float, text: str, host: str = "") -> None:
        """A note between lines (lines skipped under load, ...); always passes the filter."""
        entry = self._numberer.marker(moment, host, text)
        self._add([entry])

    def clear(self) -> None:
        self._entries.clear()
        self._view.clear()
        self._rows.clear()
        self._widest = 0
        self.unseen = 0
        self._update_size()
        self.refresh()

    def _add(self, new: list[Entry]) -> None:
        if not new:
            return
        if self.show_host:
            for entry in new:
                if entry.host and entry.host not in self._hosts:
                    self.host_index(entry.host)
        self._entries.extend(new)
        shown = new if self._pattern is None else [e for e in new if self._passes(e)]
        self._view.extend(shown)
        if shown:
            self._widest = max(self._widest, max(map(_width, shown)) + self._prefix_width())
        rows_before = len(self._rows)
        if self.wrap:
            self._rows.extend(self._wrap_rows(shown))
        removed_rows = self._prune()
        self._update_size()
        added = (len(self._rows) - rows_before + removed_rows) if self.wrap else len(shown)
        if self._follow:
            self._scroll_to_end()
            self.unseen = 0
        else:
            self.unseen += added
            if removed_rows:  # keep the lines the user is reading in place
                self._adjusting = True
                try:
                    self.scroll_to(y=max(0, self.scroll_offset.y - removed_rows), animate=False, immediate=True)
                finally:
                    self._adjusting = False
        self.refresh()
        self._post_follow_state()

    def _prune(self) -> int:
        """Drop the oldest entries beyond max_lines (with 10 % slack, so it is amortised);
        returns how many display rows went."""
        excess = len(self._entries) - self.max_lines
        if excess <= max(1, self.max_lines // 10):
            return 0
        cut = self._entries[excess - 1].seq
        del self._entries[:excess]
        view_cut = _first_after(self._view, cut)
        if self.wrap:
            row_cut = 0
            while row_cut < len(self._rows) and self._rows[row_cut][0].seq <= cut:
                row_cut += 1
            del self._rows[:row_cut]
            del self._view[:view_cut]
            return row_cut
        del self._view[:view_cut]
        return view_cut

    def _passes(self, entry: Entry) -> bool:
        return entry.kind == MARKER or self._pattern is None or self._pattern.search(entry.text) is not None

    # --- display options -------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        """Show only lines containing `text` (case-insensitive); "" shows every line."""
        self.filter_text = text
        self._pattern = re.compile(re.escape(text), re.IGNORECASE) if text else None
        self._update_highlight()
        self._rebuild(keep_end=True)

    def set_search(self, text: str) -> None:
        """Highlight `text` without hiding other lines."""
        self.search_text = text
        self._match_seq = None
        self._update_highlight()
        self._refresh_all()

    def _update_highlight(self) -> None:
        words = [w for w in (self.filter_text, self.search_text) if w]
        self._highlight = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._rebuild(keep_end=True)

    def set_timestamps(self, timestamps: bool) -> None:
        self.timestamps = timestamps
        self._rebuild(keep_end=True)

    def follow(self) -> None:
        """Jump to the newest line and follow from there."""
        self._follow = True
        self.unseen = 0
        self._scroll_to_end()
        self._post_follow_state()

    @property
    def following(self) -> bool:
        return self._follow

    def _scroll_to_end(self) -> None:
        self._adjusting = True
        try:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        finally:
            self._adjusting = False

    def _rebuild(self, keep_end: bool) -> None:
        self._view = [e for e in self._entries if self._passes(e)]
        prefix = self._prefix_width()
        self._widest = max((e.width for e in self._view), default=0) + prefix
        self._rows = self._wrap_rows(self._view) if self.wrap else []
        self._update_size()
        if self._follow and keep_end:
            self._scroll_to_end()
        self._refresh_all()
        self._post_follow_state()

    def _refresh_all(self) -> None:
        self.refresh()

    # --- search ----------------------------------------------------------------------

    def find(self, forward: bool = True) -> bool:
        """Scroll to the next (or previous) line holding a highlighted match, after the
        current match (or from the middle of the screen), wrapping around the ends."""
        view = self._view
        if self._highlight is None or not view:
            return False
        current = self._index_of(self._match_seq)
        start, inclusive = (current, False) if current is not None else (self._middle_entry(), True)
        count = len(view)
        if forward:
            order = [(start + step) % count for step in range(0 if inclusive else 1, count + 1)]
        else:
            order = [(start - step) % count for step in range(0 if inclusive else 1, count + 1)]
        for index in order:
            if self._highlight.search(view[index].text):
                self._match_seq = view[index].seq
                row = self._row_of(index)
                self.scroll_to(y=max(0, row - self.scrollable_content_region.height // 2), animate=False,
                               immediate=True)
                self.refresh()
                self._post_follow_state()
                return True
        return False

    @property
    def current_match(self) -> int:
        """Which match `find` went to, counted from the oldest kept line (0: none)."""
        index = self._index_of(self._match_seq)
        if index is None or self._highlight is None or not self._highlight.search(self._view[index].text):
            return 0
        return sum(1 for e in self._view[: index + 1] if self._highlight.search(e.text))

    def match_count(self) -> int:
        if self._highlight is None:
            return 0
        return sum(1 for e in self._view if self._highlight.search(e.text))

    def _index_of(self, seq: float | None) -> int | None:
        if seq is None:
            return None
        index = _first_after(self._view, seq) - 1
        return index if index >= 0 and self._view[index].seq == seq else None

    def _middle_entry(self) -> int:
        rows = self._row_count()
        row = min(rows - 1, self.scroll_offset.y + (self.scrollable_content_region.height // 2 if self.size else 0))
        if not self.wrap:
            return max(0, row)
        return self._index_of(self._rows[max(0, row)][0].seq) or 0

    def _row_of(self, index: int) -> int:
        """The first display row of the entry at `index` of the filtered lines."""
        if not self.wrap:
            return index
        seq = self._view[index].seq
        low, high = 0, len(self._rows)
        while low < high:
            middle = (low + high) // 2
            if self._rows[middle][0].seq < seq:
                low = middle + 1
            else:
                high = middle
        return low

    # --- layout and rendering ----------------------------------------------------------

    def _prefix_width(self) -> int:
        width = 13 if self.timestamps else 0
        if self.show_host:
            width += self._host_width + 3
        return width

    def _row_count(self) -> int:
        return len(self._rows) if self.wrap else len(self._view)

    def _content_width(self) -> int:
        width = self.scrollable_content_region.width if self.size else 0
        return max(10, width)

    def _wrap_rows(self, entries: Iterable[Entry]) -> list[tuple[Entry, int, int]]:
        width = self._content_width()
        self._wrap_width = width
        prefix = self._prefix_width()
        rows: list[tuple[Entry, int, int]] = []
        for entry in entries:
            length = prefix + len(entry.text)
            if entry.width + prefix <= width:
                rows.append((entry, 0, length))
            elif entry.text.isascii():
                for start in range(0, length, width):
                    rows.append((entry, start, min(length, start + width)))
            else:
                start = 0
                for piece in chop_cells(" " * prefix + entry.text, width):
                    rows.append((entry, start, start + len(piece)))
                    start += len(piece)
        return rows

    def _update_size(self) -> None:
        if self.wrap:
            self.virtual_size = Size(self._content_width(), len(self._rows))
        else:
            self.virtual_size = Size(self._widest, len(self._view))

    def on_resize(self) -> None:
        if self.wrap and self._content_width() != self._wrap_width:
            self._rebuild(keep_end=True)
        elif self._follow:
            self._scroll_to_end()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    def _text(self, entry: Entry) -> Text:
        text = Text(no_wrap=True, end="")
        if entry.kind == MARKER:
            if self.timestamps:
                text.append(clock_time(entry.time, millis=True) + " ", self._style("log-view--time"))
            if self.show_host:
                text.append(" " * (self._host_width + 3))
            text.append(entry.text, self._style("log-view--marker"))
            return text
        if self.timestamps:
            text.append(clock_time(entry.time, millis=True) + " ", self._style("log-view--time"))
        if self.show_host:
            colour = self._style(f"log-view--host-{self.host_index(entry.host) % HOST_COLOURS}")
            text.append(f"{entry.host:<{self._host_width}} | ", colour)
        start = len(text)
        text.append(entry.text)
        if self._highlight is not None:
            match_style = self._style("log-view--match")
            for match in self._highlight.finditer(entry.text):
                if match.end() > match.start():
                    text.stylize(match_style, start + match.start(), start + match.end())
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if row >= self._row_count():
            return Strip.blank(width, base)
        if self.wrap:
            entry, start, end = self._rows[row]
            text = self._text(entry)[start:end]
            scroll_x = 0
        else:
            text = self._text(self._view[row])
        text.stylize_before(base)
        segments = list(text.render(self.app.console))
        strip = Strip(segments, text.cell_len)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    # --- follow state ----------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value >= self.max_scroll_y:
            self._follow = True
            self.unseen = 0
        elif new_value < old_value and not self._adjusting:
            self._follow = False  # the user scrolled up: stay put
        self._post_follow_state()

    def _post_follow_state(self) -> None:
        state = (self._follow, self.unseen)
        if state != self._posted:
            self._posted = state
            self.post_message(self.FollowChanged(self, *state))


def _first_after(entries: list[Entry], seq: float) -> int:
    """Index of the first entry with a sequence number above `seq` (entries are in order)."""
    low, high = 0, len(entries)
    while low < high:
        middle = (low + high) // 2
        if entries[middle].seq <= seq:
            low = middle + 1
        else:
            high = middle
    return low

