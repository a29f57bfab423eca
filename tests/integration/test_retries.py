"""RetryStrategy (issue 16, point 4): a job that fails for an internal reason runs again on fresh
hosts with the same names, as SageMaker retries an InternalServerError; an algorithm error never."""

from __future__ import annotations

import pytest

from workbench.engine import events as ev
from tests.integration.checkpoint_jobs import BackgroundJob
from tests.integration.contract_jobs import contract_report, contract_spec
from tests.integration.jobs import leftovers, run_spec, wait_for

pytestmark = pytest.mark.docker


def test_a_container_killed_from_outside_is_retried_on_fresh_hosts(tmp_path, images, docker_client):
    """The engine fault is injected as `docker kill` of algo-1's training container: the runner
    classifies it as an InternalServerError, so with RetryStrategy the job runs again (the probe
    sleeps only while init-config.json says jobRunNumber 1) and completes."""
    spec = contract_spec(tmp_path, hosts=2, environment={"PROBE_FIRST_RUN_SLEEP": "120"},
                         RetryStrategy={"MaximumRetryAttempts": 2})
    job = BackgroundJob(spec, tmp_path)
    wait_for(lambda: sum("first run, sleeping" in line for h in ("algo-1", "algo-2") for line in job.log(h)) == 2,
             60, "both hosts' first run")
    docker_client.containers.get(f"smw-{job.name}-algo-1").kill()
    record = job.finish(180)

    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    [retry] = record["Workbench"]["Retries"]
    assert retry["Attempt"] == 1 and retry["Reason"] == "InternalServerError"
    assert retry["FailureReason"].startswith("InternalServerError: algo-1's container received SIGKILL")
    assert record["Workbench"]["Attempt"] == 2 and "Interruptions" not in record["Workbench"]
    assert "FailureReason" not in record and "FailureReason" not in record["Workbench"]["Hosts"]["algo-1"]
    statuses = [t["Status"] for t in record["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Starting", "Downloading", "Training", "Uploading",
                        "Completed"]
    assert record["SecondaryStatusTransitions"][3]["StatusMessage"].startswith(
        "Retrying the training job after an internal error (retry 1 of 2)")
    [started] = job.of(ev.AttemptStarted)
    assert (started.attempt, started.reason) == (2, "InternalServerError")
    ran = type("R", (), {"paths": job.paths})
    for host in ("algo-1", "algo-2"):  # fresh trees, same names; the failed attempt's kept aside
        seen = contract_report(ran, host)
        assert seen["configs"]["init-config.json"]["jobRunInfo"] == {"jobRunNumber": 2}
        assert seen["configs"]["resourceconfig.json"]["current_host"] == host
        assert (job.paths.root / "attempts" / "1" / host / "opt_ml").is_dir()
    assert leftovers(docker_client, job.name) == []


def test_an_algorithm_error_is_never_retried(tmp_path, images, docker_client):
    ran = run_spec(contract_spec(tmp_path, environment={"PROBE_EXIT": "3"},
                                 RetryStrategy={"MaximumRetryAttempts": 3}), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("AlgorithmError: algo-1 exited with exit code 3")
    assert "Retries" not in ran.record["Workbench"] and not ran.of(ev.AttemptStarted)
    assert [t["Status"] for t in ran.record["SecondaryStatusTransitions"]].count("Starting") == 1


def test_without_retry_strategy_an_internal_error_fails_the_job(tmp_path, images, docker_client):
    spec = contract_spec(tmp_path, environment={"PROBE_FIRST_RUN_SLEEP": "120"})
    job = BackgroundJob(spec, tmp_path)
    wait_for(lambda: any("first run, sleeping" in line for line in job.log()), 60, "the first run")
    docker_client.containers.get(f"smw-{job.name}-algo-1").kill()
    record = job.finish(120)
    assert record["TrainingJobStatus"] == "Failed"
    assert record["FailureReason"].startswith("InternalServerError: algo-1's container received SIGKILL")
    assert "Retries" not in record["Workbench"]


def test_staging_that_fails_because_s3_does_not_answer_is_retried(tmp_path, images, monkeypatch):
    """An S3 that cannot be reached (or answers 5xx) is not the request's fault: InternalServerError,
    retried; once the retries are used up the job fails with that reason."""
    from tests.integration.test_checkpoint_faults import OwnS3

    server = OwnS3()  # never started: nothing answers on its port
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    spec = contract_spec(tmp_path, RetryStrategy={"MaximumRetryAttempts": 1})
    spec["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://nowhere/train/"
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("InternalServerError: Cannot list s3://nowhere/train/")
    assert server.endpoint in ran.record["FailureReason"]
    [retry] = ran.record["Workbench"]["Retries"]
    assert retry["FailureReason"] == ran.record["FailureReason"]
    assert [t["Status"] for t in ran.record["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Starting", "Downloading", "Failed"]
    assert "RetryStrategy: the 1 retry allowed is used up" in [n.message for n in ran.of(ev.Notice)]
