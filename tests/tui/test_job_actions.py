"""Job actions are messages a screen posts; the app carries them out in one place
(workbench.tui.job_actions), whichever screen asked."""

from pathlib import Path

import pytest

from tests.tui.conftest import frozen_clock, wait_for
from tests.tui.fake_jobs import T0, make_job
from workbench.tui.app import WorkbenchApp
from workbench.tui.job_actions import JobActions
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen


def app() -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=0.2)


async def test_a_stop_posted_by_a_screen_reaches_the_app_and_asks_first():
    root = make_job("posted-job", start=T0, running=True)
    make_job("ended-job", start=T0 - 60)
    wb = app()
    seen = []
    async with wb.run_test(size=(120, 20), message_hook=seen.append) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2)
        screen.post_message(JobActions.Stop("ended-job", screen.table.records["ended-job"]))
        await wait_for(pilot, lambda: any("nothing to stop" in str(n.message) for n in wb._notifications),
                       what="the warning")
        assert wb.screen is screen
        screen.post_message(JobActions.Stop("posted-job"))
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog), what="the confirmation")
        assert wb.screen.title_text == "Stop posted-job?" and "grace period (5 s)" in wb.screen.message
        await pilot.press("y")
        await wait_for(pilot, lambda: (Path(root) / "control" / "stop").exists(), what="the stop request")
        assert any(isinstance(m, JobActions.Stop) and m.name == "posted-job" for m in seen)


async def test_keys_on_two_screens_post_the_same_actions():
    make_job("shared-job", start=T0)
    wb = app()
    seen = []
    async with wb.run_test(size=(120, 30), message_hook=seen.append) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen), what="the monitor")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen), what="the job's spec")
        assert wb.screen.draft.get("HyperParameters.epochs") == "3" and wb.screen.draft.path is None
        wb.screen.dismiss()
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen))
        await pilot.press("escape", "n")
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen), what="a new spec")
        posted = {id(m): m for m in seen if isinstance(m, JobActions.Action)}  # seen by the screen, then the app
        kinds = [type(m) for m in posted.values()]
        assert kinds == [JobActions.Open, JobActions.OpenSpec, JobActions.NewSpec]
        assert isinstance(wb.screen_stack[-2], JobsScreen)


def test_an_action_without_a_handler_says_so():
    class Unhandled(JobActions.Action):
        pass

    with pytest.raises(TypeError, match="Unhandled"):
        JobActions(WorkbenchApp()).carry_out(Unhandled())
