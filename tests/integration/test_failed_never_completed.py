"""A failed job is never recorded as Completed: a takeover in the middle of a failure's stop,
containers ended by someone else, channels with nothing in them."""

import json
import os
import signal
import subprocess
import threading

import pytest

from workbench.engine import events as ev
from workbench.engine.record import epoch
from tests.integration.jobs import leftovers, probe_spec, run_spec, shell_job, wait_for

pytestmark = pytest.mark.docker


FAILS_WHILE_OTHER_IGNORES_TERM = (
    'if [ "$(hostname)" = algo-1 ]; then sleep 2; echo "AlgorithmError: boom" > /opt/ml/output/failure; exit 3; fi\n'
    "trap '' TERM\n"
    "sleep 60"
)


def test_a_takeover_in_the_middle_of_a_failures_stop_ends_failed_with_the_same_deadline(tmp_path, images,
                                                                                         docker_client):
    """Reproduction: the workbench was killed after algo-1 exited 3 and while algo-2 (which
    ignores SIGTERM) was being stopped; the process that took over forgot the stop (algo-2
    ran to its end, never SIGKILLed) and the job ended Completed with no FailureReason."""
    from workbench.engine.api import launch, wait_for_job
    from workbench.engine.store import load_record
    from workbench.spec import check_spec

    grace = 5
    spec = shell_job(tmp_path, images, FAILS_WHILE_OTHER_IGNORES_TERM, hosts=2,
                     Workbench={"StopGracePeriodSeconds": grace})
    job = launch(check_spec(spec, base_dir=tmp_path), detach=True)

    def sigterm_sent():
        signals = (load_record(job.paths).get("Workbench") or {}).get("Signals") or []
        return next((s for s in signals if s["Host"] == "algo-2" and s["Signal"] == "SIGTERM"), None)

    term = wait_for(sigterm_sent, timeout=60, what="the SIGTERM to algo-2")
    os.kill(job.pid, signal.SIGKILL)  # the workbench dies in the middle of the stop
    record = wait_for_job(job.name, timeout=120)  # looking at the job takes it over

    assert record["TrainingJobStatus"] == "Failed"
    assert record["FailureReason"] == "AlgorithmError: boom\n"
    hosts = record["Workbench"]["Hosts"]
    assert hosts["algo-1"]["ExitCode"] == 3
    assert (hosts["algo-2"]["ExitCode"], hosts["algo-2"]["Signal"]) == (137, "SIGKILL")
    kill = next(s for s in record["Workbench"]["Signals"] if s["Signal"] == "SIGKILL")
    assert (kill["Host"], kill["Reason"]) == ("algo-2", "Failed")
    took_over = next(n for n in record["Workbench"]["Notices"] if "took over" in n["Message"])
    # SIGKILL at the dead runner's deadline: SIGTERM + grace, not the takeover + grace.
    assert epoch(term["Time"]) + grace - 0.01 <= epoch(kill["Time"]) < epoch(took_over["Time"]) + grace
    assert leftovers(docker_client, job.name) == []


TRAPS_TERM_AND_EXITS_0 = "trap 'echo bye; exit 0' TERM\necho ready\nwhile true; do sleep 0.2; done"


def run_in_background(spec, tmp_path):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("ran", run_spec(spec, tmp_path)), daemon=True)
    thread.start()
    return thread, result


def training_container(docker_client, name: str, host: str = "algo-1"):
    def ready():
        found = docker_client.containers.list(filters={"label": [f"sm-workbench.job={name}",
                                                                  f"sm-workbench.host={host}",
                                                                  "sm-workbench.role=training"]})
        return found[0] if found and b"ready" in found[0].logs() else None
    return wait_for(ready, timeout=60, what=f"{host}'s container to be ready")


