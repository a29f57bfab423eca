"""A tuning job's objective per training job (x = its launch index) as points, and the
best so far as a line (textual-plot). Imported in a thread on first use, as the metric
chart is (textual-plot and numpy take about half a second)."""

from __future__ import annotations

from typing import Sequence

from textual_plot import HiResMode, LegendLocation, NumericAxisFormatter, PlotWidget

from workbench.tui.widgets.metric_chart import palette


class TuningChart(PlotWidget):
    DEFAULT_CSS = """
    TuningChart { height: 1fr; min-height: 6; }
    TuningChart #legend { border: round $panel-lighten-2; background: $surface; }
    """

    can_focus = False  # the trials table keeps the keys

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, allow_pan_and_zoom=False)
        self.points: tuple[Sequence[float], Sequence[float], Sequence[float]] = ([], [], [])

    def on_mount(self) -> None:
        self.margin_left = 8
        self.margin_bottom = 2
        self.margin_top = 1
        self.set_x_formatter(NumericAxisFormatter())
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.show_points(*self.points))
        self.call_after_refresh(lambda: self.show_points(*self.points))  # after PlotWidget's own on_mount clears

    def show_points(self, xs: Sequence[float], ys: Sequence[float], best: Sequence[float]) -> None:
        """api.tuning_chart's (trial index, objective, best so far), replacing what was drawn."""
        self.points = (list(xs), list(ys), list(best))
        if not self.is_mounted:
            return
        colours = palette(self.app.current_theme)
        self.clear()
        if xs:
            self.set_xlimits(0.5, max(xs) + 0.5)
            self.set_xticks([float(x) for x in range(1, int(max(xs)) + 1)] if max(xs) <= 12 else None)
            low, high = min(ys), max(ys)
            pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0  # points on the frame would be hidden
            self.set_ylimits(low - pad, high + pad)
            self.plot(list(xs), list(best), line_style=colours[3 % len(colours)], hires_mode=HiResMode.BRAILLE,
                      label="best so far")
            self.scatter(list(xs), list(ys), marker="●", marker_style=colours[0], label="objective")  # on top
        self.show_legend(LegendLocation.BOTTOMRIGHT, is_visible=False)  # the title above says what is what
