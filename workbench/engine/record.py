"""The DescribeTrainingJob-shaped record of a job, built by applying its events in order.

The job store applies events as they happen; a viewer can rebuild the same record from
the event log. Times are ISO 8601 strings (UTC) so the record is plain JSON.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

from workbench.engine import events as ev
from workbench.engine.channels.records import fold_cache_used, fold_pipe_epoch
from workbench.engine.checkpoints.status import fold_restored, fold_summary, synced_section
from workbench.engine.checkpoints.synced import synced_folders
from workbench.engine.gpus.record import fold_assigned, fold_sample
from workbench.engine.plan import selected_instances
from workbench.engine.metrics import record as metrics_record
from workbench.engine.serving import records as serving
from workbench.engine.tuning import records as tuning
from workbench.engine.times import epoch, iso
from workbench.spec.settings import WorkbenchSettings

KIND_LOCAL = "local"
KIND_SAGEMAKER = "sagemaker"
KIND_ENDPOINT = "endpoint"  # a local endpoint (engine/serving): DescribeEndpoint-shaped
KIND_TRANSFORM = "transform"  # a local batch transform job (engine/serving): DescribeTransformJob-shaped
KIND_TUNING = "tuning"  # a local hyperparameter tuning job (engine/tuning): DescribeHyperParameterTuningJob-shaped
KIND_SAGEMAKER_TUNING = "sagemaker-tuning"  # a tuning job on SageMaker (engine/tuning/cloud.py)

FINAL_STATUSES = ("Completed", "Failed", "Stopped")
REQUEST_FIELDS = (
    "HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
    "ResourceConfig", "VpcConfig", "StoppingCondition", "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining", "CheckpointConfig",
    "DebugHookConfig", "TensorBoardOutputConfig", "ExperimentConfig", "ProfilerConfig",
    "Environment", "RetryStrategy", "Tags",
)


def record_kind(record: dict) -> str:
    """What the job is and who runs it: KIND_LOCAL (training here), KIND_SAGEMAKER (training
    on AWS), KIND_ENDPOINT, KIND_TRANSFORM; the one place that reads it."""
    return (record.get("Workbench") or {}).get("Kind") or KIND_LOCAL


# --- every kind's name, status and end: what viewers show of any record ---------------


@dataclass(frozen=True)
class _View:
    name: str  # the field holding the job's name
    status: str  # the field holding its status
    end: tuple[str, ...]  # the path of the time it ended
    final: tuple[str, ...]  # the statuses it never leaves


_TRAINING_VIEW = _View("TrainingJobName", "TrainingJobStatus", ("TrainingEndTime",), FINAL_STATUSES)
# Endpoints and transform jobs keep the shape of their Describe* answer. A local endpoint
# ends OutOfService once stopped (SageMaker deletes it; here its record stays in the history).
_VIEWS = {
    KIND_ENDPOINT: _View("EndpointName", "EndpointStatus", ("Workbench", "EndTime"), ("OutOfService", "Failed")),
    KIND_TRANSFORM: _View("TransformJobName", "TransformJobStatus", ("TransformEndTime",), FINAL_STATUSES),
    # --- tuning ---
    KIND_TUNING: _View("HyperParameterTuningJobName", "HyperParameterTuningJobStatus",
                       ("HyperParameterTuningEndTime",), FINAL_STATUSES),
    KIND_SAGEMAKER_TUNING: _View("HyperParameterTuningJobName", "HyperParameterTuningJobStatus",
                                 ("HyperParameterTuningEndTime",), FINAL_STATUSES),
}
TUNING_KINDS = (KIND_TUNING, KIND_SAGEMAKER_TUNING)


def _view(record: dict) -> _View:
    return _VIEWS.get(record_kind(record), _TRAINING_VIEW)


def name_field(record: dict) -> str:
    """The field that names the job: TrainingJobName, EndpointName or TransformJobName."""
    return _view(record).name


def record_name(record: dict) -> str:
    value = record.get(name_field(record))
    return value if isinstance(value, str) else ""


def record_status(record: dict) -> str:
    """TrainingJobStatus, EndpointStatus or TransformJobStatus, as the kind has it."""
    value = record.get(_view(record).status)
    return value if isinstance(value, str) else ""


def record_secondary(record: dict) -> str:
    """SecondaryStatus of a training job; what an endpoint or a transform job is doing."""
    value = record.get("SecondaryStatus") or (record.get("Workbench") or {}).get("SecondaryStatus")
    return value if isinstance(value, str) else ""


def set_status(record: dict, status: str, secondary: str) -> None:
    """A viewer's copy of a record brought to a new status (its top-level fields only: the
    history's records are shared, their nested parts are not to be changed)."""
    record[_view(record).status] = status
    if record_kind(record) in _VIEWS:
        record["Workbench"] = {**(record.get("Workbench") or {}), "SecondaryStatus": secondary}
    else:
        record["SecondaryStatus"] = secondary


