"""A tuning job's record, shaped like DescribeHyperParameterTuningJob, and its trials as
ListTrainingJobsForHyperParameterTuningJob lists them (HyperParameterTrainingJobSummary).

Built, as every record is, by folding the job's events (`FOLDS`, used by `engine/record.py`
for records whose Workbench.Kind is "tuning"). The summaries live in the record's
`Workbench.TrainingJobSummaries` (the API returns them from another call); what the API
has no field for (why a trial was stopped early, its index) is in `Workbench.Trials`.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from workbench.engine import events as ev
from workbench.engine.times import epoch, iso

KIND = "tuning"
STATUS = "HyperParameterTuningJobStatus"
TRIAL_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
REQUEST_FIELDS = ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions",
                  "WarmStartConfig", "Autotune")
RETRYABLE_PREFIXES = ("InternalServerError", "InternalError", "CapacityError")
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"


def tuning_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:hyper-parameter-tuning-job/{name.lower()}"


def training_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:training-job/{name}"


def objective_of(record: dict, definition: str = "") -> dict:
    """{Type, MetricName} of the tuning job (of one definition, when it has several)."""
    for item in record.get("TrainingJobDefinitions") or []:
        if isinstance(item, dict) and item.get("DefinitionName") == definition and item.get("TuningObjective"):
            return item["TuningObjective"]
    single = (record.get("TrainingJobDefinition") or {}).get("TuningObjective")
    config = (record.get("HyperParameterTuningJobConfig") or {}).get("HyperParameterTuningJobObjective")
    found = single or config
    if not found:
        found = next((d.get("TuningObjective") for d in record.get("TrainingJobDefinitions") or []
                      if isinstance(d, dict) and d.get("TuningObjective")), None)
    return found or {}


def new_tuning_record(request: dict, arn: str, created: float, settings: dict, source: str = "") -> dict:
    """DescribeHyperParameterTuningJob as CreateHyperParameterTuningJob leaves it
    (InProgress), the static hyperparameters with `_tuning_objective_metric` as SageMaker
    shows them."""
    record: dict = {"HyperParameterTuningJobName": request["HyperParameterTuningJobName"],
                    "HyperParameterTuningJobArn": arn}
    for key in REQUEST_FIELDS:
        if key in request:
            record[key] = copy.deepcopy(request[key])
    for item in [record.get("TrainingJobDefinition"), *(record.get("TrainingJobDefinitions") or [])]:
        if isinstance(item, dict):
            metric = (item.get("TuningObjective") or objective_of(record)).get("MetricName")
            if metric:
                item["StaticHyperParameters"] = {**(item.get("StaticHyperParameters") or {}),
                                                 OBJECTIVE_HYPERPARAMETER: metric}
    record.update({
        STATUS: "InProgress",
        "CreationTime": iso(created),
        "LastModifiedTime": iso(created),
        "TrainingJobStatusCounters": counters([])[0],
        "ObjectiveStatusCounters": counters([])[1],
        "Workbench": {"Kind": KIND, "SecondaryStatus": "Starting", "Settings": settings, "Source": source,
                      "TrainingJobSummaries": [], "Trials": {}, "Notices": []},
    })
    return record


# --- what the trials add up to ----------------------------------------------------------


def counters(summaries: list[dict]) -> tuple[dict, dict]:
    """TrainingJobStatusCounters and ObjectiveStatusCounters, as the API counts them: a
    failed training job is a RetryableError when SageMaker's side failed, else a
    NonRetryableError; its objective Failed, as a job's that never reported it."""
    jobs = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for summary in summaries:
        status = summary.get("TrainingJobStatus")
        if status in ("InProgress", "Stopping"):
            jobs["InProgress"] += 1
        elif status == "Failed":
            retryable = str(summary.get("FailureReason") or "").startswith(RETRYABLE_PREFIXES)
            jobs["RetryableError" if retryable else "NonRetryableError"] += 1
        elif status in jobs:
            jobs[status] += 1
        objective = summary.get("ObjectiveStatus", "Pending")
        objectives[objective if objective in objectives else "Pending"] += 1
    return jobs, objectives


