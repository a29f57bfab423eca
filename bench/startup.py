"""bench/startup: end-to-end wall time of `sm-workbench run` against plain `docker run`.

A trivial job (the shell image running `true`, no data) on 1 host and on 4 hosts, each
measured as a whole command from a fresh process, next to `docker run --rm` of the same
image (and 4 of them at once for the 4-host case), in the same run. Prints medians and
ratios. Goals: the 1-host job within 0.35 s of plain `docker run`; the 4-host job within
1.5x of the 1-host job.

The command runs with Python's bytecode cache on, as an installed sm-workbench has it
(pip compiles it at install): PYTHONDONTWRITEBYTECODE, set on some machines, makes every
start compile the ~150 modules a run imports from source, about 0.33 s here.

    .venv/bin/python bench/startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGE = "sm-workbench/shell:latest"
SM = [sys.executable, "-m", "workbench"]


def timed(command: list[str] | list[list[str]], env: dict | None = None) -> float:
    started = time.perf_counter()
    if command and isinstance(command[0], list):
        processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for c in command]
        codes = [p.wait() for p in processes]
    else:
        codes = [subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env).returncode]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"command failed: {command}")
    return elapsed


def spec_file(folder: Path, hosts: int) -> Path:
    path = folder / f"trivial-{hosts}.yaml"
    path.write_text(
        "AlgorithmSpecification:\n"
        f"  TrainingImage: {IMAGE}\n"
        "  TrainingInputMode: File\n"
        "  ContainerEntrypoint: [\"true\"]\n"
        "OutputDataConfig:\n"
        f"  S3OutputPath: {folder / 'output'}\n"
        "ResourceConfig:\n"
        "  InstanceType: ml.m5.large\n"
        f"  InstanceCount: {hosts}\n"
    )
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smw-bench-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, SM_WORKBENCH_HOME=str(folder / "home"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up writes the cache a user's install has
        one, four = spec_file(folder, 1), spec_file(folder, 4)
        docker_one = ["docker", "run", "--rm", IMAGE, "true"]
        # warm-up: images in the page cache, the holder image imported, the API model cached
        timed(docker_one)
        timed(SM + ["run", str(one), "--name", "warm-up"], env)
        results: dict[str, list[float]] = {k: [] for k in ("docker1", "sm1", "docker4", "sm4")}
        for i in range(args.repeat):
            results["docker1"].append(timed(docker_one))
            results["sm1"].append(timed(SM + ["run", str(one), "--name", f"one-{i}"], env))
            results["docker4"].append(timed([docker_one] * 4))
            results["sm4"].append(timed(SM + ["run", str(four), "--name", f"four-{i}"], env))
    median = {k: statistics.median(v) for k, v in results.items()}
    print(f"bench/startup: median of {args.repeat} runs, {IMAGE} running `true` (bytecode cache on)")
    print(f"  1 host : sm-workbench run {median['sm1']:.3f} s | docker run {median['docker1']:.3f} s | "
          f"ratio {median['sm1'] / median['docker1']:.2f}x | overhead {median['sm1'] - median['docker1']:+.3f} s "
          f"(goal: within 0.35 s)")
    print(f"  4 hosts: sm-workbench run {median['sm4']:.3f} s | 4 x docker run at once {median['docker4']:.3f} s | "
          f"ratio {median['sm4'] / median['docker4']:.2f}x | vs one docker run {median['sm4'] / median['docker1']:.2f}x")
    print(f"  4 hosts vs 1 host: {median['sm4'] / median['sm1']:.2f}x (goal: within 1.5x)")
    print(f"  runs (s): " + "; ".join(f"{k} " + " ".join(f"{v:.2f}" for v in values) for k, values in results.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