def record_end(record: dict) -> str | None:
    value: Any = record
    for key in _view(record).end:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def new_record(spec: dict, arn: str, created: float) -> dict:
    """The record as CreateTrainingJob leaves it: the request fields and InProgress/Starting."""
    record: dict = {
        "TrainingJobName": spec["TrainingJobName"],
        "TrainingJobArn": arn,
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Starting",
        "CreationTime": iso(created),
        "LastModifiedTime": iso(created),
        "SecondaryStatusTransitions": [],
    }
    for key in REQUEST_FIELDS:
        if key in spec:
            record[key] = copy.deepcopy(spec[key])
    resources = record.get("ResourceConfig")
    if isinstance(resources, dict) and resources.get("InstancePreferences"):  # the choice, as Describe reports it
        resources["SelectedInstanceType"], resources["SelectedInstanceCount"] = selected_instances(resources)

    settings = WorkbenchSettings.from_spec(spec)
    record["Workbench"] = {"Kind": KIND_LOCAL, "Settings": settings.to_dict(),
                           "Hosts": {}, "Channels": {}, "Signals": [], "Notices": []}
    if settings.TuningJob:  # --- tuning: launched by a tuning job, as DescribeTrainingJob says ---
        record["TuningJobArn"] = tuning.tuning_arn(str(settings.Region), str(settings.AccountId), settings.TuningJob)
    for folder in synced_folders(spec):  # where TensorBoard, debugger and profiler output go
        if folder.sync != "checkpoints":
            synced_section(record, folder.sync).update({"LocalPath": folder.local_path, "S3Uri": folder.uri})
    return record


def _transition(record: dict, status: str, message: str, at: float) -> None:
    transitions = record.setdefault("SecondaryStatusTransitions", [])
    if transitions and transitions[-1]["Status"] == status:
        if message and message != transitions[-1].get("StatusMessage"):
            transitions[-1]["StatusMessage"] = message
        return
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = iso(at)
    transitions.append({"Status": status, "StartTime": iso(at), "StatusMessage": message})


def apply_event(record: dict, event: ev.Event) -> None:
    """Fold one event into the record (in place), as its kind's table (KIND_FOLDS, else
    FOLDS) says for its type."""
    fold = KIND_FOLDS.get(record_kind(record), FOLDS).get(type(event))
    if fold is not None:
        fold(record, event)
    record["LastModifiedTime"] = iso(event.time)


def _bench(record: dict) -> dict:
    return record.setdefault("Workbench", {})


def _status_changed(record: dict, event: ev.StatusChanged) -> None:
    record["TrainingJobStatus"] = event.status
    record["SecondaryStatus"] = event.secondary
    _transition(record, event.secondary, event.message, event.time)
    if event.secondary == "Training" and "TrainingStartTime" not in record:
        record["TrainingStartTime"] = iso(event.time)


def _host_started(record: dict, event: ev.HostStarted) -> None:
    host = _bench(record).setdefault("Hosts", {}).setdefault(event.host, {})
    host.update({"ContainerId": event.container_id, "Group": event.group,
                 "InstanceType": event.instance_type, "StartTime": iso(event.time)})
    for key in ("ExitCode", "Signal", "EndTime", "OOMKilled", "FailureReason"):  # an earlier attempt's
        host.pop(key, None)


