"""Job folders written through the engine's own store, with fixed times, so screens that
show jobs are deterministic (snapshots) without running containers."""

from __future__ import annotations

import json
import time
from pathlib import Path

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.record import new_record
from workbench.engine.store import JobRecorder, create_job_dir
from workbench.spec import write_spec_file

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def spec_for(name: str, hosts: int = 1, **extra) -> dict:
    spec = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "sm-workbench/shell:latest", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::000000000000:role/sm-workbench-local",
        "HyperParameters": {"epochs": "3"},
        "OutputDataConfig": {"S3OutputPath": "file:///tmp/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": hosts, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Workbench": {"StopGracePeriodSeconds": 5},
    }
    spec.update(extra)
    return spec


def make_job(name: str, *, start: float = T0, hosts: int = 1, status: str = "Completed", lines: int = 5,
             stopped: bool = False, running: bool = False, extra_events: list | None = None,
             spec: dict | None = None, failure: str = "", files: dict[str, str] | None = None) -> Path:
    """A finished (or, with `running`, a live-looking) job; returns its folder."""
    spec = spec or spec_for(name, hosts)
    paths = create_job_dir(name)
    write_spec_file(paths.spec, spec)
    host_names = tuple(f"algo-{i}" for i in range(1, hosts + 1))
    recorder = JobRecorder(paths, new_record(spec, f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}",
                                             start))
    t = start
    emit = recorder

    def at(offset: float) -> float:
        return start + offset

    emit(ev.JobCreated(name, "arn", host_names, "", time=at(0)))
    emit(ev.StatusChanged("InProgress", "Starting", "Preparing the instances for training", time=at(0.1)))
    emit(ev.StatusChanged("InProgress", "Downloading", "Downloading input data", time=at(0.5)))
    emit(ev.StatusChanged("InProgress", "Training", "Training in progress.", time=at(1.0)))
    if (spec.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"):  # as the runner says it
        emit(ev.DeadlineSet(at(1.0) + spec["StoppingCondition"]["MaxRuntimeInSeconds"], time=at(1.0)))
    for index, host in enumerate(host_names):
        emit(ev.HostStarted(host, f"{index:064d}", "homogeneousCluster", "ml.m5.large", time=at(1.1)))
        emit(ev.LogLines(host, tuple((at(2 + i * 0.5), f"{host}: epoch {i + 1}/{lines} loss=0.{9 - i % 9}")
                                     for i in range(lines)), time=at(2 + lines * 0.5)))
        opt_ml = paths.opt_ml(host)
        for rel, text in {"input/config/hyperparameters.json": json.dumps(spec.get("HyperParameters", {})),
                          "input/config/resourceconfig.json": json.dumps(
                              {"current_host": host, "hosts": list(host_names)}),
                          "model/model.json": '{"words": 26}', **(files or {})}.items():
            target = opt_ml / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    for event in extra_events or []:
        emit(event)
    t = at(2 + lines * 0.5 + 1)
    if stopped:
        emit(ev.StatusChanged("Stopping", "Stopping", "Stopping the training job", time=t))
        for host in host_names:
            emit(ev.SignalSent(host, "SIGTERM", "Stopped", time=t + 0.01))
            emit(ev.HostExited(host, 143, "SIGTERM", time=t + 0.8))
            emit(ev.SignalOutcome(host, "Stopped", t + 0.01, t + 0.8, 143, "SIGTERM", False, 5.0, time=t + 0.8))
    else:
        for host in host_names:
            code = 0 if status != "Failed" else 3
            emit(ev.HostExited(host, code, time=t))
    if running:
        control.claim(paths, role="worker")  # this test process "runs" it
        recorder.close()
        return paths.root
    emit(ev.StatusChanged("Stopping" if stopped else "InProgress", "Uploading", "Uploading generated training model",
                          time=t + 1))
    final = ("Stopped", "Stopped") if stopped else (status, status)
    emit(ev.JobFinished(final[0], final[1], failure, "file:///tmp/out/model.tar.gz", time=t + 2))
    recorder.close()
    return paths.root


# --- serving: endpoints ---------------------------------------------------------------


def make_endpoint(name: str, *, start: float = T0, running: bool = True, requests: int = 3,
                  port: int = 49153) -> Path:
    """An endpoint as the engine records one (InService, owned by this test process, with
    `requests` requests in its history; or, without `running`, stopped OutOfService)."""
    from workbench.engine.serving.records import VARIANT, new_endpoint_record

    paths = create_job_dir(name)
    model = {"ModelName": "train-resnet", "Image": "smw-test/inference:latest",
             "ModelDataUrl": "file:///tmp/out/train-resnet/output/model.tar.gz", "Environment": {}}
    write_spec_file(paths.spec, {"ModelName": "train-resnet", "PrimaryContainer": {
        "Image": model["Image"], "ModelDataUrl": model["ModelDataUrl"]}})
    recorder = JobRecorder(paths, new_endpoint_record(
        name, f"arn:aws:sagemaker:us-east-1:000000000000:endpoint/{name}", model,
        {"Port": 0, "StartupTimeoutSeconds": 240, "StopGracePeriodSeconds": 30}, start, "train-resnet"))

    def at(offset: float) -> float:
        return start + offset

    recorder(ev.JobCreated(name, "arn", (VARIANT,), "train-resnet", time=at(0)))
    recorder(ev.StatusChanged("Creating", "Preparing", "Placing the model in /opt/ml/model", time=at(0.1)))
    recorder(ev.ModelPrepared(model["ModelDataUrl"], 1, 64, 0.01, time=at(0.2)))
    recorder(ev.StatusChanged("Creating", "Starting", f"docker run {model['Image']} serve", time=at(0.3)))
    recorder(ev.HostStarted(VARIANT, "0" * 64, "serving", "", time=at(0.5)))
    recorder(ev.StatusChanged("Creating", "Pinging", "Waiting for GET /ping to answer 200 (at most 240 s)",
                              time=at(0.6)))
    recorder(ev.LogLines(VARIANT, ((at(0.7), "serve: y = 2.0 x + 1.0 on 0.0.0.0:8080"),
                                   (at(1.0), 'serve: "GET /ping HTTP/1.1" 200 -')), time=at(1.0)))
    url = f"http://127.0.0.1:{port}"
    recorder(ev.EndpointReady(VARIANT, url, port, 0.8, 2.0, time=at(1.1)))
    recorder(ev.StatusChanged("InService", "Serving", f"Serving on {url}", time=at(1.1)))
    for index in range(requests):
        ok = index != 1
        recorder(ev.EndpointInvoked(
            f"request-{index}", 200 if ok else 400, 3.0 + index, 6, 18 if ok else 40, "text/csv", "",
            "text/csv" if ok else "text/plain", "" if ok else 'ModelError: Received client error (400) from the model',
            "1\n2\n3\n", "3.0\n5.0\n7.0\n" if ok else "cannot read the text/csv body", time=at(10 + index * 5)))
    if running:
        control.claim(paths, role="worker")  # this test process "serves" it
        recorder.close()
        return paths.root
    recorder(ev.StatusChanged("Deleting", "Stopping", "Stopping the container", time=at(60)))
    recorder(ev.HostExited(VARIANT, 0, time=at(60.5)))
    recorder(ev.JobFinished("OutOfService", "Stopped", time=at(60.6)))
    recorder.close()
    return paths.root


# --- tuning: a tuning job and its trials -----------------------------------------------

TUNING_REQUEST = {
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "1", "MaxValue": "5"}],
            "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1",
                                           "ScalingType": "Logarithmic"}],
            "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "adam"]}],
        },
        "TrainingJobEarlyStoppingType": "Auto",
    },
    "TrainingJobDefinition": {
        "AlgorithmSpecification": {"TrainingImage": "smw-test/objective:latest", "TrainingInputMode": "File",
                                   "MetricDefinitions": [{"Name": "validation:accuracy",
                                                          "Regex": "accuracy=([0-9.]+)"}]},
        "RoleArn": "arn:aws:iam::000000000000:role/sm-workbench-local",
        "StaticHyperParameters": {"batch": "32"},
        "OutputDataConfig": {"S3OutputPath": "file:///tmp/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    },
}

# (index, tuned hyperparameters, final status, objective or None, early stopped)
TRIALS = [
    (1, {"epochs": "3", "lr": "0.01", "optimizer": "adam"}, "Completed", 0.82, False),
    (2, {"epochs": "1", "lr": "0.0005", "optimizer": "sgd"}, "Stopped", 0.41, True),
    (3, {"epochs": "5", "lr": "0.03", "optimizer": "adam"}, "Completed", 0.91, False),
    (4, {"epochs": "2", "lr": "0.09", "optimizer": "sgd"}, "Failed", None, False),
    (5, {"epochs": "4", "lr": "0.002", "optimizer": "adam"}, "InProgress", None, False),
]


def trial_job_name(tuning: str, index: int) -> str:
    return f"{tuning}-{index:03d}-{index:08x}"


def make_tuning(name: str, *, start: float = T0, trials: list | None = None, running: bool = True,
                source: str = "", spec: dict | None = None) -> Path:
    """A tuning job as the engine records one, built by folding its events (proposals,
    trial updates, an early stop) into `new_tuning_record`, with a training job folder for
    each trial. `running`: owned by this test process (never taken over), else Completed."""
    from workbench.engine.tuning.records import new_tuning_record, tuning_arn

    trials = TRIALS if trials is None else trials
    paths = create_job_dir(name)
    spec = spec or {"HyperParameterTuningJobName": name, **TUNING_REQUEST}
    write_spec_file(paths.spec, spec)
    recorder = JobRecorder(paths, new_tuning_record(spec, tuning_arn("us-east-1", "000000000000", name), start,
                                                    {"StopGracePeriodSeconds": 5}, source))

    def at(offset: float) -> float:
        return start + offset

    recorder(ev.StatusChanged("InProgress", "Starting", "Starting the tuner", time=at(0)))
    for index, tuned, status, objective, early in trials:
        trial = trial_job_name(name, index)
        t = at(index * 60)
        recorder(ev.TrialProposed(trial, index, dict(tuned), time=t))
        spec = spec_for(trial, HyperParameters={"batch": "32", **tuned,
                                                "_tuning_objective_metric": "validation:accuracy"})
        make_job(trial, start=t, status="Failed" if status == "Failed" else "Completed",
                 stopped=status == "Stopped", running=status == "InProgress", spec=spec, lines=3,
                 failure="AlgorithmError: exit code 1" if status == "Failed" else "")
        iso = lambda offset: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t + offset))  # noqa: E731
        if early:
            recorder(ev.TrialEarlyStopped(trial, "Auto", 2, objective, threshold=0.6,
                                          message="behind the median of earlier trials", time=t + 20))
        recorder(ev.TrialUpdated(
            trial, status, status, start=iso(1), end="" if status == "InProgress" else iso(30),
            failure_reason="AlgorithmError: exit code 1" if status == "Failed" else "", objective=objective,
            objective_status="Succeeded" if objective is not None else (
                "Pending" if status == "InProgress" else "Failed"), values=3 if objective is not None else 0,
            time=t + 30))
    if running:
        control.claim(paths, role="worker")  # this test process "runs" the tuner
        recorder.close()
        return paths.root
    recorder(ev.JobFinished("Completed", "Completed", time=at(len(trials) * 60 + 60)))
    recorder.close()
    return paths.root
