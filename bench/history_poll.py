"""bench/history_poll: what an idle workbench costs with a long job history.

1,000 finished jobs (records written by the engine's own store). Measured in one run:
one history poll (`api.job_history()`, what the TUI does every second) re-reading only
changed records, against the baseline of parsing every describe.json on every poll (what
the history did before); then the idle TUI on its jobs screen for 10 s, CPU used by the
whole process, with each reader.

    .venv/bin/python bench/history_poll.py [--jobs 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_history(count: int) -> None:
    from workbench.engine import events as ev
    from workbench.engine.record import new_record
    from workbench.engine.store import JobRecorder, create_job_dir
    from workbench.paths import jobs_dir

    start = time.time() - 86400
    for index in range(count):
        name = f"bench-job-{index:05d}"
        spec = {"TrainingJobName": name, "AlgorithmSpecification": {"TrainingImage": "sm-workbench/shell:latest"},
                "HyperParameters": {f"h{i}": str(i) for i in range(10)},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 30},
                "StoppingCondition": {"MaxRuntimeInSeconds": 600}, "Workbench": {"StopGracePeriodSeconds": 5}}
        paths = create_job_dir(name)
        recorder = JobRecorder(paths, new_record(spec, f"arn:aws:sagemaker:us-east-1:0:training-job/{name}",
                                                 start + index))
        t = start + index
        for status in ("Starting", "Downloading", "Training"):
            recorder(ev.StatusChanged("InProgress", status, status, time=t))
        for host in ("algo-1", "algo-2"):
            recorder(ev.HostStarted(host, "0" * 64, "homogeneousCluster", "ml.m5.large", time=t + 1))
            recorder(ev.HostExited(host, 0, time=t + 30))
        recorder(ev.JobFinished("Completed", "Completed", "", "file:///tmp/model.tar.gz", time=t + 31))
        recorder.close()
    past = time.time() - 3600
    for folder in jobs_dir().iterdir():
        os.utime(folder / "describe.json", (past, past))


class _Baseline:
    """Parse every record on every read, as the history did before."""

    def read(self):
        from workbench.engine.store import JobHistory

        return JobHistory().read()


def poll_seconds(repeat: int) -> list[float]:
    from workbench.engine import api

    api.job_history()  # cold read (and the leftover check) out of the way
    times = []
    for _ in range(repeat):
        started = time.process_time()
        api.job_history()
        times.append(time.process_time() - started)
    return times


async def idle_tui(seconds: float) -> float:
    """Per cent of one core the idle TUI uses on its jobs screen."""
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp()
    async with app.run_test(size=(160, 50)) as pilot:
        deadline = time.monotonic() + 60
        while app.records is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await pilot.pause(2.0)  # the first rows drawn
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        return 100 * (time.process_time() - cpu) / (time.monotonic() - wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smw-bench-") as tmp:
        os.environ["SM_WORKBENCH_HOME"] = tmp
        from workbench.engine import store

        make_history(args.jobs)
        cached = poll_seconds(args.repeat)
        tui_cached = asyncio.run(idle_tui(args.seconds))
        reader = store._history
        store._history = _Baseline()  # type: ignore[assignment]
        try:
            baseline = poll_seconds(args.repeat)
            tui_baseline = asyncio.run(idle_tui(args.seconds))
        finally:
            store._history = reader
    ours, theirs = statistics.median(cached), statistics.median(baseline)
    print(f"bench/history_poll: {args.jobs} finished jobs, median CPU of {args.repeat} polls")
    print(f"  one poll  : re-read changed only {ours * 1000:.1f} ms | parse every record {theirs * 1000:.1f} ms | "
          f"{theirs / ours:.1f}x less")
    print(f"  idle TUI  : {tui_cached:.1f}% of a core | parsing every record each second {tui_baseline:.1f}% "
          f"(over {args.seconds:g} s on the jobs screen)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
