"""Serve from the workbench on the real engine: a model trained by the python-code sample,
its monitor's Serve (v), the endpoint's screen, a request and its answer, then Stop."""

import pytest

from tests.integration.serving import INFERENCE, serving_leftovers, train_sample
from tests.tui.conftest import wait_for
from workbench.engine import api
from workbench.engine.record import record_status
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.endpoint import EndpointScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.screens.serve_dialog import ServeDialog
from workbench.tui.widgets.request_panel import RequestPanel

pytestmark = [pytest.mark.docker, pytest.mark.slow]


async def test_serve_a_trained_job_and_send_a_request(tmp_path, images, docker_client):
    trained = train_sample(tmp_path)
    job = trained["TrainingJobName"]
    app = WorkbenchApp(poll_seconds=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_job(job)
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.record.get(
            "TrainingJobStatus") == "Completed", timeout=30)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ServeDialog))
        await pilot.press("ctrl+r")  # the training image (the inference image here) and a free port
        await wait_for(pilot, lambda: isinstance(app.screen, EndpointScreen), timeout=60, what="the endpoint screen")
        screen = app.screen
        assert screen.job == f"{job}-endpoint"
        await wait_for(pilot, lambda: record_status(screen.record) == "InService", timeout=120, what="InService")
        assert screen.record["Workbench"]["Model"]["Image"] == INFERENCE

        panel = screen.query_one(RequestPanel)
        panel.set_request("1\n2\n", "text/csv", "text/csv")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: panel.answer_status.startswith("200"), timeout=30, what="the answer")
        assert " ms · text/csv" in panel.answer_status
        assert len(panel.query_one("#answer").text.split()) == 2
        await wait_for(pilot, lambda: len(panel.history) == 1 and panel.history[0].status == 200,
                       what="the request in the history")

        screen.query_one("#endpoint-tabs").active = "tab-log"
        screen.action_stop()
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: record_status(api.describe_job(screen.job)) == "OutOfService", timeout=90,
                       what="OutOfService")
        await pilot.press("escape")
        assert isinstance(app.screen, MonitorScreen)  # the endpoint opened over the job's monitor
    assert serving_leftovers(docker_client, f"{job}-endpoint") == []
