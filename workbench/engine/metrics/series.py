"""A job's metric samples per metric and host, in bounded memory.

Last, min, max and count are exact however many samples arrive; the points kept for
charts are at most MAX_POINTS per metric and host: when full, the older points are
thinned by keeping each run of four's lowest and highest (spikes survive), so a long job
keeps its whole curve at a coarser step and its recent part finely. Charts thin again to
their width (`thinned`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from workbench.engine import events as ev
from workbench.engine.plan import natural_key

MAX_POINTS = 4096


@dataclass
class Track:
    """One metric on one host."""

    count: int = 0
    last: float = math.nan
    last_time: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    cap: int = MAX_POINTS

    def add(self, moment: float, value: float) -> None:
        self.count += 1
        if moment >= self.last_time:
            self.last, self.last_time = value, moment
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value
        self.times.append(moment)
        self.values.append(value)
        if len(self.times) > self.cap:
            self._thin()

    def _thin(self) -> None:
        """The older half of the points, four by four to their lowest and highest."""
        half = len(self.times) // 2 // 4 * 4
        times, values = thinned(self.times[:half], self.values[:half], half // 2)
        self.times[:half], self.values[:half] = times, values


def thinned(times: list[float], values: list[float], most: int) -> tuple[list[float], list[float]]:
    """At most `most` points (at least 2): consecutive runs reduced to their lowest and
    highest point, in time order, so a spike is never thinned away."""
    if len(times) <= most:
        return list(times), list(values)
    size = max(2, -(-2 * len(times) // max(most, 2)))  # points per run (two kept per run)
    out_times: list[float] = []
    out_values: list[float] = []
    for start in range(0, len(times), size):
        chunk = range(start, min(start + size, len(times)))
        low = min(chunk, key=values.__getitem__)
        high = max(chunk, key=values.__getitem__)
        for index in sorted({low, high}):
            out_times.append(times[index])
            out_values.append(values[index])
    return out_times, out_values


@dataclass(frozen=True)
class Summary:
    metric: str
    host: str  # "" when the source does not say (CloudWatch's series of a SageMaker job)
    last: float
    last_time: float
    low: float
    high: float
    count: int

    def to_dict(self) -> dict:
        return {"Metric": self.metric, "Host": self.host, "Last": self.last, "LastTime": self.last_time,
                "Min": self.low, "Max": self.high, "Count": self.count}


class MetricSeries:
    """Samples folded per metric (first seen first) and host (algo-1, algo-2, ...)."""

    def __init__(self, cap: int = MAX_POINTS) -> None:
        self.cap = cap
        self.tracks: dict[str, dict[str, Track]] = {}
        self.samples = 0

    def add(self, metric: str, host: str, moment: float, value: float) -> None:
        hosts = self.tracks.get(metric)
        if hosts is None:
            hosts = self.tracks[metric] = {}
        track = hosts.get(host)
        if track is None:
            track = hosts[host] = Track(cap=self.cap)
        track.add(moment, value)
        self.samples += 1

    def add_event(self, event: ev.Event) -> bool:
        """Fold a MetricSamples or MetricSample event; False for any other event."""
        if isinstance(event, ev.MetricSamples):
            for moment, metric, value in event.points:
                self.add(metric, event.host, moment, value)
            return True
        if isinstance(event, ev.MetricSample):
            self.add(event.metric, event.host, event.time, event.value)
            return True
        return False

    def add_all(self, events: Iterable[ev.Event]) -> "MetricSeries":
        for event in events:
            self.add_event(event)
        return self

    @property
    def metrics(self) -> list[str]:
        return list(self.tracks)

    def hosts(self, metric: str) -> list[str]:
        return sorted(self.tracks.get(metric, {}), key=natural_key)

    def track(self, metric: str, host: str) -> Track | None:
        return self.tracks.get(metric, {}).get(host)

    def summaries(self, host: str | None = None) -> list[Summary]:
        out = []
        for metric in self.tracks:
            for name in self.hosts(metric):
                if host is not None and name != host:
                    continue
                t = self.tracks[metric][name]
                out.append(Summary(metric, name, t.last, t.last_time, t.low, t.high, t.count))
        return out

    def latest(self, metric: str) -> tuple[float, float] | None:
        """(time, value) of the metric's latest sample on any host (FinalMetricDataList's rule)."""
        tracks = list(self.tracks.get(metric, {}).values())
        if not tracks:
            return None
        best = max(tracks, key=lambda t: t.last_time)
        return best.last_time, best.last

    def copy(self) -> "MetricSeries":
        """A snapshot another thread can draw while this one keeps folding."""
        other = MetricSeries(self.cap)
        other.samples = self.samples
        for metric, hosts in self.tracks.items():
            other.tracks[metric] = {host: Track(t.count, t.last, t.last_time, t.low, t.high, list(t.times),
                                                list(t.values), t.cap) for host, t in hosts.items()}
        return other
