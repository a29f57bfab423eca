"""The monitor's Metrics tab: the job's metrics in a list, the chosen one's chart (one
series per host, x = time since training started) with each host's last, min, max and
count beside it. Live while the job runs, replayed for a finished one: the values come
from the monitor's event pump, read at most twice a second.

The chart (textual-plot, numpy) is imported in a thread the first time there is something
to draw, so opening the monitor costs nothing more until then.
"""

from __future__ import annotations

import math
from typing import Callable

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

REDRAW_SECONDS = 0.5


def short(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.5g}"


def host_label(host: str) -> str:
    return host or "all hosts"  # SageMaker's CloudWatch series have no host


def load_chart_class():
    """MetricChart, importing textual-plot and numpy on first use (call it in a thread)."""
    from workbench.tui.widgets.metric_chart import MetricChart  # deferred: textual-plot and numpy (~0.5 s)

    return MetricChart


def stats_table(summaries: list, metric: str) -> str:
    """Each host's last, min, max and count of one metric, aligned."""
    rows = [("host", "last", "min", "max", "count")]
    rows += [(host_label(s.host), short(s.last), short(s.low), short(s.high), f"{s.count:,}")
             for s in summaries if s.metric == metric]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [escape("  ".join(cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(row)))
             for row in rows]
    lines[0] = f"[b]{lines[0]}[/b]"
    return "\n".join(lines)


class MetricsPanel(Vertical):
    DEFAULT_CSS = """
    MetricsPanel { height: 1fr; }
    MetricsPanel > #metrics-empty { padding: 0 1; color: $text-muted; height: auto; }
    MetricsPanel > #metrics-body { height: 1fr; }
    MetricsPanel #metrics-list { width: 26; height: 1fr; border-right: solid $panel-lighten-2;
                                 text-wrap: nowrap; text-overflow: ellipsis; }
    MetricsPanel #metric-view { width: 1fr; height: 1fr; padding: 0 0 0 1; }
    MetricsPanel #metric-title { height: 1; text-style: bold; color: $text-accent; }
    MetricsPanel #metric-chart-box { height: 1fr; }
    MetricsPanel #metric-chart-loading { color: $text-muted; }
    MetricsPanel #metric-stats { height: auto; max-height: 6; color: $text; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view_of: Callable | None = None  # (metric, points) -> MetricView; the monitor's pump
        self.origin: float | None = None  # when training started (x = 0)
        self.metrics: list[str] = []
        self.chosen: str | None = None
        self.dirty = False
        self.chart = None
        self._chart_loading = False
        self.unavailable = ""

    def compose(self) -> ComposeResult:
        yield Static("No metric values yet. A job's AlgorithmSpecification.MetricDefinitions (a Name and a "
                     "Regex with one group) are read from every host's output as SageMaker reads them; add "
                     "them in the composer's Metrics section, or try regexes on this job's output with "
                     "`sm-workbench metrics JOB --regex NAME=REGEX`.", id="metrics-empty")
        with Horizontal(id="metrics-body"):
            yield OptionList(id="metrics-list", compact=True)
            with Vertical(id="metric-view"):
                yield Static("", id="metric-title")
                with Vertical(id="metric-chart-box"):
                    yield Static("Loading the chart…", id="metric-chart-loading")
                yield Static("", id="metric-stats")

    def on_mount(self) -> None:
        self.query_one("#metrics-body").display = False
        self.set_interval(REDRAW_SECONDS, self._redraw_if_changed)

    # --- what the monitor tells it -------------------------------------------------------

    def attach(self, view_of: Callable) -> None:
        self.view_of = view_of

    def set_origin(self, moment: float | None) -> None:
        if moment and moment != self.origin:
            self.origin = moment
            self.dirty = True

    def changed(self) -> None:
        """New values arrived; drawn at the next tick (at most twice a second)."""
        self.dirty = True

    def redraw_now(self) -> None:
        self.dirty = True
        self._redraw_if_changed()

    # --- drawing -------------------------------------------------------------------------

    def _redraw_if_changed(self) -> None:
        if not self.dirty or self.view_of is None:
            return
        self.dirty = False
        box = self.query_one("#metric-chart-box")
        width = max(box.size.width, 40)
        metric = self.chosen
        view = self.view_of(metric, 2 * width)
        if not view.metrics:
            return
        self._show_list(view)
        if self.chosen != metric:  # the first metric, chosen just now
            metric = self.chosen
            view = self.view_of(metric, 2 * width)
        self.query_one("#metrics-empty").display = False
        self.query_one("#metrics-body").display = True
        hosts = [s for s in view.summaries if s.metric == metric]
        count = sum(s.count for s in hosts)
        plural = ("s" if len(hosts) != 1 else "", "s" if count != 1 else "")
        self.query_one("#metric-title", Static).update(
            escape(f"{metric} · {len(hosts)} host{plural[0]} · {count:,} value{plural[1]}"))
        self.query_one("#metric-stats", Static).update(stats_table(view.summaries, metric))
        origin = self.origin or min((times[0] for times, _ in view.curves.values() if times), default=0.0)
        curves = [(host_label(host), [t - origin for t in times], values)
                  for host, (times, values) in view.curves.items()]
        if self.chart is not None:
            self.chart.show_curves(curves)
        else:
            self._pending = curves
            if not self._chart_loading:
                self._chart_loading = True
                self._load_chart()

    def _show_list(self, view) -> None:
        if view.metrics != self.metrics:
            listing = self.query_one("#metrics-list", OptionList)
            highlighted = listing.highlighted
            listing.clear_options()
            listing.add_options([Option(escape(name), id=f"m{index}") for index, name in enumerate(view.metrics)])
            listing.highlighted = highlighted if highlighted is not None else 0
            self.metrics = list(view.metrics)
        if self.chosen is None and self.metrics:
            self.chosen = self.metrics[0]

    @work(thread=True, group="metric-chart", exit_on_error=False)
    def _load_chart(self) -> None:
        chart_class = load_chart_class()
        self.app.call_from_thread(self._mount_chart, chart_class)

    async def _mount_chart(self, chart_class) -> None:
        if self.chart is not None:
            return
        self.chart = chart_class(id="metric-chart")
        self.chart.curves = getattr(self, "_pending", [])
        box = self.query_one("#metric-chart-box")
        await box.query_one("#metric-chart-loading").remove()
        await box.mount(self.chart)

    @on(OptionList.OptionHighlighted, "#metrics-list")
    def _metric_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self.metrics) and self.metrics[index] != self.chosen:
            self.chosen = self.metrics[index]
            self.redraw_now()

    def focus_list(self) -> None:
        self.query_one("#metrics-list", OptionList).focus()

    def choose(self, metric: str) -> None:
        """Show this metric's chart (tests, the command palette)."""
        if metric in self.metrics:
            self.query_one("#metrics-list", OptionList).highlighted = self.metrics.index(metric)
