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
    """Tour: ? listed widget class names ("HostLog", "LogView") and Textual's generic keys
    (cursor, scrolling) among the app's own. Now the screen's own keys come first, in
    words, each with its binding id for a key map; Textual's after, said in words."""
    make_job("some-job")
    wb = app(job="some-job")
    async with wb.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(wb.screen, HelpScreen))
        help_screen = wb.screen
        keys = {(k.key, k.description, k.id) for k in help_screen.keys}
        for expected in (("f", "Follow", "log.follow"), ("w", "Wrap", "log.wrap"), ("t", "Times", "log.timestamps"),
                         ("s", "Stop", "monitor.stop"), ("r", "Rerun", "monitor.rerun"),
                         ("e", "Spec", "monitor.spec"), ("?", "Help", "app.help")):
            assert expected in keys, expected
        assert all(k.id for k in help_screen.keys)
        assert help_screen.keys[0].id.startswith("monitor.")  # the screen's own first
        assert help_screen.generic and not any(k.id for k in help_screen.generic)
        wheres = {k.where for k in help_screen.generic + help_screen.keys}
        assert not wheres & {"HostLog", "LogView", "MonitorScreen", "WorkbenchApp"}
        assert "scrolling" in wheres or "tabs" in wheres
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(wb.screen, MonitorScreen)


async def test_help_stays_in_the_footer_at_80_columns(tmp_path):
    """Tour at 80x24: the footer listed the focused widget's keys first and cut off the
    app's "? Help" at the right edge, on every screen."""
    from textual.widgets import Footer

    make_job("narrow-job", hosts=2)
    wb = app()
    async with wb.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: wb.records)

        async def help_key_shown() -> None:
            footer = wb.screen.query_one(Footer)

            def shown() -> bool:
                key = next(k for k in footer.query("FooterKey") if k.action in ("help", "app.help"))
                return 0 <= key.region.x and key.region.right <= 80 and key.region.width >= len("? Help")

            await wait_for(pilot, shown, what="the help key within 80 columns")

        await help_key_shown()
        wb.open_job("narrow-job")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.replayed)
        await help_key_shown()
        await pilot.press("escape")
        wb.new_spec()
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen))
        wb.screen.query_one("#sections").focus()
        await help_key_shown()


async def test_the_palette_lists_actions_before_themes():
    """Tour: ctrl+p listed some 25 "Theme: ..." entries before "New spec"."""
    wb = app()
    async with wb.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(wb.screen, CommandPalette), what="the palette")
        commands = wb.screen.query_one("CommandList")
        await wait_for(pilot, lambda: commands.option_count > 20, what="the commands")
        await pilot.pause(0.3)
        titles = [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]
        first_theme = next(i for i, t in enumerate(titles) if "Theme: " in t)
        assert any("New spec" in t for t in titles[:first_theme])
        assert any("Open spec file" in t for t in titles[:first_theme])


async def test_focus_is_visible_in_every_theme_and_tab_skips_containers():
    """Tour: with the focus on a compact input, only a 5 % tint showed where the keys went
    (in the light theme, nothing visible); Tab stopped on the composer's section
    container, which shows no focus at all."""
    from tests.tui.conftest import field

    wb = app(new_spec=True)
    async with wb.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen))
        screen = wb.screen
        for theme in ("workbench-dark", "workbench-light", "workbench-contrast", "textual-dark"):
            wb.theme = theme
            name = field(screen, "TrainingJobName")
            name.input.focus()
            await pilot.pause()
            accent = wb.theme_variables["accent"].lower()
            edge = name.styles.border_left
            assert edge[0] not in ("", "none", "blank", "hidden") and edge[1].hex.lower() == accent, theme
            field(screen, "RoleArn").input.focus()
            await pilot.pause()
            assert name.styles.border_left[0] in ("", "none", "blank", "hidden"), theme
        for section in ("job", "channels", "resources", "workbench", "yaml"):
            screen.show_section(section)
            await pilot.pause()
            for widget in screen.focus_chain:
                assert widget.display and widget.visible, widget
                assert type(widget).__module__ != "textual.containers", widget  # a bare container shows no focus


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
