"""How `run` (and `logs`, `stop`) show a job in a terminal: host-prefixed lines, status lines, a summary."""

from __future__ import annotations

import os
import sys
import time

from workbench.engine import events as ev
from workbench.engine.record import KIND_ENDPOINT, KIND_TRANSFORM, TUNING_KINDS, epoch, record_end, record_kind, \
    record_name, record_secondary, record_status, signal_summary
from workbench.units import human_bytes

COLORS = ("36", "33", "35", "32", "34", "91", "96", "93")


def use_color(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def human_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class TerminalPrinter:
    """An event subscriber that writes a readable, live account of the job."""

    def __init__(self, out=None, err=None, show_host: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.color = use_color(self.out)
        self.show_host = show_host
        self.hosts: list[str] = []
        self.width = 6

    def host_prefix(self, host: str) -> str:
        if host not in self.hosts:
            self.hosts.append(host)
            self.width = max(self.width, len(host))
        label = f"{host:<{self.width}} | "
        if self.color:
            code = COLORS[self.hosts.index(host) % len(COLORS)]
            return f"\x1b[{code}m{label}\x1b[0m"
        return label

    def note(self, text: str, level: str = "info") -> None:
        stamp = time.strftime("%H:%M:%S")
        if self.color:
            code = {"warning": "33", "error": "31"}.get(level, "2")
            text = f"\x1b[{code}m{text}\x1b[0m"
        print(f"[{stamp}] {text}", file=self.err, flush=True)

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.LogLines):
            if self.show_host is False:
                self.out.write("".join(text + "\n" for _, text in event.lines))
            else:
                prefix = self.host_prefix(event.host)
                self.out.write("".join(prefix + text + "\n" for _, text in event.lines))
            self.out.flush()
        elif isinstance(event, ev.JobCreated):
            self.note(f"job {event.name} on {len(event.hosts)} host{'s' if len(event.hosts) > 1 else ''}: {', '.join(event.hosts)}")
            for host in event.hosts:
                self.host_prefix(host)
        elif isinstance(event, ev.StatusChanged):
            self.note(f"{event.status} / {event.secondary}: {event.message}" if event.message
                      else f"{event.status} / {event.secondary}")
        elif isinstance(event, ev.ChannelStaged) and event.mode == "Pipe":
            self.note(f"{event.host}: channel {event.channel} (Pipe) {event.files} objects (or manifest lines) "
                      "per epoch, streamed as the reader reads")
        elif isinstance(event, ev.ChannelStaged):
            self.note(f"{event.host}: channel {event.channel} ({event.mode}) {event.files} files, "
                      f"{human_bytes(event.bytes)} in {event.seconds:.2f} s")
        elif isinstance(event, ev.CacheUsed):
            self.note(f"channel {event.channel}: {event.hits} objects ({human_bytes(event.hit_bytes)}) from the "
                      f"data cache, {event.fetched} ({human_bytes(event.fetched_bytes)}) fetched")
        elif isinstance(event, ev.PipeEpochFed):
            early = ", closed early by the reader" if event.closed_early else ""
            self.note(f"{event.host}: {event.channel}_{event.epoch} fed {event.records} records, "
                      f"{human_bytes(event.bytes)} in {event.seconds:.2f} s{early}")
        elif isinstance(event, ev.HostStarted):
            self.note(f"{event.host}: container {event.container_id[:12]} started")
        elif isinstance(event, ev.HostExited):
            how = f" ({event.signal})" if event.signal else ""
            self.note(f"{event.host}: exited with code {event.exit_code}{how}",
                      "info" if event.exit_code == 0 else "warning")
        elif isinstance(event, ev.SignalSent):
            self.note(f"{event.host}: sent {event.signal} ({event.reason})", "warning")
        elif isinstance(event, ev.Notice):
            prefix = f"{event.host}: " if event.host else ""
            self.note(f"{event.level}: {prefix}{event.message}", event.level)
        elif isinstance(event, ev.LintFinding):
            self.note(f"lint [{event.rule}]: {event.message}", "warning")
            self.note(f"  fix: {event.fix}", "warning")
        elif isinstance(event, ev.SignalOutcome):
            self.note(signal_summary(event), "info" if not event.killed else "warning")
        elif isinstance(event, ev.AttemptStarted):
            self.note(f"spot: attempt {event.attempt} starts after the interruption" if event.reason == "Interrupted"
                      else f"retry: attempt {event.attempt} starts after {event.reason}", "warning")
        elif isinstance(event, ev.OutputsUploaded):
            self.note(f"outputs: {event.model_artifacts} ({event.files} files, {human_bytes(event.bytes)})")
        elif isinstance(event, ev.CheckpointsRestored):
            self.note(f"{event.host}: checkpoints restored from {event.source}: {event.files} files, "
                      f"{human_bytes(event.bytes)} in {event.seconds:.2f} s")
        # --- inner loop ---
        elif isinstance(event, ev.BuildStarted):
            self.note(f"build: {event.image} from {event.context}"
                      + (f" ({event.dockerfile})" if event.dockerfile else "")
                      + (f", target {event.target}" if event.target else ""))
        elif isinstance(event, ev.BuildOutput):
            prefix = "\x1b[2mbuild |\x1b[0m " if self.color else "build | "
            self.err.write("".join(prefix + line + "\n" for line in event.lines))
            self.err.flush()
        elif isinstance(event, ev.BuildFinished) and event.failure:
            self.note(f"build failed: {event.failure}", "error")
        elif isinstance(event, ev.BuildFinished):
            cached = ("every step from the cache, nothing rebuilt" if event.steps and event.cached == event.steps
                      else f"{event.cached} of {event.steps} steps from the cache")
            self.note(f"build: {event.image} ({event.image_id.removeprefix('sha256:')[:12]}) in "
                      f"{event.seconds:.1f} s, {cached}")
        elif isinstance(event, ev.TrainingHeld):
            self.note(f"{event.host}: training held before `{' '.join(event.command)}`", "warning")
        elif isinstance(event, ev.TrainingReleased):
            self.note(f"released: {', '.join(event.hosts)} start training")
        elif isinstance(event, ev.ModelPrepared):  # --- serving ---
            skipped = f", {len(event.skipped)} archive member(s) left out" if event.skipped else ""
            self.note(f"model: {event.source or '(none)'}: {event.files} files, {human_bytes(event.bytes)} in "
                      f"/opt/ml/model{skipped}")
        elif isinstance(event, ev.EndpointReady):
            self.note(f"{event.host}: GET /ping answered 200 after {event.startup_seconds:.1f} s; serving on {event.url}")
        elif isinstance(event, ev.HealthChecked):
            self.note(f"{event.host}: " + ("healthy again" if event.healthy else f"not healthy: {event.message}"),
                      "info" if event.healthy else "warning")
        elif isinstance(event, ev.ExecutionParameters):
            self.note(f"execution parameters: MaxConcurrentTransforms {event.max_concurrent_transforms}, "
                      f"BatchStrategy {event.batch_strategy}, MaxPayloadInMB {event.max_payload_mb} ("
                      + ", ".join(f"{k}: {v}" for k, v in event.sources.items()) + ")")
        elif isinstance(event, ev.TransformObjectDone):
            if event.error:
                self.note(f"{event.source}: failed: {event.error}", "error")
            else:
                self.note(f"{event.output}: {event.records} records in {event.requests} requests, "
                          f"{event.seconds:.2f} s")
        elif isinstance(event, ev.CheckpointSummary) and event.final:
            self.note(f"{event.sync}: {event.synced} of {event.files} files synced ({human_bytes(event.bytes)}), "
                      f"{event.deleted} deleted" + (f", {event.pending} NOT synced" if event.pending else ""),
                      "warning" if event.pending else "info")


def summary_lines(record: dict) -> list[str]:
    status = record_status(record) or "?"
    kind = record_kind(record)
    if kind in TUNING_KINDS:  # --- tuning ---
        return tuning_summary_lines(record)
    label = {KIND_ENDPOINT: "Endpoint:", KIND_TRANSFORM: "Transform:"}.get(kind, "Job:")
    lines = [f"{label:<11} {record_name(record)}",
             f"Status:     {status} ({record_secondary(record)})"]
    created, ended = epoch(record.get("CreationTime")), epoch(record_end(record))
    if created and ended and kind in (KIND_ENDPOINT, KIND_TRANSFORM):
        lines.append(f"Duration:   {human_seconds(ended - created)}")
    elif created and ended:
        # From the timestamps, not the whole seconds of TrainingTimeInSeconds: a 0.6 s
        # training must not read longer than the 0.9 s job around it.
        trained = ended - (epoch(record.get("TrainingStartTime")) or ended)
        lines.append(f"Duration:   {human_seconds(ended - created)} (training {human_seconds(trained)})")
    lines += _serving_lines(record)
    model = (record.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if model:
        lines.append(f"Model:      {model}")
    output = (record.get("Workbench") or {}).get("OutputArtifacts")
    if output:
        lines.append(f"Output:     {output}")
    bench = record.get("Workbench") or {}
    if bench.get("Interruptions"):
        lines.append(f"Spot:       {len(bench['Interruptions'])} interruption(s), billable "
                     f"{record.get('BillableTimeInSeconds', 0)} s of {record.get('TrainingTimeInSeconds', 0)} s")
    if bench.get("Retries"):
        lines.append(f"Retries:    {len(bench['Retries'])} after internal errors (RetryStrategy)")
    for index, row in enumerate(bench.get("SignalTimeline") or []):
        lines.append(("Signals:    " if index == 0 else "            ") + row["Summary"])
    if record.get("FailureReason"):
        reason = record["FailureReason"].strip().splitlines()
        lines.append(f"Failure:    {reason[0] if reason else ''}")
        lines.extend(f"            {line}" for line in reason[1:8])
    return lines


def tuning_summary_lines(record: dict) -> list[str]:
    """A tuning job's end: its counters, why it ended, the best training job."""
    bench = record.get("Workbench") or {}
    lines = [f"Tuning job: {record_name(record)}",
             f"Status:     {record_status(record) or '?'}" + (f" ({record_secondary(record)})"
                                                              if record_secondary(record) else "")]
    created, ended = epoch(record.get("CreationTime")), epoch(record_end(record))
    if created and ended:
        lines.append(f"Duration:   {human_seconds(ended - created)}")
    jobs = record.get("TrainingJobStatusCounters") or {}
    objectives = record.get("ObjectiveStatusCounters") or {}
    lines.append("Trials:     " + (", ".join(f"{v} {k}" for k, v in jobs.items() if v) or "none")
                 + "; objective: " + (", ".join(f"{v} {k}" for k, v in objectives.items() if v) or "none"))
    ending = bench.get("Ending") or {}
    if ending.get("Reason") and ending.get("Message"):
        lines.append(f"Ended:      {ending['Reason']}: {ending['Message']}")
    if record.get("FailureReason"):
        lines.append(f"Failure:    {record['FailureReason'].strip().splitlines()[0]}")
    best = record.get("BestTrainingJob") or {}
    if best:
        metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
        tuned = ", ".join(f"{k}={v}" for k, v in (best.get("TunedHyperParameters") or {}).items())
        lines.append(f"Best:       {best.get('TrainingJobName')}: {metric.get('MetricName')} = {metric.get('Value')}"
                     + (f" ({tuned})" if tuned else ""))
    else:
        lines.append("Best:       none (no training job reported the objective)")
    return lines


def _serving_lines(record: dict) -> list[str]:
    """What an endpoint or a transform job adds to its summary."""
    bench = record.get("Workbench") or {}
    lines = []
    model = bench.get("Model") or {}
    if model:
        lines.append(f"Model:      {model.get('ModelDataUrl') or '(no model data)'} served by {model.get('Image')}")
    progress = bench.get("Progress")
    if progress:
        output = (record.get("TransformOutput") or {}).get("S3OutputPath", "")
        lines.append(f"Output:     {output} ({progress.get('ObjectsDone', 0)} of {progress.get('Objects', 0)} objects, "
                     f"{progress.get('Records', 0)} records in {progress.get('Requests', 0)} requests)")
    return lines


def exit_code_for(record: dict) -> int:
    """0 done (an endpoint stopped as asked: OutOfService), 1 failed, 3 stopped."""
    return {"Completed": 0, "OutOfService": 0, "Failed": 1, "Stopped": 3}.get(record_status(record), 1)