def _host_exited(record: dict, event: ev.HostExited) -> None:
    host = _bench(record).setdefault("Hosts", {}).setdefault(event.host, {})
    host.update({"ExitCode": event.exit_code, "EndTime": iso(event.time)})
    if event.signal:
        host["Signal"] = event.signal
    if event.oom_killed:
        host["OOMKilled"] = True
    if event.failure:
        host["FailureReason"] = event.failure


def _channel_staged(record: dict, event: ev.ChannelStaged) -> None:
    bench = _bench(record)
    channel = bench.setdefault("Channels", {}).setdefault(event.channel, {"Mode": event.mode, "Hosts": {}})
    channel["Mode"] = event.mode
    channel.setdefault("Hosts", {})[event.host] = {"Files": event.files, "Bytes": event.bytes,
                                                   "Seconds": round(event.seconds, 3)}
    channel["Files"] = sum(h.get("Files", 0) for h in channel["Hosts"].values())
    channel["Bytes"] = sum(h.get("Bytes", 0) for h in channel["Hosts"].values())
    bench["StagedBytes"] = sum(c.get("Bytes", 0) for c in bench["Channels"].values())


def _signal_sent(record: dict, event: ev.SignalSent) -> None:
    _bench(record).setdefault("Signals", []).append(
        {"Host": event.host, "Signal": event.signal, "Reason": event.reason, "Time": iso(event.time)})


def _notice(record: dict, event: ev.Notice) -> None:
    notices = _bench(record).setdefault("Notices", [])
    if len(notices) < 200:
        notices.append({"Level": event.level, "Message": event.message, "Host": event.host, "Time": iso(event.time)})


def _outputs_uploaded(record: dict, event: ev.OutputsUploaded) -> None:
    bench = _bench(record)
    if event.model_artifacts:
        record["ModelArtifacts"] = {"S3ModelArtifacts": event.model_artifacts}
    if event.output_artifacts:
        bench["OutputArtifacts"] = event.output_artifacts
    bench["Upload"] = {"Files": event.files, "Bytes": event.bytes, "Seconds": round(event.seconds, 3)}


def _job_finished(record: dict, event: ev.JobFinished) -> None:
    record["TrainingJobStatus"] = event.status
    record["SecondaryStatus"] = event.secondary
    _transition(record, event.secondary, _final_message(event), event.time)
    transitions = record.get("SecondaryStatusTransitions") or []
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = iso(event.time)
    if event.failure_reason:
        record["FailureReason"] = event.failure_reason
    record["TrainingEndTime"] = iso(event.time)
    start = epoch(record.get("TrainingStartTime"))
    seconds = int(round(event.time - start)) if start else 0
    record["TrainingTimeInSeconds"] = max(seconds, 0)
    if event.billable_seconds is not None:
        record["BillableTimeInSeconds"] = int(round(event.billable_seconds))
    else:
        record.setdefault("BillableTimeInSeconds", record["TrainingTimeInSeconds"])
    _bench(record).pop("MaxRuntimeDeadline", None)  # nothing runs against it any more


def _signal_outcome(record: dict, event: ev.SignalOutcome) -> None:
    _bench(record).setdefault("SignalTimeline", []).append({
        "Host": event.host, "Reason": event.reason, "SigtermTime": iso(event.sigterm_time),
        "ExitTime": iso(event.exit_time), "Seconds": round(event.exit_time - event.sigterm_time, 3),
        "ExitCode": event.exit_code, "Signal": event.signal, "Killed": event.killed,
        "GracePeriodSeconds": event.grace, "Summary": signal_summary(event),
    })


def _lint_finding(record: dict, event: ev.LintFinding) -> None:
    lint = _bench(record).setdefault("Lint", [])
    if not any(item["Rule"] == event.rule for item in lint):
        lint.append({"Rule": event.rule, "Message": event.message, "Fix": event.fix})