def test_a_container_ended_by_someone_else_fails_the_job(tmp_path, images, docker_client):
    """Reproduction: `docker kill -s TERM` (or `docker stop`) on a job's container, whose
    script handles SIGTERM and exits 0, ended the job Completed with no notice: training
    was cut short by a signal sm-workbench never sent."""
    spec = shell_job(tmp_path, images, TRAPS_TERM_AND_EXITS_0)
    thread, result = run_in_background(spec, tmp_path)
    container = training_container(docker_client, spec["TrainingJobName"])
    subprocess.run(["docker", "kill", "-s", "TERM", container.id], check=True, capture_output=True)
    thread.join(timeout=120)
    ran = result["ran"]
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("InternalServerError: algo-1's container received SIGTERM, "
                                                  "which sm-workbench did not send")
    assert ran.record["Workbench"]["Hosts"]["algo-1"]["ExitCode"] == 0
    assert any(n.level == "error" and "did not send" in n.message for n in ran.of(ev.Notice))
    assert leftovers(docker_client, ran.name) == []


def test_one_host_ended_from_outside_stops_the_others(tmp_path, images, docker_client):
    spec = shell_job(tmp_path, images, TRAPS_TERM_AND_EXITS_0, hosts=2)
    thread, result = run_in_background(spec, tmp_path)
    container = training_container(docker_client, spec["TrainingJobName"], "algo-2")
    training_container(docker_client, spec["TrainingJobName"], "algo-1")
    subprocess.run(["docker", "stop", "-t", "5", container.id], check=True, capture_output=True)
    thread.join(timeout=120)
    ran = result["ran"]
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("InternalServerError: algo-2's container received SIGTERM")
    assert {(s.host, s.signal, s.reason) for s in ran.of(ev.SignalSent)} == {("algo-1", "SIGTERM", "Failed")}