def objective_value(summary: dict) -> float | None:
    if summary.get("ObjectiveStatus") != "Succeeded":
        return None
    value = (summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def best_of(summaries: list[dict], maximize: bool) -> dict | None:
    """The summary with the best objective (the first to reach it, on a tie)."""
    best, best_value = None, None
    for summary in summaries:
        value = objective_value(summary)
        if value is None:
            continue
        if best_value is None or (value > best_value if maximize else value < best_value):
            best, best_value = summary, value
    return best


def _bench(record: dict) -> dict:
    return record.setdefault("Workbench", {})


def _summaries(record: dict) -> list[dict]:
    return _bench(record).setdefault("TrainingJobSummaries", [])


def _refresh(record: dict) -> None:
    """Counters, the best training job and the progress line, from the summaries."""
    summaries = _summaries(record)
    record["TrainingJobStatusCounters"], record["ObjectiveStatusCounters"] = counters(summaries)
    maximize = objective_of(record).get("Type") != "Minimize"
    best = best_of(summaries, maximize)
    if best is not None:
        record["BestTrainingJob"] = copy.deepcopy(best)
        parent = _bench(record).get("ParentBest")
        if parent:  # IdenticalDataAndAlgorithm: the best over this job and its parents
            overall = best_of([best, parent], maximize)
            record["OverallBestTrainingJob"] = copy.deepcopy(overall)
    if record.get(STATUS) == "InProgress" and _bench(record).get("SecondaryStatus") not in ("Stopping", "Ending"):
        jobs = record["TrainingJobStatusCounters"]
        done = len(summaries) - jobs["InProgress"]
        limit = (record.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits", {}).get(
            "MaxNumberOfTrainingJobs") or _bench(record).get("MaxTrainingJobs") or "?"
        _bench(record)["SecondaryStatus"] = f"{jobs['InProgress']} running, {done} of {limit} done"


def _find(record: dict, name: str) -> dict | None:
    return next((s for s in _summaries(record) if s.get("TrainingJobName") == name), None)


# --- folds ------------------------------------------------------------------------------


def _status_changed(record: dict, event: ev.StatusChanged) -> None:
    record[STATUS] = event.status
    _bench(record)["SecondaryStatus"] = event.secondary
    if event.message:
        _bench(record)["StatusMessage"] = event.message
    _refresh(record)


def _finished(record: dict, event: ev.JobFinished) -> None:
    record[STATUS] = event.status
    _bench(record)["SecondaryStatus"] = event.secondary
    record["HyperParameterTuningEndTime"] = iso(event.time)
    if event.failure_reason:
        record["FailureReason"] = event.failure_reason[:1024]
    created = epoch(record.get("CreationTime"))
    if created:
        record["ConsumedResources"] = {"RuntimeInSeconds": max(int(round(event.time - created)), 0)}
    _refresh(record)


def _proposed(record: dict, event: ev.TrialProposed) -> None:
    if _find(record, event.name) is not None:
        return
    settings = _bench(record).get("Settings") or {}
    summary = {
        "TrainingJobName": event.name,
        "TrainingJobArn": training_arn(str(settings.get("Region", "us-east-1")),
                                       str(settings.get("AccountId", "000000000000")), event.name),
        "TuningJobName": record.get("HyperParameterTuningJobName", ""),
        "CreationTime": iso(event.time),
        "TrainingJobStatus": "InProgress",
        "TunedHyperParameters": dict(event.hyperparameters),
        "ObjectiveStatus": "Pending",
    }
    if event.definition:
        summary = {"TrainingJobDefinitionName": event.definition, **summary}
    _summaries(record).append(summary)
    _bench(record).setdefault("Trials", {})[event.name] = {"Index": event.index}
    _refresh(record)


def _updated(record: dict, event: ev.TrialUpdated) -> None:
    summary = _find(record, event.name)
    if summary is None:
        return
    summary["TrainingJobStatus"] = event.status
    for key, value in (("TrainingStartTime", event.start), ("TrainingEndTime", event.end),
                       ("FailureReason", event.failure_reason)):
        if value:
            summary[key] = value[:1024] if key == "FailureReason" else value
        else:
            summary.pop(key, None)
    summary["ObjectiveStatus"] = event.objective_status
    if event.objective is not None and event.objective_status != "Failed":
        objective = objective_of(record, summary.get("TrainingJobDefinitionName", ""))
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            **({"Type": objective["Type"]} if objective.get("Type") else {}),
            "MetricName": objective.get("MetricName", ""), "Value": float(event.objective)}
    else:
        summary.pop("FinalHyperParameterTuningJobObjectiveMetric", None)
    trial = _bench(record).setdefault("Trials", {}).setdefault(event.name, {})
    trial["SecondaryStatus"] = event.secondary
    trial["ObjectiveValues"] = event.values
    _refresh(record)