def _attempt_started(record: dict, event: ev.AttemptStarted) -> None:
    bench = _bench(record)
    bench["Attempt"] = event.attempt
    if event.reason == "Interrupted":
        bench.setdefault("Interruptions", []).append(
            {"Attempt": event.attempt - 1, "Time": iso(event.time), "Reason": event.reason})
    else:  # a RetryStrategy retry: the attempt that failed, and why
        bench.setdefault("Retries", []).append(
            {"Attempt": event.attempt - 1, "Time": iso(event.time), "Reason": event.reason,
             "FailureReason": event.failure})


def _warm_pool_changed(record: dict, event: ev.WarmPoolChanged) -> None:
    record["WarmPoolStatus"] = dict(event.status)
    if event.pool_id:
        _bench(record)["WarmPool"] = event.pool_id


def _deadline_set(record: dict, event: ev.DeadlineSet) -> None:
    _bench(record)["MaxRuntimeDeadline"] = iso(event.deadline)


# --- inner loop ---


def _build_finished(record: dict, event: ev.BuildFinished) -> None:
    _bench(record)["Build"] = {
        "Image": event.image, "ImageId": event.image_id, "Steps": event.steps, "CachedSteps": event.cached,
        "Seconds": round(event.seconds, 3), **({"Failure": event.failure, "FailedStep": event.step}
                                               if event.failure else {})}


def _training_held(record: dict, event: ev.TrainingHeld) -> None:
    held = _bench(record).setdefault("Held", [])
    if event.host not in held:
        held.append(event.host)


def _training_released(record: dict, event: ev.TrainingReleased) -> None:
    bench = _bench(record)
    bench["Held"] = [host for host in bench.get("Held") or [] if host not in event.hosts]
    bench.setdefault("Released", []).append({"Hosts": list(event.hosts), "Time": iso(event.time)})


def signal_summary(event: ev.SignalOutcome) -> str:
    """One line of the signal timeline: `algo-1: SIGTERM handled in 2.3 s, exit 0`."""
    took = event.exit_time - event.sigterm_time
    if event.killed_at_once:
        return f"{event.host}: killed at once (SIGKILL, no SIGTERM), exit {event.exit_code}"
    if event.killed and event.signal == "SIGKILL":
        waited = (event.sigkill_time or event.exit_time) - event.sigterm_time
        return f"{event.host}: ignored SIGTERM, killed after {waited:.0f} s"
    if event.signal:
        return f"{event.host}: ended by {event.signal} after {took:.1f} s (exit {event.exit_code})"
    return f"{event.host}: SIGTERM handled in {took:.1f} s, exit {event.exit_code}"


def _final_message(event: ev.JobFinished) -> str:
    if event.status == "Completed":
        return "Training job completed"
    if event.status == "Failed":
        return event.failure_reason[:200] or "Training job failed"
    return {"MaxRuntimeExceeded": "Training job stopped: MaxRuntimeInSeconds exceeded",
            "MaxWaitTimeExceeded": "Training job stopped: MaxWaitTimeInSeconds exceeded"}.get(
        event.secondary, "Training job stopped")


def is_final(record: dict) -> bool:
    return record_status(record) in _view(record).final


def instances(record: dict) -> tuple[str, str]:
    """(how many hosts, on what) of a record or spec, as the CLI and the TUI write them:
    ("2", "ml.c5.2xlarge") for one instance type; for instance groups, each group's
    count and type as a single-type job reads, ("3", "train: 2 × ml.c5.2xlarge, ps: 1 × ml.m5.large")."""
    config = record.get("ResourceConfig") or record.get("TransformResources") or {}
    groups = [g for g in config.get("InstanceGroups") or [] if isinstance(g, dict)]
    if groups:
        count = 0
        for group in groups:
            try:
                count += int(group.get("InstanceCount") or 0)
            except (TypeError, ValueError):
                pass
        kinds = ", ".join(f"{g.get('InstanceGroupName')}: {g.get('InstanceCount')} × {g.get('InstanceType')}"
                          for g in groups)
        return str(count), kinds
    return (str(config.get("InstanceCount", config.get("SelectedInstanceCount", "-"))),
            str(config.get("InstanceType", config.get("SelectedInstanceType", "-"))))


