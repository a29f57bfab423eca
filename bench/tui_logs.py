"""bench/tui_logs: how much of a log flood the job monitor takes in, and how fast it still
answers keys, against the same flood written to a file.

One host prints RATE lines a second for SECONDS seconds (a Python loop in the
sm-workbench/python image). Baseline: the same container with its output sent to a file
(`docker run ... > file`), lines per second as the file receives them. Measured: the same
flood as a job (detached worker, as the TUI runs jobs) watched by the real monitor screen
(headless Textual app, the same code as on a terminal): lines per second the monitor
ingests, while a key (`t`, toggle timestamps) is pressed every 100 ms and the delay from
the press to its action running is recorded. Also printed: lines kept on screen (bounded)
and the process's peak memory.

    .venv/bin/python bench/tui_logs.py [--rate 20000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

IMAGE = "sm-workbench/python:latest"
FLOOD = """
import sys, time
rate, seconds = {rate}, {seconds}
chunk = max(1, rate // 100)
total = rate * seconds
pad = "x" * 60
start = time.monotonic()
n = 0
while n < total:
    sys.stdout.write("".join("flood %d %s\\n" % (n + i, pad) for i in range(chunk)))
    sys.stdout.flush()
    n += chunk
    delay = start + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print("flood done", flush=True)
"""


def flood_program(rate: int, seconds: int) -> str:
    return FLOOD.format(rate=rate, seconds=seconds)


def write_program(program: str, folder: Path) -> Path:
    code = folder / "code"
    code.mkdir(exist_ok=True)
    (code / "flood.py").write_text(program)
    return code


def baseline(code: Path, folder: Path) -> tuple[int, float]:
    """The flood copied into a file as it arrives: (lines, seconds from its first line to its last)."""
    target = folder / "flood.txt"
    process = subprocess.Popen(["docker", "run", "--rm", "-v", f"{code}:/code:ro", "--entrypoint", "python3",
                                IMAGE, "/code/flood.py"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = last = None
    lines = 0
    with open(target, "wb") as handle:
        while True:
            chunk = process.stdout.read1(65536)
            if not chunk:
                break
            last = time.perf_counter()
            first = first or last
            lines += chunk.count(b"\n")
            handle.write(chunk)
    process.wait()
    return lines, (last or 0) - (first or 0)


async def monitor(code: Path, folder: Path, total: int) -> dict:
    from workbench.engine import api
    from workbench.spec import check_spec
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.monitor import MonitorScreen
    from workbench.tui.widgets.host_log import HostLog

    spec = check_spec({
        "TrainingJobName": f"flood-{int(time.time())}",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/flood.py"]},
        "InputDataConfig": [{"ChannelName": "code", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": str(code) + "/"}}}],
        "OutputDataConfig": {"S3OutputPath": str(folder / "output")},
        "Workbench": {"StopGracePeriodSeconds": 5},
    }, source="", base_dir=folder)

    presses: list[float] = []
    original = HostLog.action_toggle_timestamps

    def timed_toggle(self) -> None:
        presses.append(time.perf_counter())
        original(self)

    HostLog.action_toggle_timestamps = timed_toggle
    job = api.launch(spec, detach=True)
    on_disk: dict[str, float | int] = {"lines": 0}
    watcher = threading.Thread(target=count_log_lines, args=(job.paths.log("algo-1"), total + 1, on_disk),
                               daemon=True)
    watcher.start()
    app = WorkbenchApp(job=job.name)
    delays: list[float] = []
    first = last = None
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, MonitorScreen):
            await pilot.pause(0.05)
        screen = app.screen
        view = screen.query_one("#log-all", HostLog).view
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            seen = screen.lines_seen
            if seen and first is None:
                first = time.perf_counter()
            if seen >= total + 1 or screen.replayed:
                last = time.perf_counter()
                break
            if first is not None:
                before = len(presses)
                pressed = time.perf_counter()
                await pilot.press("t")
                while len(presses) == before and time.perf_counter() - pressed < 10:
                    await asyncio.sleep(0.001)
                if len(presses) > before:
                    delays.append(presses[-1] - pressed)
            await asyncio.sleep(0.1)
        kept = view.line_count
        ingested = screen.lines_seen
    HostLog.action_toggle_timestamps = original
    api.wait_for_job(job.name, timeout=120)
    watcher.join(timeout=10)
    return {"ingested": ingested, "seconds": (last or time.perf_counter()) - (first or time.perf_counter()),
            "delays": delays, "kept": kept, "name": job.name, "engine_lines": on_disk["lines"],
            "engine_seconds": on_disk.get("last", 0) - on_disk.get("first", 0)}


def count_log_lines(path: Path, total: int, out: dict) -> None:
    """How fast the job's worker writes the host's log (what any viewer can read)."""
    deadline = time.monotonic() + 300
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    with open(path, "rb") as handle:
        while out["lines"] < total and time.monotonic() < deadline:
            chunk = handle.read(1 << 20)
            if not chunk:
                time.sleep(0.01)
                continue
            now = time.perf_counter()
            out.setdefault("first", now)
            out["last"] = now
            out["lines"] += chunk.count(b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20_000, help="lines per second (default 20000)")
    parser.add_argument("--seconds", type=int, default=10, help="how long the host floods (default 10)")
    args = parser.parse_args()
    program = flood_program(args.rate, args.seconds)
    total = args.rate * args.seconds
    with tempfile.TemporaryDirectory(prefix="smw-bench-tui-") as tmp:
        folder = Path(tmp)
        os.environ["SM_WORKBENCH_HOME"] = str(folder / "home")
        from workbench.images import SAMPLE_IMAGES, build_all

        build_all([SAMPLE_IMAGES], log=lambda line: None)
        code = write_program(program, folder)
        file_lines, file_seconds = baseline(code, folder)
        result = asyncio.run(monitor(code, folder, total))
    file_rate = file_lines / file_seconds
    rate = result["ingested"] / max(result["seconds"], 1e-9)
    delays = sorted(result["delays"]) or [float("nan")]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench/tui_logs: one host printing {args.rate:,} lines/s for {args.seconds} s ({total:,} lines)")
    print(f"  file    : {file_lines:,} lines in {file_seconds:.2f} s = {file_rate:,.0f} lines/s "
          "(docker run's output copied to a file, first line to last)")
    engine_rate = result["engine_lines"] / max(result["engine_seconds"], 1e-9)
    print(f"  engine  : {result['engine_lines']:,} lines in {result['engine_seconds']:.2f} s = {engine_rate:,.0f} "
          "lines/s into the job's log file (the worker process; what any viewer can read)")
    print(f"  monitor : {result['ingested']:,} lines in {result['seconds']:.2f} s = {rate:,.0f} lines/s "
          f"| ratio {rate / file_rate:.2f}x the file")
    print(f"  keys    : {len(result['delays'])} presses during the flood; delay worst {delays[-1] * 1000:.0f} ms, "
          f"median {statistics.median(delays) * 1000:.0f} ms")
    print(f"  bounded : {result['kept']:,} lines kept on screen (the rest in `sm-workbench logs`), "
          f"peak memory of this process {peak_mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
