"""The monitor of a finished job: replayed from its event log, every panel as it was live."""

import json

from textual.widgets import TabbedContent

from tests.tui.conftest import frozen_clock, screen_text, wait_for
from tests.tui.fake_jobs import T0, make_job, spec_for
from workbench.engine import events as ev
from workbench.engine.store import existing_job
from workbench.fileio import read_json, write_json_atomic
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.screens.rerun_dialog import RerunDialog
from workbench.tui.widgets.checkpoint_panel import CheckpointPanel
from workbench.tui.widgets.host_log import HostLog


def monitor_app(job: str) -> WorkbenchApp:
    return WorkbenchApp(job=job, clock=frozen_clock, poll_seconds=0.2)


async def open_monitor(pilot, job: str) -> MonitorScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen.replayed, what="the replay to finish")
    await pilot.pause()
    return screen


async def show_tab(pilot, screen, pane_id: str) -> str:
    screen.query_one("#monitor-tabs", TabbedContent).active = pane_id
    await pilot.pause(0.2)
    return screen_text(pilot.app)


async def test_a_finished_job_replays_logs_per_host_and_merged():
    make_job("two-hosts", hosts=2, lines=6)
    app = monitor_app("two-hosts")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "two-hosts")
        assert screen.hosts == ["algo-1", "algo-2"]
        tabs = [str(t.label) for t in screen.query_one("#monitor-tabs", TabbedContent).query("ContentTab")]
        assert tabs == ["All hosts", "algo-1", "algo-2", "Files", "Checkpoints", "Signals", "Status", "GPU", "Metrics"]
        merged = screen.query_one("#log-all", HostLog).view.lines
        assert len(merged) == 12 and merged[:2] == ["algo-1: epoch 1/6 loss=0.9", "algo-2: epoch 1/6 loss=0.9"]
        assert screen.query_one("#log-algo-2", HostLog).view.lines[-1] == "algo-2: epoch 6/6 loss=0.4"
        text = screen_text(app)
        assert "two-hosts" in text and "Completed / Completed" in text and "elapsed 8.0s" in text
        status = await show_tab(pilot, screen, "tab-status")
        for expected in ("Starting", "Downloading", "Training", "Uploading", "Completed"):
            assert expected in status
        signals = await show_tab(pilot, screen, "tab-signals")
        assert "No signals sent: every host exited by itself" in signals and "exit 0" in signals
        assert "Checkpoints not configured" in await show_tab(pilot, screen, "tab-checkpoints")
        assert "No GPU" in await show_tab(pilot, screen, "tab-gpu")


async def test_a_stopped_job_shows_its_signal_timeline():
    make_job("stopped-job", stopped=True)
    app = monitor_app("stopped-job")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "stopped-job")
        text = await show_tab(pilot, screen, "tab-signals")
        assert "SIGTERM" in text and "sent (Stopped)" in text and "exit 143" in text
        assert "algo-1: exited with 143 0.79s after SIGTERM" in text
        assert "Stopped / Stopped" in text


async def test_files_tree_and_json_preview():
    make_job("with-files", files={"output/data/metrics.json": '{"loss": 0.1, "steps": [1, 2]}'})
    app = monitor_app("with-files")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "with-files")
        await show_tab(pilot, screen, "tab-files")
        from workbench.tui.widgets.file_preview import FilePreview
        from workbench.tui.widgets.opt_ml_browser import OptMlTree

        await wait_for(pilot, lambda: screen.query(OptMlTree))
        tree = screen.query_one(OptMlTree)
        await wait_for(pilot, lambda: "/opt/ml (algo-1)" in screen_text(app) and "output" in screen_text(app))
        root = existing_job("with-files").opt_ml("algo-1")
        screen.query_one(FilePreview).show(root, root / "output" / "data" / "metrics.json")
        await wait_for(pilot, lambda: "JSON" in screen_text(app))
        text = screen_text(app)
        assert '"loss": 0.1,' in text and '"steps": [' in text  # pretty-printed
        assert tree.root.data.path == root


