"""Between a job's event stream (a blocking generator in a thread) and the screen.

The follower thread feeds every event in; a flusher drains a `Batch` every 50-100 ms and
posts it as one message. Each host's lines sit in a bounded deque: under a log storm
the oldest undisplayed lines are dropped (and counted, with a note in the log; they stay
in the job's log files), so memory stays bounded and the event loop gets one message per
interval, not per line. Draining also prepares the lines for display (see `log_lines`),
so the event loop only appends them. Metric values are folded as they come into a
bounded series (exact last/min/max, thinned points), which the Metrics tab reads at most
twice a second (`metric_view`): a job with millions of values costs no more.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from workbench.engine import api
from workbench.engine import events as ev
from workbench.tui.log_lines import Entry, Numberer, merge_hosts

FLUSH_SECONDS = 0.075
MAX_LINES_PER_HOST = 10_000
MAX_EVENTS = 20_000


@dataclass(frozen=True)
class Batch:
    """What arrived since the last flush."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)  # per host, a note first when some were dropped
    merged: list[Entry] = field(default_factory=list)  # every host's entries in time order
    dropped: dict[str, int] = field(default_factory=dict)  # lines that overflowed the buffer
    events: list[ev.Event] = field(default_factory=list)  # everything but log lines, in order
    finished: bool = False  # the stream has ended (the job finished, or following stopped)
    metrics: bool = False  # metric values arrived (read them with EventPump.metric_view)

    @property
    def lines(self) -> dict[str, list[tuple[float, str]]]:
        """Each host's (time, text) lines, notes left out."""
        return {host: [(e.time, e.text) for e in items if e.kind == 0] for host, items in self.entries.items()}

    @property
    def line_count(self) -> int:
        """Lines that arrived: shown ones and dropped ones."""
        return sum(1 for items in self.entries.values() for e in items if e.kind == 0) + sum(self.dropped.values())


class EventPump:
    def __init__(self, max_lines_per_host: int = MAX_LINES_PER_HOST, max_events: int = MAX_EVENTS,
                 dropped_note: str = "… {count:,} lines skipped here under load; the job's log has every line") -> None:
        self._max_lines = max_lines_per_host
        self._numberer = Numberer()  # used by the draining thread only
        self._dropped_note = dropped_note
        self._lines: dict[str, deque] = {}
        self._dropped: dict[str, int] = {}
        self._events: deque = deque(maxlen=max_events)
        self._lock = threading.Lock()
        self._finished = False
        self._drained_finish = False
        self._metrics = api.MetricSeries()
        self._metrics_changed = False

    def feed(self, event: ev.Event) -> None:
        with self._lock:
            if self._metrics.add_event(event):
                self._metrics_changed = True
            elif isinstance(event, ev.LogLines):
                buffer = self._lines.get(event.host)
                if buffer is None:
                    buffer = self._lines[event.host] = deque(maxlen=self._max_lines)
                overflow = len(buffer) + len(event.lines) - self._max_lines
                if overflow > 0:
                    self._dropped[event.host] = self._dropped.get(event.host, 0) + overflow
                buffer.extend(event.lines)
            else:
                self._events.append(event)

    def finish(self) -> None:
        with self._lock:
            self._finished = True

    @property
    def done(self) -> bool:
        """The stream ended and its last batch was drained."""
        with self._lock:
            return self._drained_finish

    def drain(self) -> Batch | None:
        """Everything buffered, prepared for display; None when nothing new arrived.
        Call it from one thread (the flusher)."""
        with self._lock:
            metrics, self._metrics_changed = self._metrics_changed, False
            if not self._events and not any(self._lines.values()) and not self._dropped and not metrics:
                if self._finished and not self._drained_finish:
                    self._drained_finish = True
                    return Batch(finished=True)
                return None
            lines = {host: list(buffer) for host, buffer in self._lines.items() if buffer}
            for buffer in self._lines.values():
                buffer.clear()
            dropped = dict(self._dropped)
            events = list(self._events)
            self._dropped.clear()
            self._events.clear()
        return self._prepare(lines, dropped, events, metrics)

    def metric_view(self, metric: str | None, points: int) -> "MetricView":
        """Every metric's summary per host, and one metric's points per host thinned to
        about `points` (a chart's twice its width): a copy, drawn without the lock."""
        with self._lock:
            series = self._metrics
            curves = {}
            if metric is not None:
                for host in series.hosts(metric):
                    track = series.track(metric, host)
                    curves[host] = api.thinned(track.times, track.values, points)
            return MetricView(series.metrics, series.summaries(), curves, series.samples)

    def _prepare(self, lines: dict, dropped: dict, events: list, metrics: bool = False) -> Batch:
        """Outside the lock: the follower keeps feeding while lines are prepared. A note
        for each host that lost lines comes first (it stands where the lost lines were)."""
        notes = [self._numberer.marker(lines[host][0][0] if lines.get(host) else 0.0, host,
                                       self._dropped_note.format(count=count, host=host))
                 for host, count in dropped.items()]
        merged = notes + (self._numberer.entries(merge_hosts(lines)) if lines else [])
        entries: dict[str, list[Entry]] = {}
        for entry in merged:
            entries.setdefault(entry.host, []).append(entry)
        return Batch(entries, merged, dropped, events, metrics=metrics)


@dataclass(frozen=True)
class MetricView:
    """What the Metrics tab draws: the metrics (first seen first), each one's summary per
    host, and the chosen metric's thinned (times, values) per host."""

    metrics: list[str]
    summaries: list
    curves: dict[str, tuple[list[float], list[float]]]
    samples: int


def pump_events(source: Iterable[ev.Event], pump: EventPump) -> None:
    """Feed a (blocking) event stream into the pump until it ends; run in a thread."""
    try:
        for event in source:
            pump.feed(event)
    finally:
        pump.finish()


def flush_loop(pump: EventPump, post: Callable[[Batch], None], stopped: Callable[[], bool],
               interval: float = FLUSH_SECONDS) -> None:
    """Post one batch per interval until the stream has ended; run in a thread."""
    wait = threading.Event()
    while not stopped():
        batch = pump.drain()
        if batch is not None:
            post(batch)
            if batch.finished:
                return
        wait.wait(interval)
