"""The main flows on the real Docker engine: compose a spec from nothing, see an inline
error, fix it, save it, run it, watch its logs arrive, stop it and see the signal
timeline; rerun it with an override from its monitor."""

import asyncio

import pytest
from textual.widgets import Input, TabbedContent

from tests.integration.jobs import leftovers
from tests.tui.conftest import field, screen_text, wait_for
from tests.tui.test_composer import settle, type_into
from workbench.engine import api
from workbench.spec import read_spec_file
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.channel_dialog import ChannelDialog
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.file_picker import FilePicker
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.screens.rerun_dialog import RerunDialog
from workbench.tui.widgets.host_log import HostLog
from workbench.tui.widgets.key_value_editor import KeyValueEditor, KeyValueRow

pytestmark = [pytest.mark.docker, pytest.mark.slow]


async def add_entry(pilot, screen, section: str, path: str, key: str, value: str) -> None:
    screen.show_section(section)
    await pilot.pause()
    editor = next(e for e in screen.query(KeyValueEditor) if e.path == path)
    before = len(editor.query(KeyValueRow))
    await editor.add_row()
    await pilot.press(*key, "tab", *value)
    await settle(pilot)
    assert len(editor.query(KeyValueRow)) == before + 1


async def test_compose_run_watch_stop_and_rerun(images, docker_client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "words.txt").write_text("one two three four\n")
    app = WorkbenchApp(poll_seconds=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)

        # an inline error, then the fix
        await type_into(pilot, screen, "AlgorithmSpecification.TrainingImage", "sm-workbench/shell:latest")
        await type_into(pilot, screen, "StoppingCondition.MaxRuntimeInSeconds", "0")
        runtime = field(screen, "StoppingCondition.MaxRuntimeInSeconds")
        assert runtime.has_class("-error") and "out of range" in str(runtime.query_one(".field-error").content)
        await type_into(pilot, screen, "StoppingCondition.MaxRuntimeInSeconds", "300")
        assert not runtime.has_class("-error")
        await add_entry(pilot, screen, "hyperparameters", "HyperParameters", "epochs", "400")
        await add_entry(pilot, screen, "environment", "Environment", "EPOCH_SECONDS", "0.2")
        await type_into(pilot, screen, "Workbench.StopGracePeriodSeconds", "5")
        screen.show_section("channels", focus=True)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelDialog))
        field(app.screen, "InputDataConfig[0].DataSource.S3DataSource.S3Uri").input.value = "data/"
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        await settle(pilot)
        assert screen.validation.ok, screen.validation.problems

        # save it
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker))
        app.screen.query_one("#picker-path", Input).value = "hello.yaml"
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "hello.yaml").exists() and not screen.draft.dirty)
        saved = read_spec_file(tmp_path / "hello.yaml")
        assert saved["Environment"] == {"EPOCH_SECONDS": "0.2"} and saved["HyperParameters"] == {"epochs": "400"}

        # run it: the monitor opens and the logs arrive
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), timeout=60, what="the monitor")
        monitor = app.screen
        name = monitor.job
        await wait_for(pilot, lambda: any("epoch 3/400" in line for line in
                                          monitor.query_one("#log-all", HostLog).view.lines),
                       timeout=60, what="the job's log lines")
        assert monitor.hosts == ["algo-1"]
        await wait_for(pilot, lambda: "InProgress / Training" in screen_text(app)
                       and "deadline in 4m" in screen_text(app), what="the header's countdown")

        # stop it and see the timeline
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: monitor.record.get("TrainingJobStatus") == "Stopped", timeout=60,
                       what="the job to stop")
        monitor.query_one("#monitor-tabs", TabbedContent).active = "tab-signals"
        await wait_for(pilot, lambda: "SIGTERM" in screen_text(app) and "exit 0" in screen_text(app),
                       what="the signal timeline")
        assert "sent (Stopped)" in screen_text(app)
        assert any("SIGTERM received" in line for line in monitor.query_one("#log-algo-1", HostLog).view.lines)
        await wait_for(pilot, lambda: any(f"{name}: Stopped" in str(n.message) for n in app._notifications),
                       what="the completion toast")
        assert api.describe_job(name)["SecondaryStatus"] == "Stopped"

        # rerun it from its monitor with an override
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RerunDialog))
        app.screen.query_one("#rerun-overrides").load_text("HyperParameters.epochs=2\n")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.job != name,
                       timeout=60, what="the rerun's monitor")
        rerun = app.screen
        # the job itself first (a slow machine says how far it got), then what the monitor shows
        record = await asyncio.to_thread(api.wait_for_job, rerun.job, 180)
        assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
        await wait_for(pilot, lambda: rerun.record.get("TrainingJobStatus") == "Completed", timeout=30,
                       what="the rerun's monitor to show it complete")
        assert any("epoch 2/2" in line for line in rerun.query_one("#log-all", HostLog).view.lines)
    for job in (name, rerun.job):
        assert not leftovers(docker_client, job)
