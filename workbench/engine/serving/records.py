"""How events fold into the records of endpoints and transform jobs.

An endpoint's record is shaped like DescribeEndpoint, a transform job's like
DescribeTransformJob; what the API has no field for (the secondary status, the URL,
health, progress) is in the record's `Workbench` section, as for training jobs. The
tables that use these folds are in `engine/record.py` (KIND_FOLDS).
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from workbench.engine import events as ev
from workbench.engine.times import iso

VARIANT = "AllTraffic"  # the SDK's variant name; the endpoint's one host
TRANSFORM_HOST = "algo-1"
# DescribeTransformJob's members that come from the CreateTransformJob request.
TRANSFORM_REQUEST_FIELDS = ("ModelName", "MaxConcurrentTransforms", "ModelClientConfig", "MaxPayloadInMB",
                            "BatchStrategy", "Environment", "TransformInput", "TransformOutput", "DataCaptureConfig",
                            "TransformResources", "DataProcessing", "ExperimentConfig")


def arn(region: str, account: str, resource: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{resource}/{name.lower()}"


def _workbench(kind: str, model: dict, settings: dict, source: str) -> dict:
    return {"Kind": kind, "SecondaryStatus": "Starting", "Model": model, "Settings": settings, "Source": source,
            "Hosts": {}, "Signals": [], "Notices": []}


def new_endpoint_record(name: str, endpoint_arn: str, model: dict, settings: dict, created: float,
                        source: str = "") -> dict:
    """DescribeEndpoint as CreateEndpoint leaves it (Creating), with one variant, one instance.
    `model`: the CreateModel request it serves (ModelName, Image, ModelDataUrl, Environment)."""
    return {
        "EndpointName": name,
        "EndpointArn": endpoint_arn,
        "EndpointConfigName": name,
        "ProductionVariants": [{"VariantName": VARIANT, "DeployedImages": [{"SpecifiedImage": model.get("Image", "")}],
                                "CurrentWeight": 1.0, "DesiredWeight": 1.0, "CurrentInstanceCount": 1,
                                "DesiredInstanceCount": 1}],
        "EndpointStatus": "Creating",
        "CreationTime": iso(created),
        "LastModifiedTime": iso(created),
        "Workbench": _workbench("endpoint", model, settings, source),
    }


def new_transform_record(request: dict, job_arn: str, model: dict, settings: dict, created: float,
                         source: str = "") -> dict:
    """DescribeTransformJob as CreateTransformJob leaves it (InProgress)."""
    record: dict = {"TransformJobName": request["TransformJobName"], "TransformJobArn": job_arn,
                    "TransformJobStatus": "InProgress"}
    for key in TRANSFORM_REQUEST_FIELDS:
        if key in request:
            record[key] = copy.deepcopy(request[key])
    record.update({"CreationTime": iso(created), "LastModifiedTime": iso(created),
                   "Workbench": _workbench("transform", model, settings, source)})
    return record


def _bench(record: dict) -> dict:
    return record.setdefault("Workbench", {})


def _transition(record: dict, status: str, secondary: str, message: str, at: float) -> None:
    transitions = _bench(record).setdefault("StatusTransitions", [])
    if transitions and transitions[-1]["Status"] == secondary:
        return
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = iso(at)
    transitions.append({"Status": secondary, "Primary": status, "StartTime": iso(at), "StatusMessage": message})


def status_fold(field: str, start: str = "", started: str = "") -> Callable[[dict, ev.StatusChanged], None]:
    """StatusChanged into `field` (EndpointStatus, TransformJobStatus); the time field
    `start` (TransformStartTime) is set when the secondary status `started` begins."""

    def fold(record: dict, event: ev.StatusChanged) -> None:
        if start and start not in record and event.secondary == started:
            record[start] = iso(event.time)
        record[field] = event.status
        _bench(record)["SecondaryStatus"] = event.secondary
        _transition(record, event.status, event.secondary, event.message, event.time)

    return fold


def finished_fold(field: str, end: tuple[str, ...]) -> Callable[[dict, ev.JobFinished], None]:
    def fold(record: dict, event: ev.JobFinished) -> None:
        record[field] = event.status
        _bench(record)["SecondaryStatus"] = event.secondary
        _transition(record, event.status, event.secondary, event.failure_reason[:200], event.time)
        transitions = _bench(record).get("StatusTransitions") or []
        if transitions and "EndTime" not in transitions[-1]:
            transitions[-1]["EndTime"] = iso(event.time)
        if event.failure_reason:
            record["FailureReason"] = event.failure_reason[:1024]
        holder: Any = record
        for key in end[:-1]:
            holder = holder.setdefault(key, {})
        holder[end[-1]] = iso(event.time)

    return fold


def fold_model_prepared(record: dict, event: ev.ModelPrepared) -> None:
    _bench(record)["ModelData"] = {"Source": event.source, "Files": event.files, "Bytes": event.bytes,
                                   "Seconds": round(event.seconds, 3), "Skipped": list(event.skipped)}


def fold_endpoint_ready(record: dict, event: ev.EndpointReady) -> None:
    bench = _bench(record)
    bench.update({"Url": event.url, "Port": event.port, "StartupSeconds": round(event.startup_seconds, 3)})
    bench["Health"] = {"Healthy": True, "Status": 200, "LatencyMs": round(event.ping_ms, 1),
                       "CheckedAt": iso(event.time), "Message": ""}


def fold_health(record: dict, event: ev.HealthChecked) -> None:
    _bench(record)["Health"] = {"Healthy": event.healthy, "Status": event.status,
                                "LatencyMs": None if event.latency_ms is None else round(event.latency_ms, 1),
                                "CheckedAt": iso(event.time), "Message": event.message}


def fold_execution_parameters(record: dict, event: ev.ExecutionParameters) -> None:
    """DescribeTransformJob shows the values the job runs with."""
    record["MaxConcurrentTransforms"] = event.max_concurrent_transforms
    record["BatchStrategy"] = event.batch_strategy
    record["MaxPayloadInMB"] = event.max_payload_mb
    _bench(record)["ExecutionParameters"] = {"Answered": dict(event.answered), "Sources": dict(event.sources)}


def fold_progress(record: dict, event: ev.TransformProgress) -> None:
    _bench(record)["Progress"] = {"Objects": event.objects_total, "ObjectsDone": event.objects_done,
                                  "ObjectsFailed": event.failed, "Records": event.records,
                                  "Requests": event.requests, "BytesIn": event.bytes_in, "BytesOut": event.bytes_out}


def fold_object_done(record: dict, event: ev.TransformObjectDone) -> None:
    bench = _bench(record)
    if event.error:
        failed = bench.setdefault("FailedObjects", [])
        if len(failed) < 100:
            failed.append({"Source": event.source, "Error": event.error[:300]})
    else:
        bench["Outputs"] = bench.get("Outputs", 0) + 1
