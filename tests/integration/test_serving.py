"""Local endpoints on the real engine: a model trained by the python-code sample job served
by a small inference image (tests/images/inference), health, limits, stopping, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from tests.integration.jobs import unique, wait_for
from tests.integration.serving import INFERENCE, serving_leftovers, start_serving, train_sample, until_served
from workbench.engine import api
from workbench.engine import events as ev
from workbench.engine.record import is_final, record_status
from workbench.engine.serving.invoke import MAX_PAYLOAD_BYTES
from workbench.errors import InvocationError, JobStateError, NameClash, WorkbenchError

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def model_file(tmp_path, a: float = 2.0, b: float = 1.0):
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "model.json").write_text(json.dumps({"a": a, "b": b}))
    return folder


SM_WORKBENCH = os.path.join(os.path.dirname(sys.executable), "sm-workbench")


def cli(*args: str, stdin: bytes | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([SM_WORKBENCH, *args], input=stdin, capture_output=True, timeout=timeout)


def test_serves_the_model_a_sample_job_trained(tmp_path, images, docker_client):
    """`serve JOB`: the model.tar.gz the job wrote, unpacked into /opt/ml/model, served by its
    training image (the default) with `serve`; requests answer with what the model computes."""
    trained = train_sample(tmp_path)
    model = api.serving_model(trained["TrainingJobName"])
    assert model.image == INFERENCE and model.model_data == trained["ModelArtifacts"]["S3ModelArtifacts"]
    serving = start_serving(model)
    record = until_served(serving)
    assert record["EndpointStatus"] == "InService", record.get("FailureReason")
    assert record["EndpointName"] == f"{trained['TrainingJobName']}-endpoint"
    assert record["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == INFERENCE
    bench = record["Workbench"]
    assert bench["Kind"] == "endpoint" and bench["Url"] == f"http://127.0.0.1:{bench['Port']}"
    assert bench["Health"]["Healthy"] is True

    with tarfile.open(trained["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("file://")) as tar:
        fitted = json.load(tar.extractfile("model.json"))
    answer = api.invoke(serving.name, b"1\n2\n", content_type="text/csv")
    assert answer.status == 200 and answer.content_type == "text/csv" and answer.latency_ms > 0
    assert [float(y) for y in answer.body.split()] == pytest.approx(
        [fitted["a"] * x + fitted["b"] for x in (1, 2)], abs=1e-5)
    answer = api.invoke(serving.name, json.dumps({"x": [3]}).encode(), content_type="application/json",
                        accept="application/json", custom_attributes="trace=7")
    assert json.loads(answer.body)["predictions"] == pytest.approx([fitted["a"] * 3 + fitted["b"]], abs=1e-5)
    assert answer.headers["X-Amzn-SageMaker-Custom-Attributes"] == "trace=7"  # passed through verbatim

    invoked = wait_for(lambda: [e for e in api.job_events(serving.name) if isinstance(e, ev.EndpointInvoked)],
                       what="the requests in the event log")
    assert [e.status for e in invoked] == [200, 200] and invoked[0].content_type == "text/csv"
    assert any(serving.name == r.get("EndpointName") for r in api.list_jobs())  # in the one history

    final = serving.stop()
    assert final["EndpointStatus"] == "OutOfService" and is_final(final)
    assert [t["Status"] for t in final["Workbench"]["StatusTransitions"]] == [
        "Preparing", "Starting", "Pinging", "Serving", "Stopping", "Stopped"]
    assert serving.of(ev.SignalOutcome)[0].signal == "" and serving.of(ev.SignalOutcome)[0].exit_code == 0
    assert serving_leftovers(docker_client, serving.name) == []
    with pytest.raises(JobStateError, match="OutOfService"):
        api.invoke(serving.name, b"1\n")
    api.remove_job(serving.name)


def test_a_model_folder_with_another_image_and_a_chosen_port(tmp_path, images, docker_client):
    model = api.serving_model(str(model_file(tmp_path)), image=INFERENCE, environment={"SOMETHING": "1"})
    port = 20000 + os.getpid() % 20000
    serving = start_serving(model, name=unique("folder"), port=port)
    try:
        record = until_served(serving)
        assert record["Workbench"]["Port"] == port
        assert api.invoke(serving.name, b"4\n", content_type="text/csv").body == b"9.0\n"
        with pytest.raises(NameClash):  # one namespace: a second endpoint of that name is refused
            api.serve(model, name=serving.name)
    finally:
        serving.stop()
    assert serving_leftovers(docker_client, serving.name) == []


def test_payload_and_time_limits_of_invoke_endpoint(tmp_path, images):
    serving = start_serving(api.serving_model(str(model_file(tmp_path)), image=INFERENCE), name=unique("limits"))
    try:
        until_served(serving)
        body = b"1\n" * (MAX_PAYLOAD_BYTES // 2)
        assert len(body) == MAX_PAYLOAD_BYTES
        assert api.invoke(serving.name, body, content_type="text/csv").status == 200  # 6 MiB exactly: taken
        with pytest.raises(InvocationError, match=r"6291457 bytes.*at most .*6291456 bytes"):
            api.invoke(serving.name, body + b"1", content_type="text/csv")
        with pytest.raises(InvocationError, match="CustomAttributes is 1025 characters"):
            api.invoke(serving.name, b"1\n", custom_attributes="x" * 1025)
        with pytest.raises(InvocationError, match="did not answer within 1 s"):
            api.invoke(serving.name, b"1\n", content_type="text/csv", custom_attributes="sleep=3", timeout=1)
        answer = api.invoke(serving.name, b"not a number\n", content_type="text/csv")
        assert answer.status == 400 and "ModelError" in answer.model_error()
        errors = [e.error for e in api.job_events(serving.name) if isinstance(e, ev.EndpointInvoked)]
        assert len(errors) == 5 and "6291457" in errors[1] and "ModelError" in errors[4]
    finally:
        serving.stop()


@pytest.mark.parametrize("environment, rule, words", [
    ({"INFER_EXIT": "3"}, "serve-exits", "exited with code 3 before GET /ping answered 200; its last lines"),
    ({"INFER_PING_STATUS": "503"}, "ping-not-200", "GET /ping answered 503, never 200"),
    ({"INFER_HOST": "127.0.0.1"}, "not-listening", "listens on 127.0.0.1:8080 only"),
    ({"INFER_PORT": "5000"}, "not-listening", "nothing listens on port 8080; the container listens on 5000"),
    ({"INFER_PING_DELAY": "3"}, "slow-ping", "took longer than 2 s"),
], ids=["exits", "ping-503", "loopback-only", "wrong-port", "slow-ping"])
def test_an_unhealthy_container_says_why(tmp_path, images, docker_client, environment, rule, words):
    model = api.serving_model(str(model_file(tmp_path)), image=INFERENCE, environment=environment,
                              overrides=["Workbench.StartupTimeoutSeconds=4", "Workbench.StopGracePeriodSeconds=2"])
    serving = start_serving(model, name=unique("sick"))
    record = serving.wait()
    assert record["EndpointStatus"] == "Failed"
    assert words in record["FailureReason"], record["FailureReason"]
    assert rule in [f.rule for f in serving.of(ev.LintFinding)]
    if rule == "serve-exits":
        assert "serve: exiting on request (INFER_EXIT)" in record["FailureReason"]
    assert serving_leftovers(docker_client, serving.name) == []


def test_an_image_without_serve(tmp_path, images, docker_client):
    """The python image has no ENTRYPOINT and no `serve`: the lint finding says so, and the
    start failure says what SageMaker runs."""
    model = api.serving_model(str(model_file(tmp_path)), image=images["python"])
    assert "no-serve" in [f.rule for f in api.lint_model(model)]
    serving = start_serving(model, name=unique("noserve"))
    record = serving.wait()
    assert record["EndpointStatus"] == "Failed" and "docker run IMAGE serve" in record["FailureReason"]
    assert "no-serve" in [f.rule for f in serving.of(ev.LintFinding)]
    assert serving_leftovers(docker_client, serving.name) == []


def test_lint_probe_starts_the_container_once(tmp_path, images):
    healthy = api.serving_model(str(model_file(tmp_path)), image=INFERENCE)
    assert api.lint_model(healthy, probe=True) == []
    loopback = api.serving_model(str(model_file(tmp_path)), image=INFERENCE, environment={"INFER_HOST": "127.0.0.1"},
                                 overrides=["Workbench.StartupTimeoutSeconds=3"])
    findings = api.lint_model(loopback, probe=True)
    assert [f.rule for f in findings] == ["not-listening"] and "0.0.0.0:8080" in findings[0].fix


def test_a_job_that_is_not_done_has_no_model(tmp_path, images):
    from tests.integration.jobs import probe_spec, run_spec

    failed = run_spec(probe_spec(tmp_path, Environment={"PROBE_EXIT": "2"}), tmp_path)
    with pytest.raises(JobStateError, match="only a Completed training job has a model"):
        api.serving_model(failed.name)
    with pytest.raises(WorkbenchError, match="give the inference image"):
        api.serving_model(str(model_file(tmp_path)))


def test_cli_serve_detached_invoke_stop_rm(tmp_path, images, docker_client):
    folder = model_file(tmp_path, a=3.0, b=0.5)
    name = unique("cli")
    started = cli("serve", str(folder), "--image", INFERENCE, "--name", name, "--detach")
    assert started.returncode == 0, started.stderr
    assert started.stdout.decode().strip() == name
    wait_for(lambda: record_status(api.describe_job(name)) == "InService", timeout=120, what="InService")
    answered = cli("invoke", name, "--body", "-", "--content-type", "text/csv", stdin=b"2\n")
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout == b"6.5\n" and b"200 text/csv" in answered.stderr and b" ms" in answered.stderr
    too_big = tmp_path / "big.csv"
    too_big.write_bytes(b"1" * (MAX_PAYLOAD_BYTES + 1))
    refused = cli("invoke", name, "--body", str(too_big))
    assert refused.returncode == 2 and refused.stderr.decode().count("\n") == 1
    assert "InvokeEndpoint takes at most" in refused.stderr.decode()
    listed = cli("jobs")
    assert name in listed.stdout.decode() and "InService" in listed.stdout.decode()
    stopped = cli("stop", name)  # from "another terminal": the worker serves it
    assert stopped.returncode == 0, stopped.stderr
    assert record_status(api.describe_job(name)) == "OutOfService"
    assert serving_leftovers(docker_client, name) == []
    assert cli("rm", name).returncode == 0


def test_cli_serve_in_the_foreground_stops_on_ctrl_c(tmp_path, images, docker_client):
    name = unique("fg")
    process = subprocess.Popen([SM_WORKBENCH, "serve",
                                str(model_file(tmp_path)), "--image", INFERENCE, "--name", name,
                                "--set", "Workbench.StopGracePeriodSeconds=5"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: (jobs := api.job_history().records) and any(
            r.get("EndpointName") == name and r["EndpointStatus"] == "InService" for r in jobs),
                 timeout=120, what="InService")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    assert b"Ctrl-C: stopping the endpoint" in err and b"OutOfService" in err
    assert serving_leftovers(docker_client, name) == []


def test_an_endpoint_whose_process_died_ends_failed_and_leaves_nothing(tmp_path, images, docker_client):
    model = api.serving_model(str(model_file(tmp_path)), image=INFERENCE)
    job = api.serve(model, name=unique("orphan"), detach=True)
    wait_for(lambda: record_status(api.describe_job(job.name)) == "InService", timeout=120, what="InService")
    os.kill(job.pid, signal.SIGKILL)
    wait_for(lambda: subprocess.run(["ps", "-p", str(job.pid), "-o", "stat="], capture_output=True,
                                    text=True).stdout.strip() in ("", "Z"), what="the worker to die")
    time.sleep(0.2)
    record = wait_for(lambda: (lambda r: r if is_final(r) else None)(api.describe_job(job.name)), what="the end")
    assert record["EndpointStatus"] == "Failed" and "ended without stopping it" in record["FailureReason"]
    assert serving_leftovers(docker_client, job.name) == []


def test_a_container_that_dies_while_in_service_fails_the_endpoint(tmp_path, images, docker_client):
    serving = start_serving(api.serving_model(str(model_file(tmp_path)), image=INFERENCE), name=unique("dies"))
    record = until_served(serving)
    docker_client.containers.get(record["Workbench"]["Hosts"]["AllTraffic"]["ContainerId"]).kill()
    record = serving.wait()
    assert record["EndpointStatus"] == "Failed"
    assert "stopped while InService: the container exited with code 137 (SIGKILL)" in record["FailureReason"]
    assert serving_leftovers(docker_client, serving.name) == []
