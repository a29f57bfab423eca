"""bench/checkpoints: live checkpoint sync, measured against a plain boto3 upload loop.

For a burst of files of each size, written as fast as this process can into a watched
checkpoint folder, the sync engine (watcher, quiet period, writer probe, event log and
describe.json written by the real job recorder) uploads them to an S3 server (moto, in
its own process on 127.0.0.1). Reported per size:

- lag: from each file's last write to it being synced (median and p95);
- upload throughput: bytes of the burst / (first upload started -> last file synced),
  next to a plain `boto3 upload_file` loop over the same files to the same server, run
  right after it; and end-to-end (from the burst written: quiet period and watcher
  latency included).

Goal: median lag under 1 s for small files; throughput at least that of the plain loop.

    .venv/bin/python bench/checkpoints.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BURSTS = [(16 * 1024, 32), (1024 * 1024, 16), (8 * 1024 * 1024, 8), (48 * 1024 * 1024, 2)]


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the moto server did not start")


def sync_burst(root: Path, bucket: str, size: int, count: int) -> tuple[list[float], float, float]:
    """Write the burst into a watched folder; (per-file lags, seconds from the burst written to all
    synced, seconds from the first upload started to all synced)."""
    from workbench.engine import events as ev
    from workbench.engine.checkpoints.ledger import Ledger
    from workbench.engine.checkpoints.remote import CheckpointStore
    from workbench.engine.checkpoints.sync import CheckpointSync
    from workbench.engine.checkpoints.writers import WriterProbe
    from workbench.engine.record import new_record
    from workbench.engine.store import JobPaths, JobRecorder

    job = JobPaths(root / "job")
    job.root.mkdir(parents=True)
    bus = ev.EventBus()
    recorder = JobRecorder(job, new_record({"TrainingJobName": "bench"}, "arn", time.time()))
    bus.subscribe(recorder)
    synced: dict[str, float] = {}
    lags: dict[str, float] = {}
    uploading: list[float] = []

    def watch(event: ev.Event) -> None:
        if isinstance(event, ev.CheckpointFileState) and event.state == "synced":
            synced[event.path] = event.time  # when the upload finished: S3 has it from then on
            lags[event.path] = event.lag or 0.0
        elif isinstance(event, ev.CheckpointFileState) and event.state == "uploading":
            uploading.append(event.time)

    bus.subscribe(watch)
    folder = root / "hosts" / "algo-1" / "checkpoints"
    folder.mkdir(parents=True)
    sync = CheckpointSync(CheckpointStore.parse(f"s3://{bucket}/{uuid.uuid4().hex[:8]}"), {"algo-1": folder},
                          {"algo-1": Ledger(root / "ledger.json", {})}, bus.emit,
                          probe=WriterProbe([os.getpid()]))
    sync.start()
    time.sleep(0.5)  # the watcher is up
    payload = os.urandom(size)
    for index in range(count):
        (folder / f"ckpt-{index:04d}.pt").write_bytes(payload)
    written = time.time()
    deadline = time.monotonic() + 300
    while len(synced) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    finished = max(synced.values()) if synced else time.time()
    sync.drain(60)
    recorder.close()
    if len(synced) < count:
        raise SystemExit(f"only {len(synced)} of {count} files synced")
    return list(lags.values()), finished - written, finished - min(uploading)


def plain_loop(folder: Path, bucket: str, endpoint: str) -> float:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    prefix = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    for path in sorted(folder.iterdir()):
        client.upload_file(str(path), bucket, f"{prefix}/{path.name}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (the median is reported)")
    parser.add_argument("--only", type=int, help="only the burst of this index (0-3)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        os.environ.setdefault(name, value)
    server, endpoint = start_server()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        import boto3

        bucket = "bench-checkpoints"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        print(f"S3: moto server at {endpoint} (own process); {os.cpu_count()} CPUs; median of {args.repeat} runs")
        print(f"{'burst':<16} {'lag median':>10} {'lag p95':>9} {'upload MB/s':>11} {'end-to-end':>10} "
              f"{'loop MB/s':>9} {'ratio (min-max)':>16}", flush=True)
        for size, count in [BURSTS[args.only]] if args.only is not None else BURSTS:
            lag_medians, lag_p95s, ends, uploads, loops = [], [], [], [], []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    root = Path(tmp)
                    lags, end_to_end, upload = sync_burst(root, bucket, size, count)
                    lags.sort()
                    lag_medians.append(statistics.median(lags))
                    lag_p95s.append(lags[min(len(lags) - 1, int(round(0.95 * (len(lags) - 1))))])
                    ends.append(end_to_end)
                    uploads.append(upload)
                    loops.append(plain_loop(root / "hosts" / "algo-1" / "checkpoints", bucket, endpoint))
            total = size * count / 1024 / 1024
            ratios = sorted(loop / mine for mine, loop in zip(uploads, loops))  # each pair ran back to back
            print(f"{count:>4} x {human(size):<9} {statistics.median(lag_medians):>8.3f} s "
                  f"{statistics.median(lag_p95s):>7.3f} s {total / statistics.median(uploads):>11.1f} "
                  f"{total / statistics.median(ends):>10.1f} {total / statistics.median(loops):>9.1f} "
                  f"{statistics.median(ratios):>5.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})", flush=True)
        print("lag: a file's last write -> synced. upload MB/s: burst bytes / (first upload started -> last file "
              "synced); end-to-end: from the burst written, so the quiet period and the watcher count too. "
              "loop: boto3 upload_file over the same files, one after another. ratio: upload vs loop, median "
              "(and range) of the per-run ratios, each pair run back to back.")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
