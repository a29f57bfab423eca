"""Container output to LogLines events, in batches.

One reader thread per host turns docker's timestamped stream into lines; one pump per
job flushes every host's pending lines as a single event per host every 50 ms, so a
host printing tens of thousands of lines a second costs a few events, not thousands.
A bounded buffer makes a flooding reader wait instead of growing memory.
"""

from __future__ import annotations

import threading
import time
from calendar import timegm
from typing import Callable

from workbench.engine.events import LogLines

FLUSH_INTERVAL = 0.05
MAX_PENDING_LINES = 50_000

_second_cache: dict[str, float] = {}


def parse_docker_timestamp(stamp: str) -> float:
    """`2026-11-21T23:49:05.123456789Z` -> epoch seconds (fast: the second part is cached)."""
    second = stamp[:19]
    base = _second_cache.get(second)
    if base is None:
        try:
            base = float(timegm(time.strptime(second, "%Y-%m-%dT%H:%M:%S")))
        except ValueError:
            return time.time()
        if len(_second_cache) > 4096:
            _second_cache.clear()
        _second_cache[second] = base
    fraction = stamp[20:-1] if len(stamp) > 20 and stamp[19] == "." else ""
    return base + (float("0." + fraction[:9]) if fraction else 0.0)


class LogPump:
    def __init__(self, emit: Callable[[LogLines], None]) -> None:
        self._emit = emit
        self._pending: dict[str, list[tuple[float, str]]] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-pump", daemon=True)
        self._thread.start()

    def add(self, host: str, lines: list[tuple[float, str]]) -> None:
        with self._cond:
            while not self._closed and sum(len(v) for v in self._pending.values()) > MAX_PENDING_LINES:
                self._cond.wait(0.1)
            self._pending.setdefault(host, []).extend(lines)

    def flush(self, host: str | None = None) -> None:
        with self._cond:
            if host is None:
                pending, self._pending = self._pending, {}
            else:
                pending = {host: self._pending.pop(host, [])}
            self._cond.notify_all()
        for name, lines in pending.items():
            if lines:
                self._emit(LogLines(name, tuple(lines)))

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_INTERVAL)
            self.flush()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=1)
        self.flush()


def follow_container(container, host: str, pump: LogPump, after: float | None = None) -> bool:
    """Read a container's whole output (lines later than `after`) until it exits; blocking.

    False when the stream broke off instead of ending (the engine went away)."""
    kwargs = {"stream": True, "follow": True, "timestamps": True, "stdout": True, "stderr": True}
    if after:
        kwargs["since"] = int(after)
    try:
        stream = container.logs(**kwargs)
    except Exception:
        return False
    remainder = b""
    ended = True
    try:
        for chunk in stream:
            data = remainder + chunk
            parts = data.split(b"\n")
            remainder = parts.pop()
            if parts:
                lines = [_split(part) for part in parts]
                if after:
                    lines = [line for line in lines if line[0] > after]
                if lines:
                    pump.add(host, lines)
    except Exception:
        ended = False
    if remainder and (not after or _split(remainder)[0] > after):
        pump.add(host, [_split(remainder)])
    pump.flush(host)
    return ended


def _split(raw: bytes) -> tuple[float, str]:
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    stamp, sep, rest = text.partition(" ")
    if sep and stamp.endswith("Z") and len(stamp) >= 20:
        return parse_docker_timestamp(stamp), rest
    return time.time(), text