def test_the_preview_never_follows_what_the_container_planted(tmp_path):
    """Hardening: the Files tab previewed `model/key` through a `model -> /etc`-style
    link the container made (showing this machine's file), and a FIFO planted in the
    place of a file hung the preview's worker in open(). The preview reads through the
    engine: no link is followed, nothing blocks."""
    import os

    from workbench.tui.widgets.file_preview import preview_text

    secret = tmp_path / "host-secret"
    secret.mkdir()
    (secret / "key").write_text("HOST SECRET")
    tree = tmp_path / "opt_ml"
    (tree / "output").mkdir(parents=True)
    (tree / "model").symlink_to(secret)  # the container swapped model/ for a link
    (tree / "output" / "link").symlink_to(secret / "key")
    os.mkfifo(tree / "output" / "failure")
    (tree / "output" / "ok.txt").write_text("fine")
    assert "HOST SECRET" not in preview_text(tree, "model/key")[1]
    assert "symbolic link" in preview_text(tree, "output/link")[1]
    assert "FIFO" in preview_text(tree, "output/failure")[1]  # returns: no open() of the FIFO
    assert preview_text(tree, "output/ok.txt")[1] == "fine"

    from workbench.tui.widgets.opt_ml_browser import OptMlTree

    from types import SimpleNamespace

    worker = SimpleNamespace(is_cancelled=False)
    assert not OptMlTree._safe_is_dir(tree / "model")  # shown, never expanded
    browser = OptMlTree.__new__(OptMlTree)  # the listing rule alone, no app
    browser.tree_root = tree
    assert list(browser._directory_content((tree / "model").resolve(), worker)) == []  # resolved out: not listed
    assert sorted(p.name for p in browser._directory_content(tree / "output", worker)) == ["failure", "link", "ok.txt"]


async def test_checkpoint_and_gpu_panels_from_the_event_log():
    extra = [
        ev.CheckpointsRestored("algo-1", 1, 100, 0.2, "s3://b/ckpt/", time=T0 + 1),
        ev.CheckpointFileState("algo-1", "model.pt", "synced", 4096, lag=1.25, time=T0 + 3),
        ev.CheckpointSummary(1, 4096, 0, synced=1, time=T0 + 3),
        *[ev.GpuSample(0, "NVIDIA A10G", 90.0, 20_000, 24_000, time=T0 + 2 + i) for i in range(5)],
        ev.Notice("warning", "algo-1 and algo-2 both wrote output/model.pt", time=T0 + 4),
    ]
    spec = spec_for("ckpt-gpu", CheckpointConfig={"S3Uri": "s3://b/ckpt/"})
    make_job("ckpt-gpu", spec=spec, extra_events=extra)
    app = monitor_app("ckpt-gpu")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "ckpt-gpu")
        text = await show_tab(pilot, screen, "tab-checkpoints")
        assert "model.pt" in text and "1.2s" in text and "restored 1 files" in text
        text = await show_tab(pilot, screen, "tab-gpu")
        assert "GPU 0 NVIDIA A10G: 90%" in text and "19.5/23.4 GiB" in text
        assert "both wrote output/model.pt" in await show_tab(pilot, screen, "tab-status")


async def test_a_log_storm_replays_bounded_with_a_note():
    root = make_job("storm", lines=1)
    with open(root / "logs" / "algo-1.log", "a") as handle:
        for i in range(30_000):
            handle.write(f"2026-01-01T00:00:05.000000Z flood line {i}\n")
    app = monitor_app("storm")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "storm")
        view = screen.query_one("#log-algo-1", HostLog).view
        assert view.line_count <= 11_000
        assert view.lines[-1] == "flood line 29999"
        assert any("lines skipped here under load" in line and "sm-workbench logs storm --host algo-1" in line
                   for line in view.lines)


