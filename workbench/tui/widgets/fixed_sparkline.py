"""A sparkline on a fixed 0-100 scale.

Textual's Sparkline scales to its data's min and max, so a GPU steady at 95 % would draw
as a flat line at the bottom. Here a column's height is its value out of 100, newest on
the right, one column per sample.
"""

from __future__ import annotations

from typing import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

BARS = " ▁▂▃▄▅▆▇█"


def bar_for(value: float, low: float = 0.0, high: float = 100.0) -> str:
    """The block character for a value on the fixed scale (clamped)."""
    ratio = (min(max(value, low), high) - low) / (high - low)
    return BARS[round(ratio * (len(BARS) - 1))]


class FixedSparkline(Widget):
    DEFAULT_CSS = """
    FixedSparkline { height: 1; color: $accent; background: $panel; }
    """

    data: reactive[tuple[float, ...]] = reactive(tuple)  # reassign, never mutate

    def __init__(self, data: Sequence[float] = (), *, low: float = 0.0, high: float = 100.0,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.low = low
        self.high = high
        self.set_reactive(FixedSparkline.data, tuple(data))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        if y != self.size.height - 1:
            return Strip.blank(width, style)
        values = self.data[-width:] if width else ()
        text = " " * (width - len(values)) + "".join(bar_for(v, self.low, self.high) for v in values)
        return Strip([Segment(text, style + Style())], width)
