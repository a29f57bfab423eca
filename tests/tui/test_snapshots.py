"""SVG snapshots of every screen at 80x24 and 120x40 (fixed jobs, clock and time zone).

Update them after a deliberate change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the diff report pytest-textual-snapshot writes.
"""

import pytest
from textual.widgets import TabbedContent

from tests.tui.conftest import frozen_clock, still, wait_for
from tests.tui.fake_jobs import T0, make_job
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.monitor import MonitorScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SPEC = """\
TrainingJobName: hello-snapshot
AlgorithmSpecification:
  TrainingImage: sm-workbench/shell:latest
  TrainingInputMode: File
HyperParameters:
  greeting: hello
  epochs: "3"
InputDataConfig:
  - ChannelName: train
    DataSource:
      S3DataSource:
        S3DataType: S3Prefix
        S3Uri: data/
ResourceConfig:
  InstanceType: ml.m5.large
  InstanceCount: 0
StoppingCondition:
  MaxRuntimeInSeconds: 0
"""


@pytest.fixture
def history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_job("train-resnet", start=T0, hosts=2, lines=40)
    make_job("sweep-lr-0-01", start=T0 + 600, stopped=True)
    make_job("broken-entrypoint", start=T0 + 900, status="Failed",
             failure="AlgorithmError: cannot start the training container on algo-1: exec: \"train\": not found")
    (tmp_path / "data").mkdir()
    (tmp_path / "job.yaml").write_text(SPEC)
    return tmp_path


def app(**kwargs) -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=60, **kwargs)


async def jobs_loaded(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.records is not None and pilot.app.screen.table.row_count == 3)
    still(pilot.app)


async def chart_drawn(pilot, chart_of) -> None:
    """A textual-plot chart holds its data and has drawn it: it draws on its next render
    (`_needs_rerender`), and on a loaded machine a snapshot taken 0.3 s after the data
    arrived showed empty axes."""
    await wait_for(pilot, lambda: (chart := chart_of()) is not None and chart.is_mounted
                   and bool(chart._datasets) and not chart._needs_rerender)
    await pilot.pause(0.3)


async def monitor_ready(pilot, tab: str = "tab-all") -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen) and pilot.app.screen.replayed)
    pilot.app.screen.query_one("#monitor-tabs", TabbedContent).active = tab
    await pilot.pause(0.3)
    still(pilot.app)


async def composer_ready(pilot) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ComposerScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.checked_generation == screen.generation)
    still(pilot.app)


