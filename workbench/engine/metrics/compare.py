"""Several jobs side by side, as people compare reruns of one spec with other
hyperparameters: every hyperparameter (the ones that differ flagged) and every final
metric (FinalMetricDataList), one column per job."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.engine.metrics.record import FINAL
from workbench.engine.times import epoch


@dataclass(frozen=True)
class Row:
    name: str
    values: tuple  # one per job, None where the job has none
    differs: bool = False


@dataclass
class Comparison:
    jobs: list[str]
    statuses: list[str]
    hyperparameters: list[Row] = field(default_factory=list)
    metrics: list[Row] = field(default_factory=list)
    training_starts: list[float | None] = field(default_factory=list)  # x = 0 of each job's curves

    @property
    def differing(self) -> list[str]:
        return [row.name for row in self.hyperparameters if row.differs]

    def to_dict(self) -> dict:
        return {
            "Jobs": [{"TrainingJobName": job, "TrainingJobStatus": status}
                     for job, status in zip(self.jobs, self.statuses)],
            "HyperParameters": {row.name: dict(zip(self.jobs, row.values)) for row in self.hyperparameters},
            "DifferingHyperParameters": self.differing,
            "FinalMetrics": {row.name: dict(zip(self.jobs, row.values)) for row in self.metrics},
        }


def compare(records: list[dict]) -> Comparison:
    jobs = [r.get("TrainingJobName", "?") for r in records]
    params = [r.get("HyperParameters") or {} for r in records]
    finals = [{m.get("MetricName"): m.get("Value") for m in r.get(FINAL) or []} for r in records]
    keys = list(dict.fromkeys(key for p in params for key in sorted(p)))
    metrics = list(dict.fromkeys(name for f in finals for name in f))
    hyper = []
    for key in keys:
        values = tuple(p.get(key) for p in params)
        hyper.append(Row(key, values, differs=len(set(values)) > 1))
    return Comparison(
        jobs, [r.get("TrainingJobStatus", "?") for r in records], hyper,
        [Row(name, tuple(f.get(name) for f in finals)) for name in metrics],
        [epoch(r.get("TrainingStartTime")) for r in records])
