"""bench/serve: what `invoke` adds to a request to a local endpoint.

One endpoint (the test inference image, tests/images/inference, serving y = a*x + b) served
by a worker process (as `serve --detach` and the workbench run it), then
in one run, interleaved in rounds so that the machine's load falls on every client alike:

- `api.invoke` (what `sm-workbench invoke` and the workbench's request panel call): it
  reads the endpoint's record, checks InvokeEndpoint's limits, posts on a new connection
  (as every InvokeEndpoint call reaches the container on its own), and appends the
  request to the endpoint's event log;
- the baseline: a plain `http.client` POST straight at the container's published port, a
  new connection each time too;
- a plain client on one kept-alive connection (what the container can do at best);
- optionally the `sm-workbench invoke` command (a process per request).

Requests per second and p50/p99 latency of each, and the ratios to the baseline. Goal:
the workbench adds little (a p50 within 1 ms of the plain client's).

    .venv/bin/python bench/serve.py [--requests 2000] [--rounds 10] [--cli 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BODY = b"1\n2\n3\n"
CONTENT_TYPE = "text/csv"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def plain_new_connection(port: int) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", "/invocations", body=BODY, headers={"Content-Type": CONTENT_TYPE})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    return (time.perf_counter() - started) * 1000


class KeptAlive:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def __call__(self) -> float:
        started = time.perf_counter()
        self.connection.request("POST", "/invocations", body=BODY, headers={"Content-Type": CONTENT_TYPE})
        response = self.connection.getresponse()
        response.read()
        assert response.status == 200
        return (time.perf_counter() - started) * 1000


def through_api(name: str) -> float:
    from workbench.engine import api

    started = time.perf_counter()
    result = api.invoke(name, BODY, content_type=CONTENT_TYPE)
    assert result.status == 200
    return (time.perf_counter() - started) * 1000  # the caller's view: the API call as a whole


def through_cli(name: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "sm-workbench"), "invoke", name, "--body", "-",
                           "--content-type", CONTENT_TYPE], input=BODY, capture_output=True)
    assert done.returncode == 0, done.stderr
    return (time.perf_counter() - started) * 1000


def summary(label: str, times: list[float], wall: float, baseline: tuple[float, float, float] | None) -> tuple:
    rate = len(times) / wall
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    line = f"{label:<38} {rate:9,.0f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"
    if baseline:
        base_rate, base_p50, base_p99 = baseline
        line += (f"   ({rate / base_rate:.2f}x the rate, p50 {p50 - base_p50:+.2f} ms, "
                 f"p99 {p99 - base_p99:+.2f} ms)")
    print(line)
    return rate, p50, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per client (default 2000)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--cli", type=int, default=30, help="requests through the CLI (0: none)")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="smw-bench-serve-")
    os.environ["SM_WORKBENCH_HOME"] = home
    from workbench.engine import api
    from workbench.images import SAMPLE_IMAGES, TEST_IMAGES, build_all

    build_all([SAMPLE_IMAGES, TEST_IMAGES], log=lambda line: None)
    folder = Path(home) / "model"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({"a": 2.0, "b": 1.0}))
    model = api.serving_model(str(folder), image="smw-test/inference:latest")
    endpoint = api.serve(model, name="bench-serve", detach=True)  # its own process, as `serve --detach` runs it
    try:
        deadline = time.monotonic() + 120
        while api.describe_job(endpoint.name)["EndpointStatus"] != "InService":
            if time.monotonic() > deadline or api.describe_job(endpoint.name)["EndpointStatus"] == "Failed":
                print("the endpoint did not come up:", api.describe_job(endpoint.name).get("FailureReason"))
                return 1
            time.sleep(0.1)
        port = api.describe_job(endpoint.name)["Workbench"]["Port"]
        kept = KeptAlive(port)
        clients = {"plain": lambda: plain_new_connection(port), "api": lambda: through_api(endpoint.name),
                   "kept": kept}
        for client in clients.values():  # warm up
            for _ in range(50):
                client()
        times = {key: [] for key in clients}
        walls = {key: 0.0 for key in clients}
        per_round = max(1, args.requests // args.rounds)
        for _ in range(args.rounds):
            for key, client in clients.items():
                started = time.perf_counter()
                times[key] += [client() for _ in range(per_round)]
                walls[key] += time.perf_counter() - started
        cli_times: list[float] = []
        cli_wall = 0.0
        if args.cli:
            started = time.perf_counter()
            cli_times = [through_cli(endpoint.name) for _ in range(args.cli)]
            cli_wall = time.perf_counter() - started
    finally:
        api.stop_job(endpoint.name, timeout=60)

    print(f"{per_round * args.rounds} sequential requests per client ({BODY!r} as {CONTENT_TYPE}), "
          f"{args.rounds} interleaved rounds, on {os.cpu_count()} CPUs")
    baseline = summary("plain http.client, new connection", times["plain"], walls["plain"], None)
    summary("api.invoke (record, limits, event log)", times["api"], walls["api"], baseline)
    summary("plain http.client, kept-alive", times["kept"], walls["kept"], baseline)
    if cli_times:
        summary("sm-workbench invoke (a process each)", cli_times, cli_wall, baseline)
    invoked = sum(1 for e in api.job_events(endpoint.name) if type(e).__name__ == "EndpointInvoked")
    print(f"requests recorded in the endpoint's event log: {invoked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
