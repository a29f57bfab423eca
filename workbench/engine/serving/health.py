"""GET /ping with the health check's rules, and why a container is not healthy.

The developer guide (your-algorithms-inference-code): the container "must accept socket
connection requests within 250 ms", "the request timeout on /ping attempts is 2 seconds",
and "if the container does not begin to pass health checks, by consistently responding
with 200s, during the 4 minutes after startup, new instance launch will fail" (a
variant's ContainerStartupHealthCheckTimeoutInSeconds changes the 4 minutes, 60-3600).

So until the window closes a refused connection or a 503 is only "not yet"; what is
reported when it closes is the last thing seen, made precise: the container exited (its
exit code and last lines), nothing listens on 8080 (or it listens elsewhere, or on
127.0.0.1 only, which nothing outside the container reaches), /ping answered but never
200, or /ping took longer than 2 s.
"""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass
from typing import Callable

from workbench.errors import WorkbenchError

SERVE_PORT = 8080
PING_TIMEOUT = 2.0  # "The request timeout on /ping attempts is 2 seconds"
ACCEPT_TIMEOUT = 0.25  # "must accept socket connection requests within 250 ms"
POLL_FIRST, POLL_MAX = 0.05, 0.5  # between attempts while the container starts


@dataclass(frozen=True)
class PingResult:
    status: int | None  # None: no HTTP answer
    latency_ms: float | None
    error: str = ""  # why there was no answer
    slow: bool = False  # no answer within PING_TIMEOUT

    @property
    def healthy(self) -> bool:
        return self.status == 200

    def describe(self) -> str:
        if self.status is not None:
            return f"GET /ping answered {self.status} in {self.latency_ms:.0f} ms"
        return self.error


class Unhealthy(WorkbenchError):
    """The container did not become healthy; `rule` names the lint finding it is (or "")."""

    def __init__(self, message: str, rule: str = "", fix: str = "") -> None:
        super().__init__(message)
        self.rule = rule
        self.fix = fix


def http_get(host: str, port: int, path: str, timeout: float) -> tuple[int, bytes, float]:
    """(status, body, milliseconds) of a GET; raises OSError / http.client errors."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return response.status, body, (time.perf_counter() - started) * 1000
    finally:
        connection.close()


def ping(host: str, port: int, timeout: float = PING_TIMEOUT) -> PingResult:
    try:
        status, _, took = http_get(host, port, "/ping", timeout)
    except (socket.timeout, TimeoutError):
        return PingResult(None, None, f"GET /ping got no answer within {timeout:g} s (the health check's timeout)",
                          slow=True)
    except (ConnectionError, http.client.HTTPException, OSError) as err:
        return PingResult(None, None, f"nothing answered on port {SERVE_PORT} ({_connection_error(err)})")
    return PingResult(status, took)


def _connection_error(err: BaseException) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return "the connection was closed without an answer"
    return str(err) or type(err).__name__


def wait_until_healthy(host: str, port: int, timeout: float, *, exited: Callable[[], str | None],
                       listening: Callable[[], list[tuple[str, int]] | None],
                       cancelled: Callable[[], bool] = lambda: False,
                       seen: Callable[[PingResult], None] = lambda result: None) -> tuple[PingResult, float]:
    """Ping until a 200, for at most `timeout` seconds from now; returns (the answer, the
    seconds it took). Raises Unhealthy saying why not: `exited()` says (in words) that the
    container has exited, None while it runs; `listening()` lists (address, port) it listens
    on, None when that cannot be known; `seen` hears each attempt."""
    started = time.monotonic()
    pause = POLL_FIRST
    last: PingResult | None = None
    while True:
        why = exited()
        if why is not None:
            raise Unhealthy(why, "serve-exits", "run `docker run --rm -p 8080:8080 IMAGE serve` and read what it "
                                                "prints; `serve` must keep running and serve port 8080")
        last = ping(host, port)
        seen(last)
        if last.healthy:
            return last, time.monotonic() - started
        if cancelled():
            raise Unhealthy("stopped while waiting for GET /ping")
        if time.monotonic() - started >= timeout:
            raise _not_healthy(last, timeout, listening())
        time.sleep(pause)
        pause = min(POLL_MAX, pause * 2)


def _not_healthy(last: PingResult, timeout: float, listening: list[tuple[str, int]] | None) -> Unhealthy:
    window = f"within {timeout:g} s of starting"
    if last.status is not None:
        return Unhealthy(f"GET /ping answered {last.status}, never 200, {window}; SageMaker needs 200 for a healthy "
                         "container", "ping-not-200", "answer GET /ping with 200 (an empty body will do) once the "
                                                      "model is loaded")
    if last.slow:
        return Unhealthy(f"GET /ping took longer than {PING_TIMEOUT:g} s (the health check's timeout) {window}",
                         "slow-ping", "answer /ping at once: load the model before the server starts, or in the "
                                      "background, and keep /ping free of heavy work")
    return Unhealthy(f"{listening_words(listening)} {window}", "not-listening",
                     "serve HTTP on 0.0.0.0:8080 (all interfaces), e.g. `HTTPServer((\"0.0.0.0\", 8080), ...)`, "
                     "or the port in SAGEMAKER_BIND_TO_PORT when it is set")


def listening_words(listening: list[tuple[str, int]] | None) -> str:
    """Why nothing answered, from what the container listens on."""
    if listening is None:
        return f"nothing answered on port {SERVE_PORT}"
    on_port = [address for address, port in listening if port == SERVE_PORT]
    if on_port and all(address.startswith("127.") or address == "::1" for address in on_port):
        return (f"the container listens on {on_port[0]}:{SERVE_PORT} only, which nothing outside it reaches "
                "(SageMaker neither)")
    others = sorted({port for _, port in listening if port != SERVE_PORT})
    if not on_port and others:
        return f"nothing listens on port {SERVE_PORT}; the container listens on {', '.join(map(str, others))}"
    return f"nothing listens on port {SERVE_PORT} in the container"


def parse_proc_net(text: str) -> list[tuple[str, int]]:
    """(address, port) of the listening sockets in /proc/net/tcp or tcp6 text."""
    found = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4 or parts[3] != "0A":  # 0A: LISTEN
            continue
        address, _, port = parts[1].partition(":")
        try:
            found.append((_address(address), int(port, 16)))
        except ValueError:
            continue
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i:i + 2], 16)) for i in (6, 4, 2, 0))
    if hex_address == "0" * 32:
        return "::"
    if hex_address == "00000000000000000000000001000000":
        return "::1"
    if hex_address.startswith("0000000000000000FFFF0000"):  # IPv4-mapped
        return _address(hex_address[24:])
    return "::" + hex_address[-4:].lower()