def instances_line(record: dict) -> str:
    """"2 × ml.c5.2xlarge", or the instance groups as `instances` writes them."""
    hosts, kinds = instances(record)
    return kinds if (record.get("ResourceConfig") or {}).get("InstanceGroups") else f"{hosts} × {kinds}"


# How each event folds into the record: every kind of event in one table, the
# capabilities' own (channels, checkpoints, GPUs) beside the lifecycle's.
FOLDS: dict[type, Callable[[dict, Any], None]] = {
    ev.StatusChanged: _status_changed,
    ev.HostStarted: _host_started,
    ev.HostExited: _host_exited,
    ev.ChannelStaged: _channel_staged,
    ev.SignalSent: _signal_sent,
    ev.Notice: _notice,
    ev.OutputsUploaded: _outputs_uploaded,
    ev.JobFinished: _job_finished,
    ev.SignalOutcome: _signal_outcome,
    ev.LintFinding: _lint_finding,
    ev.AttemptStarted: _attempt_started,
    ev.DeadlineSet: _deadline_set,
    ev.CacheUsed: fold_cache_used,
    ev.PipeEpochFed: fold_pipe_epoch,
    ev.CheckpointsRestored: fold_restored,
    ev.CheckpointSummary: fold_summary,
    ev.GpuAssigned: fold_assigned,
    ev.GpuSample: fold_sample,
    # --- the rest of the training contract ---
    ev.WarmPoolChanged: _warm_pool_changed,
    # --- inner loop ---
    ev.BuildFinished: _build_finished,
    ev.TrainingHeld: _training_held,
    ev.TrainingReleased: _training_released,
    # --- metrics ---
    ev.MetricSamples: metrics_record.fold_samples,
    ev.MetricSample: metrics_record.fold_sample,
}

# --- endpoints and transform jobs ------------------------------------------------------
# Their records have the shape of DescribeEndpoint and DescribeTransformJob: the same
# lifecycle events fold into their own fields (engine/serving/records.py), beside the
# hosts, signals, notices and lint findings every kind records alike.
_SHARED = {kind: FOLDS[kind] for kind in (ev.HostStarted, ev.HostExited, ev.SignalSent, ev.SignalOutcome,
                                         ev.Notice, ev.LintFinding)}
ENDPOINT_FOLDS: dict[type, Callable[[dict, Any], None]] = {
    **_SHARED,
    ev.StatusChanged: serving.status_fold("EndpointStatus"),
    ev.JobFinished: serving.finished_fold("EndpointStatus", ("Workbench", "EndTime")),
    ev.ModelPrepared: serving.fold_model_prepared,
    ev.EndpointReady: serving.fold_endpoint_ready,
    ev.HealthChecked: serving.fold_health,
}
TRANSFORM_FOLDS: dict[type, Callable[[dict, Any], None]] = {
    **_SHARED,
    ev.StatusChanged: serving.status_fold("TransformJobStatus", start="TransformStartTime", started="Transforming"),
    ev.JobFinished: serving.finished_fold("TransformJobStatus", ("TransformEndTime",)),
    ev.ModelPrepared: serving.fold_model_prepared,
    ev.EndpointReady: serving.fold_endpoint_ready,
    ev.HealthChecked: serving.fold_health,
    ev.ExecutionParameters: serving.fold_execution_parameters,
    ev.TransformProgress: serving.fold_progress,
    ev.TransformObjectDone: serving.fold_object_done,
}
KIND_FOLDS: dict[str, dict[type, Callable[[dict, Any], None]]] = {
    KIND_ENDPOINT: ENDPOINT_FOLDS,
    KIND_TRANSFORM: TRANSFORM_FOLDS,
    KIND_TUNING: tuning.FOLDS,  # --- tuning: DescribeHyperParameterTuningJob-shaped (engine/tuning/records.py)
}
