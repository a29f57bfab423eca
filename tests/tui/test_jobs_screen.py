"""The jobs screen: the history newest first, live, filtered; open, stop, interrupt, delete."""

from pathlib import Path

from tests.tui.conftest import frozen_clock, screen_text, wait_for
from tests.tui.fake_jobs import T0, make_job
from workbench.engine import events as ev
from workbench.engine.store import JobRecorder, existing_job, load_record
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen


def app() -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=0.2)


def finish(name: str, status: str = "Completed") -> None:
    paths = existing_job(name)
    recorder = JobRecorder(paths, load_record(paths))
    recorder(ev.JobFinished(status, status, "AlgorithmError: boom" if status == "Failed" else "", time=T0 + 500))
    recorder.close()


async def test_history_newest_first_with_statuses_hosts_and_failure():
    make_job("older-job", start=T0, hosts=2)
    make_job("failed-job", start=T0 + 60, status="Failed", failure="AlgorithmError: exit code 3")
    make_job("newest-job", start=T0 + 120, stopped=True)
    wb = app()
    async with wb.run_test(size=(140, 20)) as pilot:
        screen = wb.screen
        assert isinstance(screen, JobsScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 3, what="three rows")
        assert screen.table.order == ["newest-job", "failed-job", "older-job"]
        text = screen_text(wb)
        assert "sm-workbench · 3 jobs" in text
        row = next(line for line in text.splitlines() if "failed-job" in line)
        for cell in ("Failed", "1", "ml.m5.large", "01-01 00:01", "AlgorithmError: exit code 3"):
            assert cell in row
        assert "2" in next(line for line in text.splitlines() if "older-job" in line)
        status = screen.table.get_cell("failed-job", "status")
        assert str(status.style).lower() == f"bold {wb.theme_variables['error']}".lower()  # the theme's colour


async def test_filter_and_open():
    make_job("alpha-run", start=T0)
    make_job("beta-run", start=T0 + 10, status="Failed", failure="OOM")
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2)
        await pilot.press("slash", *"failed")
        await pilot.pause()
        assert screen.table.order == ["beta-run"]
        assert "1 shown" in str(screen.query_one("#jobs-title").content)
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen), what="the monitor")
        assert wb.screen.job == "beta-run"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(wb.screen, JobsScreen)
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert screen.table.order == ["beta-run", "alpha-run"]


async def test_live_updates_new_jobs_and_a_toast_when_one_finishes():
    make_job("running-job", start=T0, running=True)
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        assert "1 running" in str(screen.query_one("#jobs-title").content)
        make_job("brand-new", start=T0 + 30)
        await wait_for(pilot, lambda: screen.table.order == ["brand-new", "running-job"], what="the new job")
        finish("running-job", "Failed")
        await wait_for(pilot, lambda: "Failed" in str(screen.table.get_cell("running-job", "status")),
                       what="the live status")
        await wait_for(pilot, lambda: any("running-job: Failed" in str(n.message) for n in wb._notifications),
                       what="the completion toast")


async def test_stop_asks_first_then_asks_the_engine():
    root = make_job("long-job", start=T0, running=True)
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(wb.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert not (Path(root) / "control" / "stop").exists()
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: (Path(root) / "control" / "stop").exists(), what="the stop request")
        # a job that is not a spot job cannot be interrupted: the key is dimmed and does nothing
        assert not screen.active_bindings["i"].enabled
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(wb.screen, JobsScreen)
        assert not (Path(root) / "control" / "interrupt").exists()


async def test_delete_a_finished_job_but_not_a_running_one():
    make_job("done-job", start=T0)
    running = make_job("busy-job", start=T0 + 5, running=True)
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2)
        assert not screen.active_bindings["d"].enabled  # busy-job is selected (newest): dimmed
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(wb.screen, JobsScreen) and Path(running).exists()
        await pilot.press("down", "d")
        await pilot.pause()
        assert isinstance(wb.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.table.order == ["busy-job"], what="the row to go")
        assert not (Path(running).parent / "done-job").exists() and Path(running).exists()


