"""bench/pipe: 1 GiB through a Pipe channel into the container, against `cat` into a FIFO.

The same reader (Python, 1 MiB `readinto`, counting bytes) runs in the same image both
times and measures from the moment its `open` returns to EOF:

- sm-workbench: a job whose Pipe channel is a local folder holding one 1 GiB file; the
  engine's feeder writes it into `/opt/ml/input/data/train_0`.
- baseline: `docker run` of the reader on a FIFO in a mounted folder, with `cat` of the
  same file into that FIFO on this machine.

The file is read once first so both start from the page cache. Prints the median
throughput of each over --repeat runs and their ratio. Goal: at least 0.8.

    .venv/bin/python bench/pipe.py [--size-mib 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

IMAGE = "sm-workbench/python:latest"
READER = r'''
import json, os, sys, time
path, out = sys.argv[1], sys.argv[2]
while not os.path.exists(path):
    time.sleep(0.01)
buffer = bytearray(1024 * 1024)
total = 0
with open(path, "rb", buffering=0) as fifo:
    started = time.perf_counter()
    while True:
        got = fifo.readinto(buffer)
        if not got:
            break
        total += got
    seconds = time.perf_counter() - started
with open(out, "w") as handle:
    json.dump({"bytes": total, "seconds": seconds}, handle)
'''


def make_data(folder: Path, size: int) -> Path:
    data = folder / "data"
    data.mkdir()
    path = data / "big.bin"
    block = os.urandom(16 * 1024 * 1024)
    with open(path, "wb") as handle:
        left = size
        while left:
            handle.write(block[:min(left, len(block))])
            left -= min(left, len(block))
    with open(path, "rb") as handle:  # into the page cache
        while handle.read(16 * 1024 * 1024):
            pass
    return path


def baseline(folder: Path, data: Path) -> dict:
    work = folder / f"cat-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    (work / "reader.py").write_text(READER)
    os.mkfifo(work / "fifo", 0o666)
    reader = subprocess.Popen(["docker", "run", "--rm", "-v", f"{work}:/bench", IMAGE, "python3", "/bench/reader.py",
                               "/bench/fifo", "/bench/result.json"], stdout=subprocess.DEVNULL)
    with open(work / "fifo", "wb") as fifo:  # waits for the reader, as a feeder does
        subprocess.run(["cat", str(data)], stdout=fifo, check=True)
    if reader.wait() != 0:
        raise SystemExit("the baseline reader failed")
    return json.loads((work / "result.json").read_text())


def workbench_run(folder: Path, data: Path) -> dict:
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    code = folder / "code"
    code.mkdir(exist_ok=True)
    (code / "reader.py").write_text(READER)
    spec = {
        "TrainingJobName": f"bench-pipe-{uuid.uuid4().hex[:8]}",
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE, "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/reader.py",
                                    "/opt/ml/input/data/train_0", "/opt/ml/output/data/result.json"],
        },
        "InputDataConfig": [
            {"ChannelName": "code", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(code)}}},
            {"ChannelName": "train", "InputMode": "Pipe",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(data.parent)}}},
        ],
        "OutputDataConfig": {"S3OutputPath": str(folder / "output")},
        "Workbench": {"StopGracePeriodSeconds": 5},
    }
    job = launch(check_spec(spec, source="bench.yaml", base_dir=folder))
    record = job.run()
    if record["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"the Pipe job failed: {record.get('FailureReason')}")
    return json.loads((job.paths.opt_ml("algo-1") / "output" / "data" / "result.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="smw-bench-pipe-") as tmp:
        folder = Path(tmp)
        os.environ["SM_WORKBENCH_HOME"] = str(folder / "home")
        data = make_data(folder, size)
        ours, cat = [], []
        for _ in range(args.repeat):  # alternate, so both see the same machine load
            for runner, into in ((workbench_run, ours), (baseline, cat)):
                result = runner(folder, data)
                if result["bytes"] != size:
                    raise SystemExit(f"{runner.__name__} delivered {result['bytes']} of {size} bytes")
                into.append(size / result["seconds"] / 1e6)
    mine, theirs = statistics.median(ours), statistics.median(cat)
    print(f"bench/pipe: {args.size_mib} MiB into the container, read by the same reader, median of {args.repeat}")
    print(f"  sm-workbench Pipe channel : {mine:8.0f} MB/s  (runs: {', '.join(f'{v:.0f}' for v in ours)})")
    print(f"  cat into a FIFO (baseline): {theirs:8.0f} MB/s  (runs: {', '.join(f'{v:.0f}' for v in cat)})")
    print(f"  ratio {mine / theirs:.2f} (goal: at least 0.80)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
