"""bench/signals: how precisely the stopping sequence keeps its times.

A job whose container ignores SIGTERM runs with MaxRuntimeInSeconds=2 and a 2 s grace:
SIGTERM should go out within 0.5 s of the deadline and SIGKILL within 0.5 s of the
grace. The baseline is `docker stop -t 2` of the same kind of container, measured in
the same run: how long Docker itself takes past its own grace.

    .venv/bin/python bench/signals.py [--repeat 3]   (needs the test images)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

IMAGE = "smw-test/probe:latest"
RUNTIME, GRACE = 2, 2


def one_job(folder: Path, index: int) -> tuple[float, float, float]:
    from workbench.engine import events as ev
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    spec = {
        "TrainingJobName": f"signals-{index}-{int(time.time())}",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": str(folder / "out")},
        "StoppingCondition": {"MaxRuntimeInSeconds": RUNTIME},
        "Environment": {"PROBE_SLEEP": "60", "PROBE_SIGTERM": "ignore"},
        "Workbench": {"StopGracePeriodSeconds": GRACE},
    }
    seen: list = []
    launch(check_spec(spec), subscribers=[seen.append]).run()
    training = next(e.time for e in seen if isinstance(e, ev.StatusChanged) and e.secondary == "Training")
    term = next(e.time for e in seen if isinstance(e, ev.SignalSent) and e.signal == "SIGTERM")
    kill = next(e.time for e in seen if isinstance(e, ev.SignalSent) and e.signal == "SIGKILL")
    exited = next(e.time for e in seen if isinstance(e, ev.HostExited))
    return term - (training + RUNTIME), kill - (term + GRACE), exited - kill


def docker_stop_overshoot() -> float:
    name = f"smw-bench-stop-{os.getpid()}"
    subprocess.run(["docker", "run", "-d", "--name", name, "-e", "PROBE_SIGTERM=ignore", "-e", "PROBE_SLEEP=60",
                    "-v", f"{tempfile.mkdtemp()}:/opt/ml/input/config", "--entrypoint", "python3", IMAGE, "-c",
                    "import signal,time; signal.signal(signal.SIGTERM, lambda *a: None); time.sleep(60)"],
                   check=True, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    started = time.perf_counter()
    subprocess.run(["docker", "stop", "-t", str(GRACE), name], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    subprocess.run(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return elapsed - GRACE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smw-bench-") as tmp:
        os.environ["SM_WORKBENCH_HOME"] = str(Path(tmp) / "home")
        results = [one_job(Path(tmp), i) for i in range(args.repeat)]
        baseline = [docker_stop_overshoot() for _ in range(args.repeat)]
    term = [r[0] for r in results]
    kill = [r[1] for r in results]
    gone = [r[2] for r in results]
    print(f"bench/signals: {args.repeat} jobs, MaxRuntimeInSeconds={RUNTIME}, grace {GRACE} s, container ignores SIGTERM")
    print(f"  SIGTERM after the deadline: median {statistics.median(term) * 1000:.0f} ms, "
          f"worst {max(term) * 1000:.0f} ms (goal: within 500 ms)")
    print(f"  SIGKILL after the grace:    median {statistics.median(kill) * 1000:.0f} ms, "
          f"worst {max(kill) * 1000:.0f} ms (goal: within 500 ms)")
    print(f"  container gone after SIGKILL: median {statistics.median(gone) * 1000:.0f} ms")
    docker_median = statistics.median(baseline)
    print(f"  baseline `docker stop -t {GRACE}` past its grace: median {docker_median * 1000:.0f} ms | "
          f"ratio (ours/docker) {(statistics.median(kill) + statistics.median(gone)) / max(docker_median, 1e-3):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
