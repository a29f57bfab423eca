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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from workbench.engine.events import LogLines

FLUSH_INTERVAL = 0.05
MAX_PENDING_LINES = 50_000
# Docker's own cut (a longer line arrives as 16 KiB "partial" messages): one part, one line.
MAX_LINE_BYTES = 16 * 1024
SPLIT_MARK = f" ↩ (line split at {MAX_LINE_BYTES // 1024} KiB)"

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


def iso_micro(epoch: float) -> str:
    """The time as the host logs store it (microseconds)."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def follow_container(container, host: str, pump: LogPump, after: LogBoundary | None = None) -> bool:
    """Read a container's whole output (lines past `after`) until it exits; blocking.

    False when the stream broke off instead of ending (the engine went away)."""
    kwargs = {"stream": True, "timestamps": True, "stdout": True, "stderr": True}
    splitter, read = LineSplitter(), MessagesRead()

    def take(chunk: bytes) -> None:
        read.note(chunk)
        lines = splitter.feed(chunk)
        if after and lines:
            lines = after.new(lines)
        if lines:
            pump.add(host, lines)

    ended = True
    try:
        for chunk in container.logs(follow=True, since=int(after.time) if after else None, **kwargs):
            take(chunk)
    except Exception:
        ended = False
    if ended:
        # Docker may close a follow stream just before the container's last messages (a
        # last line without a newline was lost about one run in three): read once more,
        # without following, past the messages already read.
        try:
            for chunk in container.logs(follow=False, since=read.since, **kwargs):
                if not read.seen(chunk):
                    take(chunk)
        except Exception:
            pass
    lines = splitter.finish()
    if after and lines:
        lines = after.new(lines)
    if lines:
        pump.add(host, lines)
    pump.flush(host)
    return ended


class MessagesRead:
    """Where a reader is in docker's messages: the last one's time, to the nanosecond as
    docker sends it, and how many messages carried that time, so that a second read from
    that second on can skip exactly what the first one read."""

    def __init__(self) -> None:
        self.last: tuple[bytes, int] = (b"", -1)
        self.count = 0
        self._skipped = 0

    @property
    def since(self) -> int | None:
        if not self.last[0]:
            return None
        return int(parse_docker_timestamp(self.last[0].decode("ascii", errors="replace") + "Z"))

    def note(self, chunk: bytes) -> None:
        key = _message_time(chunk)
        if key is None:
            return
        if key == self.last:
            self.count += 1
        elif key > self.last:
            self.last, self.count = key, 1

    def seen(self, chunk: bytes) -> bool:
        """Read already (call in order, on a second read from `since`)."""
        key = _message_time(chunk)
        if key is None or key > self.last:
            return False
        if key < self.last:
            return True
        self._skipped += 1
        return self._skipped <= self.count


def _message_time(chunk: bytes) -> tuple[bytes, int] | None:
    """(`2026-11-21T23:49:05`, nanoseconds) of a message `2026-11-21T23:49:05.12345Z text`:
    docker trims trailing zeros of the fraction, so the text does not compare."""
    space = chunk.find(b" ", 0, 40)
    if space < 20 or chunk[space - 1:space] != b"Z" or chunk[10:11] != b"T":
        return None
    fraction = chunk[20:space - 1] if chunk[19:20] == b"." else b""
    try:
        return chunk[:19], int(fraction.ljust(9, b"0")[:9] or b"0")
    except ValueError:
        return None


class LineSplitter:
    """Docker's timestamped output, chunk by chunk, to (time, text) lines of at most
    MAX_LINE_BYTES (plus SPLIT_MARK on the parts of a longer line).

    Docker sends each message in a chunk of its own, prefixed by its time, and cuts a
    line longer than 16 KiB into "partial" messages (each with that prefix again). The
    prefixes are dropped and the parts joined, but a line is never held whole: it goes
    out in pieces as it arrives, so reading stays linear and memory bounded however
    long a line the container prints without a newline.
    """

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self._line = bytearray()
        self._time: float | None = None  # of the line's first part

    def feed(self, chunk: bytes) -> list[tuple[float, str]]:
        moment, body = _stamp(chunk)
        out: list[tuple[float, str]] = []
        start = 0
        while (end := body.find(b"\n", start)) >= 0:
            self._add(moment, body[start:end], out)
            out.append(self._take(len(self._line), ""))
            start = end + 1
        if start < len(body):
            self._add(moment, body[start:], out)
        return out

    def finish(self) -> list[tuple[float, str]]:
        """The last line, when the output did not end with a newline."""
        return [self._take(len(self._line), "")] if self._line else []

    def _add(self, moment: float, data: bytes, out: list[tuple[float, str]]) -> None:
        if self._time is None:
            self._time = moment
        self._line += data
        while len(self._line) > self.limit:
            out.append(self._take(_char_boundary(self._line, self.limit), SPLIT_MARK))
            self._time = moment

    def _take(self, size: int, mark: str) -> tuple[float, str]:
        text = self._line[:size].decode("utf-8", errors="replace")
        text = text + mark if mark else text.rstrip("\r")
        del self._line[:size]  # O(1) for a bytearray's head
        moment, self._time = self._time, None
        return (time.time() if moment is None else moment), text


def _char_boundary(data: bytearray, size: int) -> int:
    """`size`, moved back so a UTF-8 character is not cut in two."""
    for cut in range(size, max(0, size - 3), -1):
        if data[cut] & 0xC0 != 0x80:
            return cut
    return size


def _stamp(chunk: bytes) -> tuple[float, bytes]:
    """(time, the rest) for a chunk `2026-11-21T23:49:05.123456789Z text...`."""
    space = chunk.find(b" ", 0, 40)
    if space >= 20 and chunk[space - 1:space] == b"Z" and chunk[4:5] == b"-" and chunk[10:11] == b"T":
        return parse_docker_timestamp(chunk[:space].decode("ascii", errors="replace")), chunk[space + 1:]
    return time.time(), chunk


@dataclass
class LogBoundary:
    """Where a new follower picks up a host's log: the last stored line's time, as stored
    (to the microsecond), and how many lines were stored at that time.

    Docker's times have nanoseconds: compared with the stored time, the last line would
    look new and show twice. Docker sends the lines again in the order they were stored,
    so the first `stored` lines at the stored microsecond are skipped and the rest kept:
    none repeated, none lost.
    """

    time: float
    stamp: str  # the stored form, e.g. 2026-11-21T23:49:05.123457Z
    stored: int

    def new(self, lines: list[tuple[float, str]]) -> list[tuple[float, str]]:
        """The lines not stored yet (call with every line, in order)."""
        if lines[0][0] > self.time + 0.001:
            return lines
        kept = []
        for moment, text in lines:
            if moment < self.time - 0.001:
                continue
            stamp = iso_micro(moment) if moment <= self.time + 0.001 else "~"
            if stamp < self.stamp:
                continue
            if stamp == self.stamp and self.stored > 0:
                self.stored -= 1
                continue
            kept.append((moment, text))
        return kept