def test_our_own_stop_of_a_term_handling_job_is_still_stopped(tmp_path, images, docker_client):
    spec = shell_job(tmp_path, images, TRAPS_TERM_AND_EXITS_0)
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    job = launch(check_spec(spec, base_dir=tmp_path))
    stopper = threading.Thread(target=lambda: (training_container(docker_client, job.name), job.stop()), daemon=True)
    stopper.start()
    record = job.run()
    assert (record["TrainingJobStatus"], record["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "FailureReason" not in record


@pytest.mark.parametrize("mode", ["File", "FastFile", "Pipe"])
@pytest.mark.parametrize("where", ["s3", "local"])
def test_a_channel_with_nothing_in_it_fails_at_downloading(tmp_path, images, docker_client, mode, where, request):
    """Reproduction: a channel whose S3 prefix (or local folder) holds no objects ran to
    Completed; SageMaker refuses such a job with "No S3 objects found under S3 URL ..."."""
    spec = probe_spec(tmp_path, RoleArn="arn:aws:iam::123456789012:role/Trainer")
    if where == "s3":
        bucket = request.getfixturevalue("bucket")
        uri = f"s3://{bucket}/empty/"
    else:
        (tmp_path / "empty").mkdir()
        uri = str(tmp_path / "empty")
    spec["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = uri
    spec["InputDataConfig"][0]["InputMode"] = mode
    ran = run_spec(spec, tmp_path)
    record = ran.record
    assert (record["TrainingJobStatus"], record["SecondaryStatus"]) == ("Failed", "Failed")
    assert [t["Status"] for t in record["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Failed"]
    if where == "s3":
        assert record["FailureReason"] == (
            f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that '
            'the bucket exists in the selected region (us-east-1), that objects exist under that S3 prefix, and that '
            f'the role "arn:aws:iam::123456789012:role/Trainer" has "s3:ListBucket" permissions on bucket "{bucket}".')
    else:
        assert record["FailureReason"].startswith(f'ClientError: No files found under local path "{uri}"')
    assert not ran.of(ev.HostStarted) and "ModelArtifacts" not in record
    assert not (tmp_path / "output").exists()
    assert leftovers(docker_client, ran.name) == []


def test_a_manifest_with_no_entries_fails_at_downloading(tmp_path, images, docker_client):
    spec = probe_spec(tmp_path)
    manifest = tmp_path / "train.manifest"
    manifest.write_text(json.dumps([{"prefix": str(tmp_path / "data") + "/"}]))
    spec["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3DataType="ManifestFile", S3Uri=str(manifest))
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("ClientError: The ManifestFile")
    assert "has no entries" in ran.record["FailureReason"]
    assert leftovers(docker_client, ran.name) == []


def test_a_takeover_reads_the_failure_from_an_older_record(tmp_path):
    """A record written before hosts carried their FailureReason: the first non-zero exit
    before the stop's SIGTERM, with its failure file, is the job's failure."""
    from workbench.engine.events import EventBus
    from workbench.engine.runner import JobRunner
    from workbench.engine.store import JobPaths

    spec = probe_spec(tmp_path, hosts=3)
    spec["RoleArn"] = "arn:aws:iam::000000000000:role/x"
    runner = JobRunner(spec, JobPaths(tmp_path / "job"), EventBus(), None, extensions=[])
    (runner.paths.opt_ml("algo-2") / "output").mkdir(parents=True)
    (runner.paths.opt_ml("algo-2") / "output" / "failure").write_text("AlgorithmError: out of data")
    record = {"TrainingJobStatus": "InProgress", "Workbench": {
        "Hosts": {"algo-1": {"ExitCode": 143, "EndTime": "2026-01-01T00:00:09.000Z"},
                  "algo-2": {"ExitCode": 2, "EndTime": "2026-01-01T00:00:05.000Z"},
                  "algo-3": {}},
        "Signals": [{"Host": "algo-1", "Signal": "SIGTERM", "Reason": "Failed", "Time": "2026-01-01T00:00:05.500Z"},
                    {"Host": "algo-3", "Signal": "SIGTERM", "Reason": "Failed", "Time": "2026-01-01T00:00:05.500Z"}]}}
    runner._resume_stop(record)
    assert runner.failure == "AlgorithmError: out of data"
    assert (runner.stop_reason, runner.killed) == ("", False)
    assert runner.term_sent_at == epoch("2026-01-01T00:00:05.500Z")


def _may_restart_engine() -> str:
    """Why this machine's Docker engine must not be restarted by a test ("" when it may):
    CI (or SMW_TEST_ENGINE_RESTART=1) on a dockerd that scripts/ensure-docker started."""
    if not (os.environ.get("CI") or os.environ.get("SMW_TEST_ENGINE_RESTART")):
        return "restarts the Docker engine: runs in CI, or opt in with SMW_TEST_ENGINE_RESTART=1"
    if os.geteuid() != 0 or not os.path.exists("/var/run/docker.pid"):
        return "restarting the Docker engine needs root and a dockerd started by scripts/ensure-docker"
    return ""


@pytest.mark.restarts_engine  # runs last (tests/conftest.py): nothing else shares the restart
@pytest.mark.skipif(bool(_may_restart_engine()), reason=_may_restart_engine() or "-")
def test_a_docker_engine_restart_mid_job_fails_the_job(tmp_path, images, docker_client):
    """Reproduction: the Docker engine restarted mid-job; its shutdown sent the container
    SIGTERM, the script exited 0, and the job ended Completed with no notice."""
    from tests.conftest import REPO

    spec = shell_job(tmp_path, images, TRAPS_TERM_AND_EXITS_0)
    thread, result = run_in_background(spec, tmp_path)
    training_container(docker_client, spec["TrainingJobName"])
    with open("/var/run/docker.pid") as handle:
        dockerd = int(handle.read())
    os.kill(dockerd, signal.SIGTERM)
    wait_for(lambda: not os.path.exists(f"/proc/{dockerd}"), timeout=60, what="dockerd to stop")
    subprocess.run([str(REPO / "scripts" / "ensure-docker")], check=True, capture_output=True)
    thread.join(timeout=180)
    ran = result["ran"]
    assert ran.record["TrainingJobStatus"] == "Failed"
    assert ran.record["FailureReason"].startswith("InternalServerError: the Docker engine went away while algo-1")
    assert any(n.level == "error" and "engine went away" in n.message for n in ran.of(ev.Notice))
    assert leftovers(docker_client, ran.name) == []
