"""Metrics in the workbench: the monitor's Metrics tab (replayed and live), comparing marked
jobs, and the composer's MetricDefinitions editor checked against the spec's last run."""

from __future__ import annotations

import math
from pathlib import Path

from textual.widgets import DataTable, Input, OptionList, TabbedContent

from tests.tui.conftest import frozen_clock, wait_for
from tests.tui.fake_jobs import T0, make_job, spec_for
from workbench.engine import events as ev
from workbench.engine.store import JobRecorder, existing_job, load_record
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.compare import CompareScreen
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.widgets.metric_chart import palette
from workbench.tui.widgets.metric_definitions_editor import PATH, MetricDefinitionsEditor, MetricRow
from workbench.tui.widgets.metrics_panel import MetricsPanel


def curves(start: float, scale: float = 2.0, steps: int = 100) -> dict[str, tuple]:
    """Two hosts' values: a falling loss on both, an accuracy on algo-1 only."""
    return {
        "algo-1": tuple((start + 1 + i * 3, name, value) for i in range(steps) for name, value in
                        (("train:loss", scale / (1 + i / 10)), ("validation:accuracy", 1 - math.exp(-i / 30)))),
        "algo-2": tuple((start + 2 + i * 3, "train:loss", (scale + 0.2) / (1 + i / 9)) for i in range(steps)),
    }


def metric_job(name: str, start: float = T0, hosts: int = 2, scale: float = 2.0, lr: str = "0.1",
               **kwargs) -> Path:
    points = curves(start, scale)
    events = [ev.MetricSamples(host, points[host], time=points[host][-1][0]) for host in list(points)[:hosts]]
    spec = spec_for(name, hosts, HyperParameters={"epochs": "3", "lr": lr, "batch": "64"})
    return make_job(name, start=start, hosts=hosts, spec=spec, extra_events=events, **kwargs)


async def metrics_tab(pilot, finished: bool = True) -> MetricsPanel:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and (app.screen.replayed or not finished))
    app.screen.query_one("#monitor-tabs", TabbedContent).active = "tab-metrics"
    panel = app.screen.query_one("#metrics", MetricsPanel)
    await wait_for(pilot, lambda: panel.chart is not None and panel.chart.is_mounted and panel.chart.curves,
                   what="the chart")
    return panel


async def test_the_metrics_tab_replays_one_series_per_host_from_training_start():
    metric_job("train-metrics")
    app = WorkbenchApp(job="train-metrics", clock=frozen_clock, poll_seconds=60)
    async with app.run_test(size=(100, 30)) as pilot:
        panel = await metrics_tab(pilot)
        assert panel.metrics == ["train:loss", "validation:accuracy"] and panel.chosen == "train:loss"
        labels = [label for label, _, _ in panel.chart.curves]
        assert labels == ["algo-1", "algo-2"]
        xs = panel.chart.curves[0][1]
        assert xs[0] == 0.0 and xs[-1] == 297.0  # seconds since TrainingStartTime (T0 + 1)
        width = panel.query_one("#metric-chart-box").size.width
        assert all(len(x) <= 2 * width + 2 for _, x, _ in panel.chart.curves)  # thinned to the width
        stats = str(panel.query_one("#metric-stats").render())
        assert "algo-2" in stats and "2.2" in stats and "100" in stats
        assert app.screen.focused is panel.query_one("#metrics-list", OptionList)

        await pilot.press("down")
        await wait_for(pilot, lambda: [c[0] for c in panel.chart.curves] == ["algo-1"], what="the other metric")
        assert panel.chosen == "validation:accuracy"
        assert panel.chart.curves[0][2][-1] == 1 - math.exp(-99 / 30)

        app.theme = "nord"  # the series take the new theme's colours
        await pilot.pause(0.2)
        assert [d.line_style for d in panel.chart._datasets] == palette(app.current_theme)[:1]