async def test_empty_history_says_what_to_do():
    wb = app()
    async with wb.run_test(size=(100, 20)) as pilot:
        empty = wb.screen.query_one("#jobs-empty")
        await wait_for(pilot, lambda: "No jobs yet" in str(empty.content))
        assert "sample_jobs/hello/job.yaml" in str(empty.content) and empty.display


async def test_interrupt_a_spot_job_after_confirming():
    from tests.tui.fake_jobs import spec_for

    root = make_job("spot-job", running=True, spec=spec_for("spot-job", EnableManagedSpotTraining=True))
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog))
        assert "spot interruption" in wb.screen.message
        await pilot.press("y")
        await wait_for(pilot, lambda: (Path(root) / "control" / "interrupt").exists(), what="the interrupt request")


async def test_open_a_spec_file_and_rerun_from_the_table(tmp_path, monkeypatch):
    from textual.widgets import Input

    from workbench.tui.screens.composer import ComposerScreen
    from workbench.tui.screens.file_picker import FilePicker
    from workbench.tui.screens.rerun_dialog import RerunDialog

    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "train.yaml").write_text("AlgorithmSpecification:\n  TrainingImage: img:1\n")
    make_job("finished-job")
    wb = app()
    async with wb.run_test(size=(120, 30)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(wb.screen, FilePicker))
        wb.screen.query_one("#picker-path", Input).value = "specs/nope.txt/x"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "does not exist" in str(wb.screen.query_one("#picker-error").content),
                       what="the picker's inline error")
        wb.screen.query_one("#picker-path", Input).value = "specs/train.yaml"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(wb.screen, ComposerScreen))
        assert wb.screen.draft.path == tmp_path / "specs" / "train.yaml"
        assert wb.screen.draft.get("AlgorithmSpecification.TrainingImage") == "img:1"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(wb.screen, RerunDialog))
        assert "Rerun finished-job" in screen_text(wb)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(wb.screen, JobsScreen)


async def test_a_job_that_vanished_says_so_and_goes_back():
    make_job("soon-gone")
    wb = app()
    async with wb.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: wb.screen.table.row_count == 1)
        wb.open_job("never-existed")
        await wait_for(pilot, lambda: any("No job named 'never-existed'" in str(n.message) for n in wb._notifications))
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen), what="the jobs screen again")


async def test_the_mouse_opens_a_job_and_the_stop_dialog_names_the_grace_period():
    make_job("first-job", start=T0)
    make_job("second-job", start=T0 + 10, running=True)
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog))
        assert "grace period (5 s)" in wb.screen.message  # the job's Workbench.StopGracePeriodSeconds
        await pilot.click("#no")
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen))
        await pilot.click("#jobs-table", offset=(5, 2))  # highlight the second row, then choose it
        await pilot.pause()
        await pilot.click("#jobs-table", offset=(5, 2))
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen), what="the monitor")
        assert wb.screen.job == "first-job"


async def test_a_damaged_record_is_left_out_with_a_warning_naming_it():
    """One describe.json holding `[]` (or a record without TrainingJobName) emptied the
    job list (the poller's worker died on it) and crashed the table."""
    make_job("good-job", start=T0)
    bad = make_job("bad-job", start=T0 + 10)
    (bad / "describe.json").write_text('{"TrainingJobStatus": "Completed"}')
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.order == ["good-job"], what="the good job")
        await wait_for(pilot, lambda: any(str(bad) in str(n.message) for n in wb._notifications),
                       what="a warning naming the folder")
        warning = next(n for n in wb._notifications if str(bad) in str(n.message))
        assert "has no TrainingJobName" in warning.message and "sm-workbench rm bad-job" in warning.message
        make_job("newer-job", start=T0 + 20)  # the list goes on updating
        await wait_for(pilot, lambda: screen.table.order == ["newer-job", "good-job"], what="the new job")
        assert sum(str(bad) in str(n.message) for n in wb._notifications) == 1  # said once, not every second


