"""bench/staging: staging a File-mode S3 channel, against a one-object-at-a-time boto3 loop.

Data: 1,000 small objects and a few large ones on moto's S3 server (its own process on
127.0.0.1). Measured in one run:

- baseline: list the prefix and `download_file` each object in turn, as the SageMaker
  Python SDK's local mode fetches S3 data (no cache, one object at a time);
- sm-workbench, cold: a File-mode job on a fresh state directory (empty data cache),
  timed over its Downloading phase (listing, fetching into the cache, the host's copy);
- sm-workbench, warm: the same job again (every object found in the cache).

Goal: cold at least 3x faster than the loop, warm near zero next to it.

    .venv/bin/python bench/staging.py [--small 1000] [--small-kib 16] [--large 3] [--large-mib 64] [--repeat 1]
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

IMAGE = "sm-workbench/shell:latest"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto's server did not start")


def fill(client, bucket: str, small: int, small_size: int, large: int, large_size: int) -> int:
    client.create_bucket(Bucket=bucket)
    body = os.urandom(small_size)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"train/small/{i:05d}.rec", Body=body),
                      range(small)))
    from boto3.s3.transfer import TransferConfig

    big = Path(tempfile.mkstemp(prefix="smw-bench-big-")[1])
    try:
        with open(big, "wb") as handle:
            handle.write(os.urandom(large_size))
        for i in range(large):
            client.upload_file(str(big), bucket, f"train/large/{i}.bin", Config=TransferConfig(max_concurrency=4))
    finally:
        big.unlink()
    return small * small_size + large * large_size


def boto3_loop(client, bucket: str, dest: Path) -> float:
    """What SDK local mode does: list, then download_file each object, one after another."""
    started = time.perf_counter()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="train/"):
        for item in page.get("Contents", ()):
            target = dest / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, item["Key"], str(target))
    return time.perf_counter() - started


def list_seconds(bucket: str) -> float:
    """Listing the prefix alone: a part of every run, the baseline's and ours, cold or warm."""
    from workbench.storage import Location, list_objects

    started = time.perf_counter()
    list_objects(Location("s3", bucket, "train/"))
    return time.perf_counter() - started


def staging_seconds(bucket: str, folder: Path) -> float:
    """The Downloading phase of a File-mode job, from its own record."""
    from workbench.engine.api import launch
    from workbench.engine.record import epoch
    from workbench.spec import check_spec

    spec = {
        "TrainingJobName": f"bench-staging-{uuid.uuid4().hex[:8]}",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File", "ContainerEntrypoint": ["true"]},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/train/"}}}],
        "OutputDataConfig": {"S3OutputPath": str(folder / "output")},
    }
    job = launch(check_spec(spec, source="bench.yaml", base_dir=folder))
    record = job.run()
    if record["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"the staging job failed: {record.get('FailureReason')}")
    phase = next(t for t in record["SecondaryStatusTransitions"] if t["Status"] == "Downloading")
    from workbench.engine.api import remove_job

    remove_job(record["TrainingJobName"])  # keep the disk for the cache, not for copies
    return epoch(phase["EndTime"]) - epoch(phase["StartTime"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--small-kib", type=int, default=16)
    parser.add_argument("--large", type=int, default=3)
    parser.add_argument("--large-mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians are printed")
    args = parser.parse_args()
    import boto3

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    server, endpoint = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        with tempfile.TemporaryDirectory(prefix="smw-bench-staging-") as tmp:
            folder = Path(tmp)
            client = boto3.client("s3", endpoint_url=endpoint)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            total = fill(client, bucket, args.small, args.small_kib * 1024, args.large, args.large_mib * 1024**2)
            loops, colds, warms = [], [], []
            for run in range(args.repeat):  # interleaved, so each sees the same machine load
                loops.append(boto3_loop(client, bucket, folder / f"loop-{run}"))
                os.environ["SM_WORKBENCH_HOME"] = str(folder / f"home-{run}")  # an empty cache
                colds.append(staging_seconds(bucket, folder))
                warms.append(staging_seconds(bucket, folder))
            loop, cold, warm = (statistics.median(v) for v in (loops, colds, warms))
            listing = list_seconds(bucket)
    finally:
        server.terminate()
        server.wait(timeout=10)
    count = args.small + args.large
    print(f"bench/staging: {count} objects ({args.small} x {args.small_kib} KiB + {args.large} x {args.large_mib} MiB, "
          f"{total / 1e6:.0f} MB) from moto's S3 server, median of {args.repeat}")
    print(f"  boto3 loop, one object at a time (baseline): {loop:7.2f} s")
    print(f"  sm-workbench, cold cache                   : {cold:7.2f} s  -> {loop / cold:5.1f}x faster (goal: 3x)")
    print(f"  sm-workbench, warm cache                   : {warm:7.2f} s  -> {warm / loop:5.1%} of the loop's time "
          f"(no GET; the host's own copy from the cache)")
    print(f"  listing the prefix, part of each of the above: {listing:.2f} s")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
