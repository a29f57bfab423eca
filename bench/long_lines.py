"""bench/long_lines: reading a container's output that has no newlines.

One container prints SIZE MB of `a` without a newline (docker keeps it as 16 KiB
partial messages). Measured: the engine's reader (logs.follow_container, the same code
a job uses) turning that output into log lines, with its time, lines and the growth of
this process's peak memory. Baseline: `docker logs --timestamps` of the same container
into /dev/null, in the same run.

    .venv/bin/python bench/long_lines.py [--size 100]
"""

from __future__ import annotations

import argparse
import subprocess
import time

IMAGE = "sm-workbench/shell:latest"


def peak_kib() -> int:
    with open("/proc/self/status") as handle:
        return int(next(line.split()[1] for line in handle if line.startswith("VmHWM:")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100, help="megabytes printed without a newline")
    args = parser.parse_args()

    from workbench.engine.docker_client import connect
    from workbench.engine.logs import MAX_LINE_BYTES, SPLIT_MARK, LogPump, follow_container

    client = connect()
    size = args.size * 1_000_000
    container = client.containers.run(IMAGE, ["sh", "-c", f"head -c {size} /dev/zero | tr '\\0' a"], detach=True)
    try:
        container.wait()
        started = time.perf_counter()
        subprocess.run(["docker", "logs", "--timestamps", container.id], stdout=subprocess.DEVNULL, check=True)
        baseline = time.perf_counter() - started

        counted = {"lines": 0, "chars": 0, "longest": 0}

        def emit(event) -> None:
            for _, text in event.lines:
                counted["lines"] += 1
                counted["chars"] += text.removesuffix(SPLIT_MARK).count("a")
                counted["longest"] = max(counted["longest"], len(text))

        pump = LogPump(emit)
        before = peak_kib()
        started = time.perf_counter()
        follow_container(container, "algo-1", pump)
        pump.close()
        took = time.perf_counter() - started
        grew = (peak_kib() - before) / 1024
    finally:
        container.remove(force=True)
    assert counted["chars"] == size, counted
    print(f"{args.size} MB without a newline: sm-workbench {took:.2f} s, {counted['lines']} lines "
          f"(longest {counted['longest']} characters, limit {MAX_LINE_BYTES} bytes + mark), "
          f"peak memory +{grew:.0f} MiB")
    print(f"baseline `docker logs --timestamps` > /dev/null: {baseline:.2f} s; ratio {took / baseline:.1f}x")


if __name__ == "__main__":
    main()