async def test_keys_that_do_not_apply_to_the_selected_job_are_dimmed():
    """Tour: on a finished job the footer offered s Stop and i Interrupt; they only said
    there was nothing to stop. They are dimmed, and follow the cursor."""
    from tests.tui.fake_jobs import spec_for

    make_job("done-job", start=T0)
    make_job("spot-job", start=T0 + 5, running=True, spec=spec_for("spot-job", EnableManagedSpotTraining=True))
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2)

        def enabled() -> dict[str, bool]:
            keys = screen.active_bindings
            return {key: keys[key].enabled for key in "sidr"}

        await wait_for(pilot, lambda: enabled() == {"s": True, "i": True, "d": False, "r": True})  # spot-job
        await pilot.press("down")
        await wait_for(pilot, lambda: enabled() == {"s": False, "i": False, "d": True, "r": True},
                       what="the keys of done-job")


async def test_instance_groups_read_like_a_single_type():
    """Tour: a job with instance groups showed "train:ml.c5.2xlargex2"; it reads
    "train: 2 × ml.c5.2xlarge" as a single-type job's "2 × ml.c5.2xlarge" does."""
    from tests.tui.fake_jobs import spec_for

    spec = spec_for("grouped")
    spec["ResourceConfig"] = {"InstanceGroups": [
        {"InstanceGroupName": "train", "InstanceType": "ml.c5.2xlarge", "InstanceCount": 2}], "VolumeSizeInGB": 30}
    make_job("grouped", spec=spec, hosts=2)
    wb = app()
    async with wb.run_test(size=(140, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        assert str(screen.table.get_cell("grouped", "instances")) == "train: 2 × ml.c5.2xlarge"
        assert str(screen.table.get_cell("grouped", "hosts")) == "2"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen) and wb.screen.record)
        header = str(wb.screen.query_one("#monitor-header").content)
        assert "train: 2 × ml.c5.2xlarge" in header and "2 × train" not in header


async def test_the_cursor_goes_to_a_job_just_launched():
    """Tour: after running a spec from the composer and going back, the jobs table's
    cursor was still on the row it was on before (an older job)."""
    make_job("old-one", start=T0)
    make_job("older-one", start=T0 - 60)
    wb = app()
    async with wb.run_test(size=(120, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 2)
        await pilot.press("down")
        await pilot.pause()
        assert screen.table.selected_name == "older-one"
        wb.new_spec()
        await wait_for(pilot, lambda: wb.screen is not screen)
        make_job("brand-new", start=T0 + 60)
        wb.job_launched("brand-new")  # what ctrl+r in the composer ends with
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen))
        wb.show_jobs()
        await wait_for(pilot, lambda: wb.screen is screen and screen.table.selected_name == "brand-new",
                       what="the cursor on the new job")


async def test_a_column_widens_when_a_running_jobs_value_outgrows_it():
    """Tour: a running job's row was drawn when its secondary status was "Training"; when
    it ended "MaxRuntimeExceeded" the column (and its header) kept the old width and the
    status was cut to "MaxRuntim"."""
    make_job("long-runner", start=T0, running=True)
    wb = app()
    async with wb.run_test(size=(140, 20)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        paths = existing_job("long-runner")
        recorder = JobRecorder(paths, load_record(paths))
        recorder(ev.JobFinished("Stopped", "MaxRuntimeExceeded", "", time=T0 + 500))
        recorder.close()
        table = screen.table
        await wait_for(pilot, lambda: "MaxRuntimeExceeded" in str(table.get_cell("long-runner", "secondary")))
        column = next(c for c in table.columns.values() if c.key.value == "secondary")
        assert column.get_render_width(table) >= len("MaxRuntimeExceeded") + 2 * table.cell_padding
