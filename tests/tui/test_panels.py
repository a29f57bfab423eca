"""The monitor's panels, fed events directly: checkpoints, signals, transitions, GPUs, the
header's countdown; and their clear states before any such event exists."""

from textual.app import App, ComposeResult

from tests.tui.conftest import NOW, frozen_clock, screen_text
from workbench.engine import events as ev
from workbench.engine.record import iso
from workbench.tui.widgets.checkpoint_panel import CheckpointPanel
from workbench.tui.widgets.fixed_sparkline import FixedSparkline, bar_for
from workbench.tui.widgets.gpu_panel import GpuPanel
from workbench.tui.widgets.job_header import JobHeader
from workbench.tui.widgets.signal_timeline import SignalTimeline
from workbench.tui.widgets.status_transitions import StatusTransitions


class One(App):
    def __init__(self, widget):
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def test_checkpoint_panel_states_files_and_summary():
    panel = CheckpointPanel()
    async with One(panel).run_test(size=(100, 20)) as pilot:
        panel.configure({})
        await pilot.pause()
        assert "Checkpoints not configured" in screen_text(pilot.app)
        panel.configure({"CheckpointConfig": {"S3Uri": "s3://b/ckpt/"}})
        await pilot.pause()
        assert "No checkpoint activity" in screen_text(pilot.app)
        panel.apply([
            ev.CheckpointsRestored("algo-1", 2, 2048, 0.5, "s3://b/ckpt/"),
            ev.CheckpointFileState("algo-1", "epoch-1.pt", "uploading", 1024),
            ev.CheckpointFileState("algo-1", "epoch-1.pt", "synced", 1024, lag=0.75),
            ev.CheckpointFileState("algo-2", "epoch-1.pt", "retrying", 10, error="SlowDown"),
            ev.CheckpointSummary(files=2, bytes=1034, pending=0, synced=1, retrying=1),
        ])
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "restored 2 files" in text and "1 synced, 0 pending, 1 retrying" in text
        assert "synced" in text and "0.8s" in text and "SlowDown" in text
        assert panel.query_one("DataTable").row_count == 2  # one row per host and file


async def test_signal_timeline_shows_sigterm_exit_and_sigkill_per_host():
    timeline = SignalTimeline()
    async with One(timeline).run_test(size=(100, 20)) as pilot:
        assert "No signals sent" in screen_text(pilot.app)
        timeline.apply([
            ev.SignalSent("algo-1", "SIGTERM", "Stopped", time=100.0),
            ev.SignalSent("algo-2", "SIGTERM", "Stopped", time=100.0),
            ev.HostExited("algo-1", 0, time=101.5),
            ev.SignalSent("algo-2", "SIGKILL", "Stopped", time=110.0),
            ev.HostExited("algo-2", 137, "SIGKILL", time=110.1),
            ev.SignalOutcome("algo-1", "Stopped", 100.0, 101.5, 0, "", False, 10.0, time=101.5),
            ev.SignalOutcome("algo-2", "Stopped", 100.0, 110.1, 137, "SIGKILL", True, 10.0, time=110.1),
        ])
        await pilot.pause()
        text = screen_text(pilot.app)
        for expected in ("SIGTERM", "SIGKILL", "exit 137", "by SIGKILL", "+10.00", "+1.50",
                         "algo-1: exited with 0 1.50s after SIGTERM", "algo-2: did not exit within the 10s grace"):
            assert expected in text, expected


async def test_signal_timeline_shows_a_kill_at_once():
    """`stop --kill`: SIGKILL with no SIGTERM before it is not 'ignored SIGTERM'."""
    timeline = SignalTimeline()
    async with One(timeline).run_test(size=(100, 20)) as pilot:
        timeline.apply([
            ev.SignalSent("algo-1", "SIGKILL", "Stopped", time=100.0),
            ev.HostExited("algo-1", 137, "SIGKILL", time=100.2),
            ev.SignalOutcome("algo-1", "Stopped", 100.0, 100.2, 137, "SIGKILL", True, 10.0, sigkill_time=100.0,
                             time=100.2),
        ])
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "algo-1: killed at once with SIGKILL" in text and "SIGKILL at once, no SIGTERM" in text
        assert "grace" not in text


