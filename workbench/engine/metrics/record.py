"""How metric samples fold into describe.json: FinalMetricDataList, as DescribeTrainingJob has it.

Each metric's entry is its last value: the latest line, by the line's time, across every
host (SageMaker's tuning takes "the last running job across all instances"); on a tie the
one folded last wins. Entries keep the order the metrics first appeared in.
"""

from __future__ import annotations

from workbench.engine import events as ev
from workbench.engine.times import iso

FINAL = "FinalMetricDataList"
LIMIT = 40  # the API's maximum, as for MetricDefinitions


def fold_samples(record: dict, event: ev.MetricSamples) -> None:
    latest: dict[str, tuple[float, float]] = {}
    for moment, metric, value in event.points:  # one host's lines, in order
        known = latest.get(metric)
        if known is None or moment >= known[0]:
            latest[metric] = (moment, value)
    _fold_latest(record, latest)


def fold_sample(record: dict, event: ev.MetricSample) -> None:
    _fold_latest(record, {event.metric: (event.time, event.value)})


def _fold_latest(record: dict, latest: dict[str, tuple[float, float]]) -> None:
    entries = record.setdefault(FINAL, [])
    index = {entry.get("MetricName"): entry for entry in entries}
    for metric, (moment, value) in latest.items():
        stamp = iso(moment)  # fixed-width ISO times compare as the times do
        entry = index.get(metric)
        if entry is None:
            if len(entries) < LIMIT:
                entries.append({"MetricName": metric, "Value": value, "Timestamp": stamp})
        elif stamp >= entry.get("Timestamp", ""):
            entry["Value"], entry["Timestamp"] = value, stamp
