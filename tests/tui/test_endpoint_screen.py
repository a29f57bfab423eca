"""The workbench's serving views without containers: endpoints and transform jobs in the jobs
screen, the endpoint's screen and its request panel, and the Serve action of a training job's
monitor (its dialog). Assertions are on state, never on where text wraps."""

from __future__ import annotations

import socket

from textual.widgets import DataTable, Input, TextArea

from tests.tui.conftest import frozen_clock, wait_for
from tests.tui.fake_jobs import T0, make_endpoint, make_job
from workbench.engine import events as ev
from workbench.engine.serving.records import new_transform_record
from workbench.engine.store import JobRecorder, create_job_dir
from workbench.spec import write_spec_file
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.endpoint import EndpointScreen
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.screens.serve_dialog import ServeDialog
from workbench.tui.widgets.request_panel import RequestPanel


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_transform(name: str, start: float = T0 + 300) -> None:
    paths = create_job_dir(name)
    request = {"TransformJobName": name, "ModelName": "train-resnet", "TransformInput": {"DataSource": {
        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:///tmp/in/"}}, "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": "file:///tmp/predictions"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}
    write_spec_file(paths.spec, request)
    recorder = JobRecorder(paths, new_transform_record(request, "arn", {"Image": "smw-test/inference:latest"}, {},
                                                       start))
    recorder(ev.StatusChanged("InProgress", "Transforming", "3 objects", time=start + 1))
    recorder(ev.TransformProgress(3, 3, 30, 3, 100, 90, time=start + 2))
    recorder(ev.JobFinished("Completed", "Completed", time=start + 3))
    recorder.close()


def app(**kwargs) -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=0.3, **kwargs)


async def endpoint_ready(pilot) -> EndpointScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, EndpointScreen) and pilot.app.screen.record
                   and pilot.app.screen.query_one(RequestPanel).history, what="the endpoint's screen")
    return pilot.app.screen


async def test_endpoints_and_transform_jobs_are_listed_with_their_status(tmp_path):
    make_job("train-resnet", start=T0)
    make_endpoint("train-resnet-endpoint", start=T0 + 100)
    make_transform("predict-night")
    async with app().run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, JobsScreen) and pilot.app.screen.table.row_count == 3)
        table = pilot.app.screen.table
        assert table.order == ["predict-night", "train-resnet-endpoint", "train-resnet"]
        assert str(table.get_cell("train-resnet-endpoint", "status")) == "InService"
        assert str(table.get_cell("train-resnet-endpoint", "secondary")) == "Serving"
        assert str(table.get_cell("predict-night", "status")) == "Completed"
        assert str(table.get_cell("predict-night", "name")) == "predict-night · transform"
        table.select("predict-night")
        assert pilot.app.screen.check_action("rerun", ()) is None  # no composer or rerun for serving kinds
        assert pilot.app.screen.check_action("interrupt", ()) is None
        table.select("train-resnet-endpoint")
        await pilot.press("enter")
        screen = await endpoint_ready(pilot)
        assert screen.job == "train-resnet-endpoint"
        await pilot.press("escape")
        table.select("predict-night")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen))  # transform jobs: the monitor


async def test_the_request_panel_shows_the_history_and_past_answers(tmp_path):
    make_endpoint("ep", start=T0 + 100, requests=3)
    async with app(job="ep").run_test(size=(120, 40)) as pilot:
        screen = await endpoint_ready(pilot)
        panel = screen.query_one(RequestPanel)
        assert [e.status for e in panel.history] == [200, 400, 200]
        history = panel.query_one("#history", DataTable)
        assert history.row_count == 3
        history.focus()
        history.move_cursor(row=1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.answer_status.startswith("400"))
        assert panel.query_one("#answer", TextArea).text == "cannot read the text/csv body"
        assert "ModelError" in panel.answer_status
        assert "http://127.0.0.1:49153" in str(screen.query_one("#endpoint-header").content)


async def test_a_request_that_cannot_be_sent_is_said_inline(tmp_path):
    make_endpoint("ep", start=T0 + 100, port=closed_port())
    async with app(job="ep").run_test(size=(120, 40)) as pilot:
        screen = await endpoint_ready(pilot)
        panel = screen.query_one(RequestPanel)
        panel.set_request("1\n2\n", "text/csv", "")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: panel.answer_status.startswith("Nothing answers"), what="the inline error")
        assert panel.query_one("#answer-status").has_class("-error") and not panel.sending
        # the failed request joins the history from the event log, as any request does
        await wait_for(pilot, lambda: len(panel.history) == 4, what="the request in the history")
        assert panel.history[-1].status is None and "Nothing answers" in panel.history[-1].error


async def test_stopping_an_endpoint_asks_first_with_its_own_grace_period(tmp_path):
    make_endpoint("ep", start=T0 + 100)
    async with app(job="ep").run_test(size=(120, 40)) as pilot:
        screen = await endpoint_ready(pilot)
        screen.query_one("#endpoint-tabs").active = "tab-status"  # the body editor keeps printable keys
        screen.focus_next()
        screen.action_stop()
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation")
        assert "(30 s)" in pilot.app.screen.message and "OutOfService" in pilot.app.screen.message
        await pilot.press("n")


def trained(name: str = "train-resnet") -> None:
    make_job(name, start=T0, extra_events=[ev.OutputsUploaded(
        f"file:///tmp/out/{name}/output/model.tar.gz", "", 1, 64, 0.1, time=T0 + 3)])


async def test_a_completed_jobs_monitor_offers_serve(tmp_path):
    trained()
    make_job("broken", start=T0 + 10, status="Failed", failure="AlgorithmError: boom")
    async with app(job="broken").run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen) and pilot.app.screen.record)
        await wait_for(pilot, lambda: pilot.app.screen.record.get("TrainingJobStatus") == "Failed")
        assert pilot.app.screen.check_action("serve", ()) is None  # dimmed: no model to serve
        pilot.app.screen.dismiss()
        await pilot.pause()
        pilot.app.open_job("train-resnet")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen) and
                       pilot.app.screen.record.get("TrainingJobStatus") == "Completed")
        assert pilot.app.screen.check_action("serve", ()) is True
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ServeDialog), what="the serve dialog")
        dialog = pilot.app.screen
        assert dialog.query_one("#serve-image", Input).value == "sm-workbench/shell:latest"  # the training image
        dialog.query_one("#serve-env", TextArea).text = "NO_EQUALS_SIGN"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "write it as NAME=value" in str(dialog.query_one("#serve-error").content))
        dialog.query_one("#serve-env", TextArea).text = "WORKERS=2"
        dialog.query_one("#serve-port", Input).value = "99999"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "is not a port" in str(dialog.query_one("#serve-error").content))
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, MonitorScreen)