async def test_status_transitions_fold_like_the_record():
    panel = StatusTransitions(frozen_clock)
    async with One(panel).run_test(size=(100, 20)) as pilot:
        assert "No status recorded yet" in screen_text(pilot.app)
        panel.apply([
            ev.StatusChanged("InProgress", "Starting", "Preparing", time=NOW - 30),
            ev.StatusChanged("InProgress", "Training", "Training", time=NOW - 20),
            ev.Notice("warning", "algo-1 wrote output/a twice"),
            ev.LintFinding("shell-entrypoint", "SIGTERM never reaches your script", "use exec form"),
            ev.OutputsUploaded("s3://b/j/output/model.tar.gz", "", 3, 100, 0.1),
            ev.JobFinished("Stopped", "MaxRuntimeExceeded", time=NOW - 5),
        ])
        await pilot.pause()
        assert [t["Status"] for t in panel.transitions] == ["Starting", "Training", "MaxRuntimeExceeded"]
        text = screen_text(pilot.app)
        assert "MaxRuntimeExceeded" in text and "15s" in text and "wrote output/a twice" in text
        assert "image: SIGTERM never reaches your script (fix: use exec form)" in text
        assert "outputs: s3://b/j/output/model.tar.gz (3 files)" in text


async def test_gpu_panel_no_gpu_then_fixed_scale_sparklines():
    panel = GpuPanel()
    async with One(panel).run_test(size=(80, 20)) as pilot:
        assert "No GPU" in screen_text(pilot.app)
        await panel.apply([ev.GpuSample(0, "Tesla T4", 95.0 + (i % 2), 12_000, 16_000, 60.0, 70.0, ("algo-1",))
                           for i in range(30)])
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "GPU 0 Tesla T4" in text and "No GPU" not in text and "hosts algo-1" in text
        line = panel.query_one(".gpu-utilization", FixedSparkline)
        # 95-96 % draws as nearly full bars, not as the min of a min-max scale
        assert set(line.render_line(0).text.strip()) <= {"█", "▇"}
        assert bar_for(0) == " " and bar_for(100) == "█" and bar_for(50) == "▄" and bar_for(250) == "█"


async def test_gpu_panel_for_a_cloud_job():
    panel = GpuPanel()
    async with One(panel).run_test(size=(80, 10)) as pilot:
        panel.set_unavailable("GPU metrics are not available for SageMaker jobs")
        await panel.apply([ev.GpuSample(0, "A10G", 50.0, 1, 2)])
        await pilot.pause()
        assert "not available for SageMaker jobs" in screen_text(pilot.app)


async def test_header_counts_down_to_the_deadline_the_runner_wrote():
    """The runner owns the MaxRuntime deadline (training time summed over spot attempts);
    the header recomputed it from TrainingStartTime, so after a spot restart the countdown
    and the runner disagreed. Here the first attempt started 10 minutes ago, yet the
    runner's deadline (after an interruption) is 9 minutes away: the header says 9."""
    now = {"t": NOW}
    header = JobHeader(lambda: now["t"])
    record = {"TrainingJobName": "j", "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
              "CreationTime": iso(NOW - 70), "TrainingStartTime": iso(NOW - 600),
              "StoppingCondition": {"MaxRuntimeInSeconds": 600},
              "Workbench": {"MaxRuntimeDeadline": iso(NOW + 540)},
              "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2}}
    async with One(header).run_test(size=(100, 5)) as pilot:
        header.show(record)
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "elapsed 1m10s" in text and "deadline in 9m00s" in text and "2 × ml.m5.large" in text
        now["t"] += 61
        header.redraw()
        await pilot.pause()
        assert "deadline in 7m59s" in screen_text(pilot.app)
        header.show(dict(record, TrainingJobStatus="Stopped", SecondaryStatus="MaxRuntimeExceeded",
                         TrainingEndTime=iso(NOW + 1), FailureReason=""))
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "deadline" not in text and "MaxRuntimeExceeded" in text and "elapsed 1m11s" in text


async def test_gpu_panel_assignments_and_a_gpu_that_cannot_say():
    from types import SimpleNamespace

    def GpuAssigned(host, instance_type, gpus, expected, names=(), reason=""):
        """The engine's event of this name (issue 8); the real class when this engine has it."""
        real = getattr(ev, "GpuAssigned", None)
        if real is not None:
            return real(host, instance_type, gpus, expected, names, reason)
        return SimpleNamespace(kind="GpuAssigned", host=host, instance_type=instance_type, gpus=gpus,
                               expected=expected, names=names, reason=reason)

    panel = GpuPanel()
    async with One(panel).run_test(size=(100, 20)) as pilot:
        await panel.apply([
            GpuAssigned("algo-1", "ml.g5.2xlarge", (0,), 1, ("NVIDIA A10G",)),
            GpuAssigned("algo-2", "ml.g5.2xlarge", (), 1, (), "no GPU: NVIDIA driver not available"),
            ev.GpuSample(0, "NVIDIA A10G", None, 1024, 24_576),
        ])
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "algo-1: GPUs 0 (NVIDIA A10G)" in text
        assert "algo-2: no GPU (ml.g5.2xlarge has 1): no GPU: NVIDIA driver not available" in text
        assert "utilization n/a" in text