async def test_a_sagemaker_job_has_no_local_files_or_gpus(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # no SageMaker here: asking it fails at once
    root = make_job("cloud-job")
    record = read_json(root / "describe.json")
    record["Workbench"]["Kind"] = "sagemaker"
    write_json_atomic(root / "describe.json", record)
    app = monitor_app("cloud-job")
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.record.get("Workbench", {}).get("Kind") == "sagemaker")
        assert "not available for SageMaker jobs" in await show_tab(pilot, screen, "tab-files")
        assert "not available for SageMaker jobs" in await show_tab(pilot, screen, "tab-gpu")
        assert "sagemaker" in screen_text(app)


async def test_rerun_problems_stay_in_the_dialog_and_edit_first_opens_the_composer():
    make_job("to-rerun")
    app = monitor_app("to-rerun")
    async with app.run_test(size=(120, 30)) as pilot:
        await open_monitor(pilot, "to-rerun")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RerunDialog))
        dialog = app.screen
        dialog.query_one("#rerun-overrides").load_text("NoSuchField=1\n")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "has no field 'NoSuchField'" in screen_text(app), what="the inline error")
        assert isinstance(app.screen, RerunDialog)
        dialog.query_one("#rerun-overrides").load_text("HyperParameters.epochs=9\n")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen), what="the composer")
        draft = app.screen.draft
        assert draft.get("HyperParameters.epochs") == "9" and "TrainingJobName" not in draft.data
        assert draft.path is None


def set_source(root, source) -> None:
    """The job's JobCreated event names `source` as the spec it came from."""
    lines = (root / "events.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["source"] = str(source)
    (root / "events.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")


async def test_open_spec_from_the_monitor(tmp_path):
    """The user's own spec file, still holding what the job ran with, opens as itself;
    once edited since, the spec the job ran with opens instead, unnamed and unbound."""
    import yaml

    source = tmp_path / "job.yaml"
    ran = spec_for("from-file")
    ran.pop("TrainingJobName")
    source.write_text(yaml.safe_dump(ran))
    set_source(make_job("from-file"), source)
    app = monitor_app("from-file")
    async with app.run_test(size=(120, 30)) as pilot:
        await open_monitor(pilot, "from-file")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        assert app.screen.draft.path == source.resolve()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen))
        source.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\n")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        draft = app.screen.draft
        assert draft.path is None and draft.get("AlgorithmSpecification.TrainingImage") == "sm-workbench/shell:latest"


async def test_e_on_a_rerun_opens_the_spec_it_ran_with_not_its_parents():
    """Tour: rerun a job with `--set HyperParameters.epochs=9`, open the rerun's monitor,
    press e: the composer showed the parent's spec file from the state directory (its
    name, epochs 3); ctrl+r then failed on the name clash and ctrl+s would have
    overwritten the parent's record."""
    parent = make_job("parent-job")
    child = make_job("child-job", start=T0 + 60, spec=spec_for("child-job", HyperParameters={"epochs": "9"}))
    set_source(child, parent / "spec.yaml")
    app = monitor_app("child-job")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "child-job")
        assert screen.source == str(parent / "spec.yaml")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        draft = app.screen.draft
        assert draft.path is None  # a new draft: saving asks for a file
        assert "TrainingJobName" not in draft.data and draft.get("HyperParameters.epochs") == "9"


async def test_tab_keys_follow_the_tabs_on_screen():
    """Tour: ] from All hosts went to Files, and the host tabs came after GPU: [ and ]
    followed the panes' order in the DOM, not the tab bar's."""
    make_job("three-hosts", hosts=3)
    app = monitor_app("three-hosts")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "three-hosts")
        tabs = screen.query_one("#monitor-tabs", TabbedContent)
        seen = [tabs.active]
        for _ in range(8):
            await pilot.press("right_square_bracket")
            await pilot.pause()
            seen.append(tabs.active)
        assert seen == ["tab-all", "tab-host-algo-1", "tab-host-algo-2", "tab-host-algo-3", "tab-files",
                        "tab-checkpoints", "tab-signals", "tab-status", "tab-gpu"]
        await pilot.press("right_square_bracket", "left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert tabs.active == "tab-status"


async def test_escape_clears_the_log_filter_before_leaving():
    """Tour: in the monitor, / epoch 3 enter, then escape: the monitor closed with the
    filter still set. Escape clears the filter first (as on the jobs screen)."""
    make_job("filtered", lines=6)
    app = monitor_app("filtered")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "filtered")
        log = screen.query_one("#log-all", HostLog)
        await pilot.press("slash", *"epoch 3", "enter")
        await pilot.pause()
        assert log.view.filter_text == "epoch 3" and log.view.lines == ["algo-1: epoch 3/6 loss=0.7"]
        assert screen.focused is log.view
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and log.view.filter_text == "" and len(log.view.lines) == 6
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, MonitorScreen), what="the monitor to close")


