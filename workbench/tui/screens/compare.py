"""Jobs side by side, as `sm-workbench compare` prints them: hyperparameters (the ones that
differ highlighted), final metrics, and one metric's curves overlaid, one per job, each
from its own training start. Opened from the jobs screen (space marks jobs, c compares)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from workbench.engine import api
from workbench.errors import WorkbenchError
from workbench.tui.commands import ScreenCommands
from workbench.tui.widgets.cells import coloured
from workbench.tui.widgets.footer import WorkbenchFooter
from workbench.tui.widgets.metrics_panel import host_label, load_chart_class, short

CURVE_POINTS = 400  # per job: about twice the widest chart


def curve_of(series, metric: str) -> tuple[str, list[float], list[float]] | None:
    """A job's curve of one metric: its first host that has it (host label, times, values)."""
    hosts = series.hosts(metric)
    if not hosts:
        return None
    track = series.track(metric, hosts[0])
    times, values = api.thinned(track.times, track.values, CURVE_POINTS)
    return hosts[0], times, values


class CompareScreen(Screen):
    HELP = """\
# Compare jobs

The marked jobs side by side: their status, every hyperparameter (**≠** and the warning
colour mark the ones that differ) and every final metric (FinalMetricDataList). Below,
one metric's curves overlaid, one line per job, each from the job's own training start;
choose the metric in the list on the left (up/down). `sm-workbench compare JOB JOB...`
prints the same table.

- **escape** goes back to the jobs
"""

    COMMANDS = {ScreenCommands}
    BINDINGS = [Binding("escape", "back", "Back", id="compare.back")]

    @dataclass
    class Loaded(Message):
        comparison: object  # api.compare_jobs's Comparison
        series: dict = field(default_factory=dict)  # job -> MetricSeries

    @dataclass
    class Failed(Message):
        message: str

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = list(names)
        self.comparison = None  # api.compare_jobs's Comparison, once loaded
        self.series: dict = {}
        self.metrics: list[str] = []
        self.chosen: str | None = None
        self.chart = None

    def compose(self) -> ComposeResult:
        yield Static(f"compare · {len(self.names)} jobs", id="compare-title", classes="screen-title")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="compare-curves"):
            yield OptionList(id="compare-metrics", compact=True)
            with Vertical(id="compare-chart-box"):
                yield Static("Loading…", id="compare-chart-note")
        yield WorkbenchFooter()

    DEFAULT_CSS = """
    CompareScreen #compare-table { height: auto; max-height: 60%; min-height: 5; }
    CompareScreen #compare-curves { height: 1fr; min-height: 8; border-top: solid $panel-lighten-2; }
    CompareScreen #compare-metrics { width: 26; height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    CompareScreen #compare-chart-box { width: 1fr; height: 1fr; padding-left: 1; }
    CompareScreen #compare-chart-note { color: $text-muted; }
    """

    def on_mount(self) -> None:
        self.query_one("#compare-table").focus()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._fill_table() if self.comparison else None)
        self._load()

    @work(thread=True, exclusive=True, group="compare-load", exit_on_error=False)
    def _load(self) -> None:
        try:
            comparison = api.compare_jobs(self.names)
            series = {name: api.metric_series(name) for name in comparison.jobs}
        except WorkbenchError as err:
            self.post_message(self.Failed(str(err)))
            return
        load_chart_class()  # textual-plot and numpy, here in the thread
        self.post_message(self.Loaded(comparison, series))

    @on(Failed)
    def _failed(self, event: Failed) -> None:
        self.notify(event.message, severity="error", title="Cannot compare")
        self.query_one("#compare-chart-note", Static).update(escape(event.message))

    @on(Loaded)
    async def _loaded(self, event: Loaded) -> None:
        self.comparison, self.series = event.comparison, event.series
        self._fill_table()
        self.metrics = list(dict.fromkeys([row.name for row in self.comparison.metrics]
                                          + [m for s in self.series.values() for m in s.metrics]))
        listing = self.query_one("#compare-metrics", OptionList)
        listing.add_options([Option(escape(name), id=f"m{index}") for index, name in enumerate(self.metrics)])
        note = self.query_one("#compare-chart-note", Static)
        if not self.metrics:
            note.update("No metric values in these jobs: their MetricDefinitions matched nothing, or they "
                        "have none.")
            return
        await note.remove()
        self.chart = load_chart_class()(id="compare-chart")
        await self.query_one("#compare-chart-box").mount(self.chart)
        self.choose(self.metrics[0])

    def _fill_table(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        comparison = self.comparison
        table.clear(columns=True)
        table.add_column("", key="mark", width=1)
        table.add_column("", key="field")
        for index, job in enumerate(comparison.jobs):
            table.add_column(job, key=f"job-{index}")
        table.add_row("", coloured(self, "status", "text-muted"), *comparison.statuses, key="status")
        if comparison.hyperparameters:
            table.add_row("", coloured(self, "HyperParameters", "text-accent", bold=True),
                          *[""] * len(comparison.jobs), key="hyperparameters")
        for row in comparison.hyperparameters:
            values = ["-" if v is None else str(v) for v in row.values]
            if row.differs:
                cells = [coloured(self, text, "warning", bold=True) for text in ("≠", row.name, *values)]
                table.add_row(*cells, key=f"hp-{row.name}")
            else:
                table.add_row("", row.name, *values, key=f"hp-{row.name}")
        table.add_row("", coloured(self, "Final metrics", "text-accent", bold=True), *[""] * len(comparison.jobs),
                      key="metrics")
        for row in comparison.metrics:
            table.add_row("", row.name, *[short(v) for v in row.values], key=f"metric-{row.name}")
        if not comparison.metrics:
            table.add_row("", coloured(self, "(no metric values)", "text-muted"), *[""] * len(comparison.jobs),
                          key="no-metrics")

    def choose(self, metric: str) -> None:
        """Overlay this metric's curves, one per job."""
        if metric not in self.metrics or self.chart is None:
            return
        self.chosen = metric
        listing = self.query_one("#compare-metrics", OptionList)
        if listing.highlighted != self.metrics.index(metric):
            with listing.prevent(OptionList.OptionHighlighted):
                listing.highlighted = self.metrics.index(metric)
        curves = []
        hosts = {len(s.hosts(metric)) for s in self.series.values()}
        for job, start in zip(self.comparison.jobs, self.comparison.training_starts):
            curve = curve_of(self.series[job], metric)
            if curve is None:
                continue
            host, times, values = curve
            origin = start or (times[0] if times else 0.0)
            label = job if hosts == {1} else f"{job} ({host_label(host)})"
            curves.append((label, [t - origin for t in times], values))
        self.chart.show_curves(curves)

    @on(OptionList.OptionHighlighted, "#compare-metrics")
    def _metric_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.metrics):
            self.choose(self.metrics[event.option_index])

    def action_back(self) -> None:
        self.dismiss()

    def palette_commands(self):
        for metric in self.metrics:
            yield (f"Compare curves of: {metric}", lambda m=metric: self.choose(m), "overlay it, one line per job")
