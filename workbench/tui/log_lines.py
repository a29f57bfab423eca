"""Log lines ready for display, prepared off the event loop.

The flusher thread turns each batch of raw (time, text) lines into `Entry` tuples: text
cleaned of control sequences, its width measured, and a sequence number in time order
across hosts. The screen then only appends them: a host's view and the all-hosts view
share the same entries, and the event loop does no per-line work for lines it does not
draw.
"""

from __future__ import annotations

import heapq
import re
from typing import Iterable, NamedTuple

from rich.cells import cell_len

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

LINE, MARKER = 0, 1


class Entry(NamedTuple):
    seq: float  # order across hosts; markers sit between lines
    time: float
    host: str
    text: str
    kind: int = LINE
    width: int = 0  # cells of `text`


def clean(text: str) -> str:
    """Printable text: ANSI sequences dropped, tabs expanded, other controls replaced."""
    if text.isprintable():
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return _CONTROL.sub("\ufffd", text.expandtabs())


def width_of(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


class Numberer:
    """Hands out entries with increasing sequence numbers (one per stream, one thread)."""

    def __init__(self) -> None:
        self.seq = 0

    def entries(self, lines: Iterable[tuple[float, str, str]]) -> list[Entry]:
        """(time, host, text) in display order -> entries."""
        out = []
        seq = self.seq
        for moment, host, text in lines:
            text = clean(text)
            seq += 1
            out.append(Entry(seq, moment, host, text, LINE, width_of(text)))
        self.seq = seq
        return out

    def marker(self, moment: float, host: str, text: str) -> Entry:
        self.seq += 1
        return Entry(self.seq, moment, host, text, MARKER, width_of(text))


def merge_hosts(lines: dict[str, list[tuple[float, str]]]) -> Iterable[tuple[float, str, str]]:
    """Every host's lines in one time order (each host's own order kept)."""
    if len(lines) == 1:
        host, items = next(iter(lines.items()))
        return ((moment, host, text) for moment, text in items)
    return heapq.merge(*([(moment, host, text) for moment, text in items] for host, items in lines.items()),
                       key=lambda item: item[0])
