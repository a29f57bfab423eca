"""One metric as a line chart (textual-plot): one series per host, or per job when
comparing, x = time since training started, colours from the theme.

Importing this module imports textual-plot and numpy (about half a second): screens
import it only when a chart is first shown, in a thread (`load_chart_module`), so the
workbench starts as fast as before. Series come already thinned to about twice the
chart's width (`api.thinned`), and callers redraw at most twice a second.
"""

from __future__ import annotations

from typing import Sequence

from textual_plot import DurationFormatter, HiResMode, LegendLocation, PlotWidget

Curve = tuple[str, Sequence[float], Sequence[float]]  # (label, seconds since training start, values)


def palette(theme) -> list[str]:
    """The theme's colours for series, in a fixed order (the first series gets the primary)."""
    colours = [getattr(theme, name, None) for name in ("primary", "accent", "warning", "success", "error",
                                                        "secondary")]
    return [str(c) for c in colours if c] or ["white"]


class MetricChart(PlotWidget):
    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 8; }
    MetricChart #legend { border: round $panel-lighten-2; background: $surface; }
    """

    can_focus = False  # arrow keys stay with the metric list; the mouse still zooms

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, allow_pan_and_zoom=False)
        self.curves: list[Curve] = []

    def on_mount(self) -> None:
        self.margin_left = 8
        self.margin_bottom = 2
        self.margin_top = 1
        self.set_x_formatter(DurationFormatter())
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show_curves(self.curves))
        self.show_curves(self.curves)

    def show_curves(self, curves: list[Curve]) -> None:
        """Draw these series (replacing what was drawn); a legend when there are several."""
        self.curves = list(curves)
        if not self.is_mounted:
            return
        colours = palette(self.app.current_theme)
        self.clear()
        for index, (label, xs, ys) in enumerate(self.curves):
            if len(xs):
                self.plot(list(xs), list(ys), line_style=colours[index % len(colours)],
                          hires_mode=HiResMode.BRAILLE, label=label)
        self.show_legend(LegendLocation.TOPRIGHT, is_visible=len(self.curves) > 1)