def _early_stopped(record: dict, event: ev.TrialEarlyStopped) -> None:
    trial = _bench(record).setdefault("Trials", {}).setdefault(event.name, {})
    trial["EarlyStopped"] = {"Rule": event.rule, "Epoch": event.step, "Value": event.value,
                             **({"Median": event.threshold} if event.threshold is not None else {}),
                             "Message": event.message, "Time": iso(event.time)}


def _ending(record: dict, event: ev.TuningEnding) -> None:
    bench = _bench(record)
    bench["Ending"] = {"Status": event.status, "Reason": event.reason, "Message": event.message,
                       "Time": iso(event.time)}
    if event.not_improving is not None:
        record["TuningJobCompletionDetails"] = {"NumberOfTrainingJobsObjectiveNotImproving": event.not_improving}
    if event.status != "Stopped" and record.get(STATUS) == "InProgress":
        bench["SecondaryStatus"] = "Ending"


def _notice(record: dict, event: ev.Notice) -> None:
    notices = _bench(record).setdefault("Notices", [])
    if len(notices) < 200:
        notices.append({"Level": event.level, "Message": event.message, "Time": iso(event.time)})


FOLDS: dict[type, Callable[[dict, Any], None]] = {
    ev.StatusChanged: _status_changed,
    ev.JobFinished: _finished,
    ev.Notice: _notice,
    ev.TrialProposed: _proposed,
    ev.TrialUpdated: _updated,
    ev.TrialEarlyStopped: _early_stopped,
    ev.TuningEnding: _ending,
}


# --- ListTrainingJobsForHyperParameterTuningJob ------------------------------------------

SORT_KEYS = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")


def list_trials(record: dict, *, status: str | None = None, sort_by: str = "Name",
                sort_order: str = "Ascending") -> list[dict]:
    """The trials as ListTrainingJobsForHyperParameterTuningJob returns them: filtered by
    StatusEquals, sorted by SortBy (FinalObjectiveMetricValue leaves out the ones with no
    objective, as the API does)."""
    summaries = [copy.deepcopy(s) for s in (record.get("Workbench") or {}).get("TrainingJobSummaries") or []]
    if status:
        summaries = [s for s in summaries if s.get("TrainingJobStatus") == status]
    keys: dict[str, Callable[[dict], Any]] = {
        "Name": lambda s: s.get("TrainingJobName", ""),
        "CreationTime": lambda s: s.get("CreationTime", ""),
        "Status": lambda s: s.get("TrainingJobStatus", ""),
        "FinalObjectiveMetricValue": lambda s: objective_value(s),
    }
    if sort_by == "FinalObjectiveMetricValue":
        summaries = [s for s in summaries if objective_value(s) is not None]
    summaries.sort(key=keys.get(sort_by, keys["Name"]), reverse=sort_order == "Descending")
    return summaries


def trial_names(record: dict) -> list[str]:
    """The names of a tuning job's training jobs, in launch order."""
    return [s["TrainingJobName"] for s in (record.get("Workbench") or {}).get("TrainingJobSummaries") or []
            if isinstance(s, dict) and isinstance(s.get("TrainingJobName"), str)]