async def test_a_rerun_from_the_monitor_replaces_it():
    """Tour: every rerun from a monitor pushed another monitor on top; after three reruns
    escape took four presses to get home. The new job's monitor takes the old one's place."""
    from workbench.tui.screens.jobs import JobsScreen

    make_job("first-run")
    make_job("second-run", start=T0 + 60)
    app = monitor_app("first-run")
    async with app.run_test(size=(120, 30)) as pilot:
        await open_monitor(pilot, "first-run")
        depth = len(app.screen_stack)
        app.job_launched("second-run")  # what the rerun dialog's ctrl+r ends with
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.job == "second-run")
        assert len(app.screen_stack) == depth
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), what="home in one step")
        await wait_for(pilot, lambda: app.screen.table.selected_name == "second-run", what="the cursor on the new job")


async def test_stop_and_interrupt_are_dimmed_once_the_job_has_ended():
    """Tour: the monitor of a finished job offered s Stop and i Interrupt in the footer;
    pressing them only said there was nothing to stop."""
    make_job("ended")
    app = monitor_app("ended")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "ended")
        await wait_for(pilot, lambda: screen.record.get("TrainingJobStatus") == "Completed")
        keys = screen.active_bindings
        assert not keys["s"].enabled and not keys["i"].enabled
        assert keys["r"].enabled and keys["e"].enabled


# --- the rest of the training contract: synced output folders, retries -----------------


def synced_job(name: str) -> None:
    extra = [
        ev.CheckpointFileState("algo-1", "events.out.tfevents.1", "synced", 2048, lag=0.5, sync="tensorboard",
                               time=T0 + 3),
        ev.CheckpointFileState("algo-1", "train/events.out.tfevents.2", "retrying", 512, error="S3 does not answer",
                               attempts=2, sync="tensorboard", time=T0 + 3.5),
        ev.CheckpointSummary(2, 2560, 1, 1.0, synced=1, retrying=1, sync="tensorboard", time=T0 + 4),
        ev.AttemptStarted(2, "InternalServerError", failure="InternalServerError: the engine went away",
                          time=T0 + 4.5),
    ]
    spec = spec_for(name, TensorBoardOutputConfig={"S3OutputPath": "s3://b/tb"})
    make_job(name, spec=spec, extra_events=extra)


async def test_tensorboard_output_has_a_tab_of_its_own_beside_checkpoints():
    synced_job("tb-job")
    app = monitor_app("tb-job")
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_monitor(pilot, "tb-job")
        await wait_for(pilot, lambda: bool(screen.query("#synced-tensorboard")), what="the TensorBoard tab")
        tabs = [str(t.label) for t in screen.query_one("#monitor-tabs", TabbedContent).query("ContentTab")]
        assert tabs.index("TensorBoard") == tabs.index("Checkpoints") + 1
        panel = screen.query_one("#synced-tensorboard", CheckpointPanel)
        assert panel.config == {"S3Uri": "s3://b/tb/tb-job/tensorboard-output", "LocalPath": "/opt/ml/output/tensorboard"}
        assert panel.files["algo-1", "train/events.out.tfevents.2"].state == "retrying"
        assert panel.summary is not None and panel.summary.retrying == 1
        assert screen.query_one("#checkpoints", CheckpointPanel).files == {}  # not the checkpoints' table
        assert "attempt 2" in await show_tab(pilot, screen, "tab-signals")  # the retry, in the timeline