async def test_the_metrics_tab_follows_a_running_job():
    root = metric_job("live-metrics", hosts=1, running=True)
    app = WorkbenchApp(job="live-metrics", clock=frozen_clock, poll_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await metrics_tab(pilot, finished=False)
        await wait_for(pilot, lambda: panel.chart.curves[0][1][-1] == 297.0, what="the replay")
        paths = existing_job("live-metrics")
        recorder = JobRecorder(paths, load_record(paths))
        recorder(ev.MetricSamples("algo-1", ((T0 + 400, "train:loss", 0.05), (T0 + 400, "lr", 0.001)), time=T0 + 400))
        await wait_for(pilot, lambda: panel.metrics == ["train:loss", "validation:accuracy", "lr"], what="lr")
        await wait_for(pilot, lambda: panel.chart.curves[0][1][-1] == 399.0, what="the new point")
        assert "0.05" in str(panel.query_one("#metric-stats").render())
        recorder(ev.JobFinished("Completed", "Completed", time=T0 + 401))
        recorder.close()
        await wait_for(pilot, lambda: app.screen.record.get("TrainingJobStatus") == "Completed")
    assert root.exists()


async def test_marked_jobs_compare_side_by_side_with_one_metric_overlaid():
    metric_job("sweep-lr-0-1", start=T0, hosts=1, lr="0.1")
    metric_job("sweep-lr-0-01", start=T0 + 600, hosts=1, scale=1.5, lr="0.01")
    make_job("no-metrics", start=T0 + 900)
    app = WorkbenchApp(clock=frozen_clock, poll_seconds=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.records is not None and app.screen.table.row_count == 3)
        table = app.screen.table
        await pilot.press("c")  # nothing marked yet: it says how
        await pilot.pause(0.1)
        assert not isinstance(app.screen, CompareScreen)
        assert app.screen.check_action("compare", ()) is None  # dimmed in the footer
        await pilot.press("down", "space", "down", "space")
        assert table.marked == ["sweep-lr-0-01", "sweep-lr-0-1"]
        assert str(table.get_cell("sweep-lr-0-1", "name")).startswith("● ")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.chart is not None)
        screen = app.screen
        compare = screen.query_one("#compare-table", DataTable)
        assert [str(c.label) for c in compare.columns.values()] == ["", "", "sweep-lr-0-01", "sweep-lr-0-1"]
        row = compare.get_row("hp-lr")
        assert str(row[0]) == "≠" and [str(v) for v in row[2:]] == ["0.01", "0.1"]
        assert str(compare.get_row("hp-batch")[0]) == ""  # the same in both: not marked
        assert [str(v) for v in compare.get_row("metric-train:loss")[2:]] == ["0.13761", "0.18349"]
        assert [c[0] for c in screen.chart.curves] == ["sweep-lr-0-01", "sweep-lr-0-1"]
        assert screen.chart.curves[0][1][0] == 0.0 and screen.chart.curves[1][1][0] == 0.0  # each from its start
        screen.query_one("#compare-metrics", OptionList).focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.chosen == "validation:accuracy")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen))
        await pilot.press("space")  # unmark
        assert table.marked == ["sweep-lr-0-01"]


SPEC = """\
TrainingJobName: hello-metrics
AlgorithmSpecification:
  TrainingImage: sm-workbench/shell:latest
  TrainingInputMode: File
  MetricDefinitions:
    - {Name: "train:loss", Regex: "loss=([0-9.]+)"}
    - {Name: "accuracy", Regex: "accuracy=([0-9.]+)"}
ResourceConfig: {InstanceType: ml.m5.large, InstanceCount: 1}
"""


async def test_the_composer_checks_each_regex_against_the_specs_last_run(tmp_path):
    make_job("hello-metrics", lines=12)  # its lines: "algo-1: epoch 3/12 loss=0.7"
    (tmp_path / "job.yaml").write_text(SPEC)
    app = WorkbenchApp(spec=tmp_path / "job.yaml", clock=frozen_clock, poll_seconds=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen) and app.records is not None)
        screen = app.screen
        screen.show_section("metrics", focus=True)
        editor = screen.query_one(MetricDefinitionsEditor)
        rows = editor.rows

        def found(row: MetricRow) -> str:
            return str(row.query_one(".md-found").render())

        await wait_for(pilot, lambda: "12 lines" in found(rows[0]), what="the check")
        assert found(rows[0]) == "12 lines, 12 values · algo-1: algo-1: epoch 1/12 loss=0.9 → 0.9"
        assert found(rows[1]) == "matches no line of hello-metrics"
        assert "output of hello-metrics (12 lines)" in str(editor.query_one(".md-source").render())

        rows[1].query_one(".md-regex", Input).value = r"epoch (\d+)/"  # fixed against the real output
        await wait_for(pilot, lambda: found(rows[1]).startswith("12 lines, 12 values"), what="the fix")
        assert screen.draft.get(PATH) == [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"},
                                          {"Name": "accuracy", "Regex": r"epoch (\d+)/"}]
        rows[1].query_one(".md-regex", Input).value = "epoch ("
        await wait_for(pilot, lambda: found(rows[1]).startswith("does not compile"), what="the error")
        await wait_for(pilot, lambda: screen.checked_generation == screen.generation)
        assert any(p.path == f"{PATH}[1].Regex" and p.severity == "error" for p in screen.validation.problems)
        assert "does not compile" in str(editor.query_one(".field-error").render())

        await pilot.click(".md-add")
        row = await_row = editor.rows[-1]
        assert len(editor.rows) == 3 and await_row is row
        row.query_one(".md-name", Input).value = "epoch"
        row.query_one(".md-regex", Input).value = "epoch"  # no group
        await wait_for(pilot, lambda: "no capture group" in found(row), what="the warning")
        await pilot.click(".md-remove")  # the first row's
        await wait_for(pilot, lambda: len(editor.rows) == 2)
        assert [d["Name"] for d in screen.draft.get(PATH)] == ["accuracy", "epoch"]
