"""The hooks the runner calls: every batch of output lines read for the job's metrics, and at
the end a notice for each definition that never gave a value."""

from __future__ import annotations

from workbench.engine import events as ev
from workbench.engine.extension import Extension, JobContext
from workbench.engine.metrics.extract import Extractor
from workbench.engine.metrics.record import FINAL
from workbench.engine.store import load_record
from workbench.errors import WorkbenchError
from workbench.spec.metrics import compile_definitions, metric_definitions

ON_SAGEMAKER = ("on SageMaker this metric has no data (no FinalMetricDataList entry, no CloudWatch series), "
                "and a tuning job with it as its objective fails")


class Metrics(Extension):
    def __init__(self, spec: dict) -> None:
        self.definitions = compile_definitions(metric_definitions(spec))
        self.extractor = Extractor(self.definitions)
        self.names = list(dict.fromkeys(d.name for d in self.definitions))
        self.seen: set[str] = set()
        self.trained = False

    def started(self, ctx: JobContext) -> None:
        self.trained = True

    def log_lines(self, ctx: JobContext, event: ev.LogLines) -> None:
        points = self.extractor.extract(event.lines)
        if not points:
            return
        if len(self.seen) < len(self.names):
            self.seen.update({metric for _, metric, _ in points})
        ctx.emit(ev.MetricSamples(event.host, tuple(points), time=points[-1][0]))

    def close(self, ctx: JobContext) -> None:
        if not self.trained:
            return  # no container ran: nothing could have matched
        seen = set(self.seen)
        if len(seen) < len(self.names):
            try:  # a runner that took over: what the dead one read is in the record
                seen.update(e.get("MetricName") for e in load_record(ctx.paths).get(FINAL) or [])
            except WorkbenchError:
                pass
        for name in self.names:
            if name not in seen:
                ctx.emit(ev.Notice("warning", self._never(name)))

    def _never(self, name: str) -> str:
        mine = [d for d in self.definitions if d.name == name]
        if not any(d.usable for d in mine):
            return f"Metric {name!r}: its regex has no capture group, so no value was read; {ON_SAGEMAKER}"
        rejected = self.extractor.rejected.get(name)
        if rejected:
            return (f"Metric {name!r}: its regex matched {rejected.count} line{'s' if rejected.count != 1 else ''} "
                    f"but never captured a number (e.g. {rejected.example!r}); {ON_SAGEMAKER}")
        return f"Metric {name!r}: its regex matched no line of any host; {ON_SAGEMAKER}"
