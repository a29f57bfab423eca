"""The inner loop in the workbench: a host's tab offers a shell (x), a signal (k, SIGKILL
asks first), release of held training (g), rerun on change (W); a job that builds its
image has a Build tab."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import frozen_clock, wait_for
from tests.tui.fake_jobs import T0, make_job, spec_for
from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.store import job_paths
from workbench.tui.app import WorkbenchApp
from workbench.tui.job_actions import JobActions
from workbench.tui.screens.confirm import ChoiceDialog, ConfirmDialog
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.widgets.build_panel import BuildPanel

BUILD_EVENTS = [
    ev.BuildStarted("team/trainer:dev", "/work/trainer", time=T0 + 0.2),
    ev.BuildOutput(("Step 1/3 : FROM sm-workbench/python:latest", " ---> 482e0c8e4816",
                    "Step 2/3 : RUN pip install --no-index /wheels/*", " ---> Using cache", " ---> 1a2b3c4d5e6f",
                    "Step 3/3 : COPY train.py /opt/program/train.py", " ---> 6f5e4d3c2b1a",
                    "Successfully built 6f5e4d3c2b1a", "Successfully tagged team/trainer:dev"), time=T0 + 0.6),
    ev.BuildFinished("team/trainer:dev", "sha256:6f5e4d3c2b1a", 2, 1, 0.84, time=T0 + 0.7),
]


def app(**kwargs) -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=0.2, **kwargs)


def requests(name: str) -> list[tuple[str, dict]]:
    return control.take_requests(job_paths(name))


async def test_signal_a_host_from_its_tab_with_a_confirm_for_sigkill():
    make_job("signal-me", start=T0, hosts=2, running=True)
    wb = app(job="signal-me")
    async with wb.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and "algo-2" in wb.screen.hosts)
        monitor = wb.screen
        monitor.query_one("#monitor-tabs").active = "tab-host-algo-2"
        await pilot.pause(0.1)
        assert monitor.current_host == "algo-2"
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(wb.screen, ChoiceDialog), what="the signal choice")
        await pilot.press("1")
        await wait_for(pilot, lambda: (job_paths("signal-me").control).exists() and any(
            p.name.startswith("signal.") for p in job_paths("signal-me").control.iterdir()), what="the request")
        assert [(a, d["host"], d["signal"]) for a, d in requests("signal-me")] == [("signal", "algo-2", "SIGUSR1")]

        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(wb.screen, ChoiceDialog))
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog), what="the SIGKILL confirmation")
        assert wb.screen.title_text == "SIGKILL algo-2?"
        await pilot.press("n")
        await wait_for(pilot, lambda: wb.screen is monitor)
        assert requests("signal-me") == []
        await pilot.press("k", "k")
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: any(p.name.startswith("signal.") for p in job_paths("signal-me").control.iterdir()))
        assert [(a, d["host"], d["signal"]) for a, d in requests("signal-me")] == [("signal", "algo-2", "SIGKILL")]


async def test_release_and_shell_keys_act_on_the_tabs_host():
    held = [ev.TrainingHeld(h, ("/usr/bin/python3", "train.py"), time=T0 + 1.2) for h in ("algo-1", "algo-2")]
    spec = spec_for("held-job", 2, Workbench={"StopGracePeriodSeconds": 5, "PauseBeforeTrain": True})
    make_job("held-job", start=T0, hosts=2, running=True, extra_events=held, spec=spec)
    make_job("ended-job", start=T0 - 100)
    wb = app(job="held-job")
    seen = []
    async with wb.run_test(size=(120, 30), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and "algo-2" in wb.screen.hosts)
        monitor = wb.screen
        await wait_for(pilot, lambda: monitor.check_action("release", ()) is True, what="release offered")
        await pilot.press("g")
        await wait_for(pilot, lambda: (job_paths("held-job").control / "release").exists(), what="the release")
        monitor.query_one("#monitor-tabs").active = "tab-host-algo-2"
        await pilot.pause(0.1)
        await pilot.press("x")
        await wait_for(pilot, lambda: any(isinstance(m, JobActions.Shell) for m in seen))
        shell = next(m for m in seen if isinstance(m, JobActions.Shell))
        assert (shell.name, shell.host) == ("held-job", "algo-2")
        # No container runs here: the app says so instead of suspending.
        await wait_for(pilot, lambda: any("no running training container" in str(n.message)
                                          for n in wb._notifications), what="the error")
    wb = app(job="ended-job")
    async with wb.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.replayed)
        for action in ("shell", "signal", "release"):
            assert wb.screen.check_action(action, ()) is False  # hidden: the job has ended


async def test_watch_toggles_on_the_jobs_spec_file(tmp_path):
    spec_file = tmp_path / "job.yaml"
    spec_file.write_text("AlgorithmSpecification: {TrainingImage: sm-workbench/shell:latest}\n")
    root = make_job("watched-job", start=T0)
    paths = job_paths("watched-job")
    events = paths.events.read_text().replace('"source": ""', f'"source": "{spec_file}"', 1)
    paths.events.write_text(events)
    wb = app(job="watched-job")
    async with wb.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.source == str(spec_file))
        await pilot.press("W")
        await wait_for(pilot, lambda: wb.job_actions.watching("watched-job"), what="the watch")
        watch = wb.job_actions.watches["watched-job"]
        assert watch["spec"].name == "watched-job-w2" and watch["watcher"].files == [spec_file.resolve()]
        await pilot.press("W")
        await wait_for(pilot, lambda: not wb.job_actions.watching("watched-job"), what="the watch stopped")
        assert not watch["watcher"].thread.is_alive()
    assert Path(root).exists()


async def test_a_job_that_builds_its_image_has_a_build_tab():
    make_job("built-job", start=T0, extra_events=BUILD_EVENTS)
    wb = app(job="built-job")
    async with wb.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.replayed)
        await wait_for(pilot, lambda: wb.screen.query("#build"))
        panel = wb.screen.query_one("#build", BuildPanel)
        assert panel.lines == 9 and panel.finished.cached == 1
