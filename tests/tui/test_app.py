"""What the whole app offers: help on ?, the command palette in context, themes switched
and remembered, NO_COLOR, a user key map, and layouts from 80x24 up."""

from textual.command import CommandPalette
from textual.widgets import Input

from tests.tui.conftest import frozen_clock, screen_text, wait_for
from tests.tui.fake_jobs import T0, make_job
from workbench.tui.app import WorkbenchApp
from workbench.tui.config import TuiConfig
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen


def app(**kwargs) -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=0.3, **kwargs)


async def palette(pilot, text: str) -> None:
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), what="the palette")
    await pilot.press(*text)
    await wait_for(pilot, lambda: pilot.app.screen.query_one("CommandList").option_count > 0, what="hits")
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause()


async def test_help_lists_the_keys_of_what_has_focus():
    make_job("some-job")
    wb = app(job="some-job")
    async with wb.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(wb.screen, HelpScreen))
        keys = {(k.key, k.description) for k in wb.screen.keys}
        for expected in (("f", "Follow"), ("w", "Wrap"), ("t", "Times"), ("s", "Stop"), ("i", "Interrupt"),
                         ("r", "Rerun"), ("e", "Spec")):
            assert expected in keys, expected
        assert "Job monitor" in screen_text(wb)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(wb.screen, MonitorScreen)


async def test_palette_commands_follow_the_screen():
    make_job("live-job", running=True)
    make_job("old-job", start=T0 - 100)
    wb = app()
    async with wb.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: wb.records)
        await palette(pilot, "old-j")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.job == "old-job")
        await pilot.press("escape")
        await palette(pilot, "live-j")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.job == "live-job")
        await wait_for(pilot, lambda: wb.screen.record.get("TrainingJobName"))
        await palette(pilot, "stop th")
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog), what="the stop confirmation")
        await pilot.press("n")
        await pilot.press("escape")
        await palette(pilot, "new spec")
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen))
        commands = [title for title, _, _ in wb.screen.palette_commands()]
        assert "Run this spec" in commands and "Save" in commands


async def test_theme_switch_from_the_palette_is_remembered():
    wb = app()
    async with wb.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen))
        assert wb.theme == "workbench-dark"
        assert {"workbench-dark", "workbench-light", "textual-light"} <= set(wb.available_themes)
        await palette(pilot, "bench-light")
        await wait_for(pilot, lambda: wb.theme == "workbench-light")
        await wait_for(pilot, lambda: TuiConfig.load().theme == "workbench-light", what="the saved choice")
        background = wb.screen.styles.background
        assert background.hex.upper() == "#F6F8FA"
    again = app()
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(again.screen, JobsScreen))
        assert again.theme == "workbench-light"


async def test_no_color_is_respected(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    wb = app()
    async with wb.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert wb.no_color
        assert any(type(f).__name__ in ("Monochrome", "NoColor") for f in wb.get_line_filters())


async def test_a_user_key_map_rebinds_by_binding_id():
    TuiConfig(keymap={"jobs.new": "a"}).save()
    wb = app()
    async with wb.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen))
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen))


async def test_every_screen_works_at_80x24_and_resizes_cleanly(tmp_path):
    make_job("resize-job", hosts=2, lines=40)
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\n")
    wb = app(spec=spec)
    async with wb.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen))
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        text = screen_text(wb)
        assert wb.screen.has_class("-narrow")
        assert "Job name" in text and "^s Save" in text and "valid for local" in text
        await pilot.press("escape")
        await pilot.pause()
        wb.open_job("resize-job")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.replayed)
        await pilot.pause(0.2)
        text = screen_text(wb)
        assert "resize-job" in text and "All hosts" in text and "algo-2: epoch 40/40" in text
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.3)
        assert "algo-2: epoch 40/40" in screen_text(wb) and not wb.screen.has_class("-narrow")
        await pilot.press("escape")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert "resize-job" in screen_text(wb)
        wb.screen.query_one("#jobs-filter", Input)


async def test_opening_the_workbench_writes_no_config_until_a_choice_is_made():
    wb = app()
    async with wb.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen))
        await pilot.pause(0.3)
    assert not TuiConfig.path().exists()