@pytest.mark.parametrize("size", SIZES)
def test_jobs_screen(snap_compare, history, size):
    assert snap_compare(app(), terminal_size=size, run_before=jobs_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_composer_with_problems(snap_compare, history, size):
    async def ready(pilot):
        await composer_ready(pilot)
        pilot.app.screen.show_section("resources")
        await pilot.pause(0.2)

    assert snap_compare(app(spec=history / "job.yaml"), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_channel_dialog(snap_compare, history, size):
    async def ready(pilot):
        await composer_ready(pilot)
        pilot.app.screen.show_section("channels", focus=True)
        await pilot.press("enter")
        await pilot.pause(0.5)
        still(pilot.app)

    assert snap_compare(app(spec=history / "job.yaml"), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_logs(snap_compare, history, size):
    assert snap_compare(app(job="train-resnet"), terminal_size=size, run_before=monitor_ready)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_signal_timeline(snap_compare, history, size):
    async def ready(pilot):
        await monitor_ready(pilot, "tab-signals")

    assert snap_compare(app(job="sweep-lr-0-01"), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_status_transitions(snap_compare, history, size):
    async def ready(pilot):
        await monitor_ready(pilot, "tab-status")

    assert snap_compare(app(job="broken-entrypoint"), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, history, size):
    async def ready(pilot):
        await jobs_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(app(), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_stop_confirmation(snap_compare, history, size):
    make_job("still-running", start=T0 + 950, running=True)

    async def ready(pilot):
        await wait_for(pilot, lambda: pilot.app.records is not None and pilot.app.screen.table.row_count == 4)
        await pilot.press("s")
        await pilot.pause(0.3)
        still(pilot.app)

    assert snap_compare(app(), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_tensorboard_tab(snap_compare, history, size):
    from tests.tui.test_monitor import synced_job

    synced_job("tb-snapshot")

    async def ready(pilot):
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen) and pilot.app.screen.replayed
                       and bool(pilot.app.screen.query("#synced-tensorboard")))
        await monitor_ready(pilot, "tab-synced-tensorboard")

    assert snap_compare(app(job="tb-snapshot"), terminal_size=size, run_before=ready)


# --- inner loop ---


@pytest.mark.parametrize("size", SIZES)
def test_monitor_build_tab(snap_compare, history, size):
    from tests.tui.test_inner_loop_keys import BUILD_EVENTS

    make_job("built-image", start=T0 + 1200, extra_events=BUILD_EVENTS)

    async def ready(pilot):
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen) and pilot.app.screen.replayed
                       and pilot.app.screen.query("#build"))
        await monitor_ready(pilot, "tab-build")

    assert snap_compare(app(job="built-image"), terminal_size=size, run_before=ready)


# --- metrics ---


@pytest.fixture
def metric_history(tmp_path, monkeypatch):
    from tests.tui.test_metrics_tui import metric_job

    monkeypatch.chdir(tmp_path)
    metric_job("sweep-lr-0-1", start=T0, lr="0.1")
    metric_job("sweep-lr-0-01", start=T0 + 600, scale=1.5, lr="0.01")
    return tmp_path


@pytest.mark.parametrize("size", SIZES)
def test_monitor_metrics(snap_compare, metric_history, size):
    async def ready(pilot):
        await monitor_ready(pilot, "tab-metrics")
        panel = pilot.app.screen.query_one("#metrics")
        await chart_drawn(pilot, lambda: panel.chart)

    assert snap_compare(app(job="sweep-lr-0-1"), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_compare_view(snap_compare, metric_history, size):
    from workbench.tui.screens.compare import CompareScreen

    async def ready(pilot):
        await wait_for(pilot, lambda: pilot.app.records is not None and pilot.app.screen.table.row_count == 2)
        await pilot.press("space", "down", "space", "c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen) and pilot.app.screen.chart)
        await chart_drawn(pilot, lambda: pilot.app.screen.chart)

    assert snap_compare(app(), terminal_size=size, run_before=ready)


# --- serving ---------------------------------------------------------------------------


async def endpoint_answered(pilot) -> None:
    """The endpoint's request panel with a request written and its answer shown."""
    from workbench.tui.screens.endpoint import EndpointScreen
    from workbench.tui.widgets.request_panel import RequestPanel

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, EndpointScreen) and pilot.app.screen.record
                   and len(pilot.app.screen.query_one(RequestPanel).history) == 3)
    panel = pilot.app.screen.query_one(RequestPanel)
    panel.set_request("1\n2\n3\n", "text/csv", "text/csv")
    panel.show_answer(200, b"3.0\n5.0\n7.0\n", "text/csv", 2.4)
    panel.query_one("#history").focus()  # no text cursor: its blink would make the picture vary
    await pilot.pause(0.3)
    still(pilot.app)


@pytest.mark.parametrize("size", SIZES)
def test_endpoint_requests(snap_compare, history, size):
    from tests.tui.fake_jobs import make_endpoint

    make_endpoint("train-resnet-endpoint", start=T0 + 950)
    assert snap_compare(app(job="train-resnet-endpoint"), terminal_size=size, run_before=endpoint_answered)


@pytest.mark.parametrize("size", SIZES)
def test_serve_dialog(snap_compare, history, size):
    async def ready(pilot):
        await monitor_ready(pilot)
        pilot.app.screen.action_serve()
        await pilot.pause(0.5)
        still(pilot.app)

    assert snap_compare(app(job="train-resnet"), terminal_size=size, run_before=ready)


# --- tuning: the jobs list with a tuning job folded, the tuning monitor, the tuning composer ---


@pytest.fixture
def tuning_history(tmp_path, monkeypatch):
    from tests.tui.fake_jobs import TUNING_REQUEST, make_tuning
    from workbench.spec import write_spec_file

    monkeypatch.chdir(tmp_path)
    make_job("train-resnet", start=T0 - 100, hosts=2)
    make_tuning("tune-xgb", start=T0)
    write_spec_file(tmp_path / "tuning.yaml", {"HyperParameterTuningJobName": "tune-xgb", **TUNING_REQUEST})
    return tmp_path


async def tuning_ready(pilot) -> None:
    from workbench.tui.screens.tuning import TuningScreen

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TuningScreen) and pilot.app.screen.loaded)
    screen = pilot.app.screen
    await chart_drawn(pilot, lambda: screen.chart)
    still(pilot.app)


@pytest.mark.parametrize("size", SIZES)
def test_jobs_screen_tuning_folded(snap_compare, tuning_history, size):
    async def ready(pilot):
        await wait_for(pilot, lambda: pilot.app.records is not None and pilot.app.screen.table.row_count == 2)
        still(pilot.app)

    assert snap_compare(app(), terminal_size=size, run_before=ready)


def test_jobs_screen_tuning_unfolded(snap_compare, tuning_history):
    async def ready(pilot):
        await wait_for(pilot, lambda: pilot.app.records is not None and pilot.app.screen.table.row_count == 2)
        await pilot.press("t")
        await wait_for(pilot, lambda: pilot.app.screen.table.row_count == 7)
        still(pilot.app)

    assert snap_compare(app(), terminal_size=(120, 40), run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_tuning_monitor(snap_compare, tuning_history, size):
    assert snap_compare(app(job="tune-xgb"), terminal_size=size, run_before=tuning_ready)


def test_tuning_composer(snap_compare, tuning_history):
    async def ready(pilot):
        from workbench.tui.screens.tuning_composer import TuningComposerScreen

        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TuningComposerScreen))
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.checked_generation == screen.generation)
        screen.query_one(".range-max").value = "lots"
        await wait_for(pilot, lambda: screen.checked_generation == screen.generation and screen.validation.errors)
        await pilot.pause(0.2)
        still(pilot.app)

    assert snap_compare(app(spec=tuning_history / "tuning.yaml"), terminal_size=(120, 40), run_before=ready)
