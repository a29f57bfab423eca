"""The container author's inner loop on the real engine: build, signal one host, pause and
release, exec, run --watch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from workbench.cli import main
from workbench.engine import events as ev
from tests.integration.jobs import leftovers, run_spec, shell_job, unique, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def build_folder(tmp_path, docker_client):
    """A build context FROM the local shell image (never pulled), tagged uniquely; the
    image is removed afterwards."""
    folder = tmp_path / "context"
    folder.mkdir()
    tag = f"smw-test-build/{uuid.uuid4().hex[:10]}:latest"
    (folder / "Dockerfile").write_text(  # the RUN is this test's own: the engine's cache is shared
        "FROM sm-workbench/shell:latest\n"
        f"RUN echo built-once > /built.txt && echo {tag} > /tag.txt\n"
        "COPY train /usr/local/bin/train\n"
        "WORKDIR /opt/ml/code\n")
    (folder / "train").write_text("#!/bin/sh\necho hello from $(cat /built.txt)\n")
    (folder / "train").chmod(0o755)
    yield folder, tag
    for image in docker_client.images.list(name=tag.split(":")[0]):
        try:
            docker_client.images.remove(image.id, force=True)
        except Exception:
            pass


def build_spec_file(tmp_path: Path, tag: str, **build) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({
        "AlgorithmSpecification": {"TrainingImage": tag},
        "OutputDataConfig": {"S3OutputPath": str(tmp_path / "output")},
        "Workbench": {"Build": {"Context": "context", **build}, "StopGracePeriodSeconds": 2},
    }))
    return path


def test_build_then_a_cache_hit_then_a_run_that_builds_and_lints_the_fresh_image(
        tmp_path, images, build_folder, docker_client, capsys):
    folder, tag = build_folder
    spec = build_spec_file(tmp_path, tag)

    assert main(["build", str(spec)]) == 0
    err = capsys.readouterr().err
    assert "build | Step 2/4 : RUN echo built-once > /built.txt" in err
    assert "0 of 3 steps from the cache" in err
    first = docker_client.images.get(tag).id
    assert "[baked-opt-ml]" in err  # the lint ran on the fresh image: WORKDIR /opt/ml/code

    assert main(["build", str(spec)]) == 0
    err = capsys.readouterr().err
    assert "every step from the cache, nothing rebuilt" in err
    assert docker_client.images.get(tag).id == first

    from workbench.spec import load_job_spec
    from workbench.engine.api import launch

    seen: list[ev.Event] = []
    job = launch(load_job_spec(spec, name=unique("built")), subscribers=[seen.append])
    record = job.run()
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    [finished] = [e for e in seen if isinstance(e, ev.BuildFinished)]
    assert (finished.steps, finished.cached, finished.image_id, finished.failure) == (3, 3, first, "")
    assert record["Workbench"]["Build"]["CachedSteps"] == 3
    assert any("Using cache" in line for e in seen if isinstance(e, ev.BuildOutput) for line in e.lines)
    logged = [text for e in seen if isinstance(e, ev.LogLines) for _, text in e.lines]
    assert logged == ["hello from built-once"]
    kinds = [type(e) for e in seen]
    assert kinds.index(ev.BuildFinished) < kinds.index(ev.LintFinding) < kinds.index(ev.HostStarted)
    assert "baked-opt-ml" in [item["Rule"] for item in record["Workbench"]["Lint"]]

    (folder / "train").write_text("#!/bin/sh\necho changed\n")  # COPY's layer and after are rebuilt
    assert main(["build", str(spec)]) == 0
    assert "1 of 3 steps from the cache" in capsys.readouterr().err
    assert docker_client.images.get(tag).id != first


def test_a_failed_build_names_its_step_and_output_and_starts_nothing(tmp_path, images, build_folder,
                                                                     docker_client, capsys):
    """The job exists (its name is taken, its event log has the build's output) and ends
    Failed before any host starts; nothing is left in Docker."""
    folder, tag = build_folder
    (folder / "Dockerfile").write_text(f"FROM sm-workbench/shell:latest\nRUN echo oops-from-the-step && exit 3 # {tag}\n")
    spec = build_spec_file(tmp_path, tag)

    assert main(["build", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "build failed: the build of" in err and "Step 2/2 : RUN echo oops-from-the-step && exit 3 #" in err
    assert "its output ended: oops-from-the-step" in err

    name = unique("badbuild")
    assert main(["run", str(spec), "--name", name]) == 1
    from workbench.engine.api import describe_job, job_events

    record = describe_job(name)
    assert record["TrainingJobStatus"] == "Failed"
    assert record["FailureReason"].startswith("ClientError: the build of")
    assert "Step 2/2 : RUN echo oops-from-the-step && exit 3 #" in record["FailureReason"]
    assert "returned a non-zero code: 3" in record["FailureReason"]
    assert "oops-from-the-step" in record["FailureReason"].split("its output ended:")[1]
    assert record["Workbench"]["Build"]["FailedStep"].startswith("Step 2/2 : RUN echo oops-from-the-step && exit 3")
    stored = job_events(name)
    assert any(isinstance(e, ev.BuildOutput) and "oops-from-the-step" in e.lines for e in stored)
    assert not [e for e in stored if isinstance(e, ev.HostStarted)]
    assert "TrainingStartTime" not in record
    assert leftovers(docker_client, name) == []


def test_one_host_signalled_shows_on_the_timeline_and_its_failure_stops_the_others(tmp_path, images,
                                                                                  docker_client, capsys):
    """SIGUSR1 to algo-2 is handled (the job goes on); SIGTERM to algo-1 makes it exit 143,
    which fails the job as any non-zero exit does, and algo-2 is then stopped."""
    from workbench.engine.api import describe_job, launch
    from workbench.spec import check_spec

    script = ("trap 'echo got USR1' USR1; trap 'echo got TERM; exit 143' TERM; "
              "i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done")
    spec = shell_job(tmp_path, images, script, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2},
                     Workbench={"StopGracePeriodSeconds": 2})
    job = launch(check_spec(spec, base_dir=tmp_path), detach=True)
    wait_for(lambda: describe_job(job.name).get("SecondaryStatus") == "Training"
             and len(describe_job(job.name)["Workbench"].get("Hosts") or {}) == 2, 60, "training")

    assert main(["signal", job.name, "--host", "algo-2", "usr1"]) == 0
    wait_for(lambda: any(s["Signal"] == "SIGUSR1" for s in describe_job(job.name)["Workbench"]["Signals"]), 30,
             "SIGUSR1 on the record")
    assert main(["signal", job.name, "--host", "algo-9", "SIGTERM"]) == 2
    assert "has no host 'algo-9'" in capsys.readouterr().err
    assert main(["signal", job.name, "--host", "algo-1", "SIGNOPE"]) == 2
    assert "is not a signal" in capsys.readouterr().err
    time.sleep(0.5)  # the USR1 trap ran
    assert main(["signal", job.name, "--host", "algo-1", "SIGTERM"]) == 0
    from workbench.engine.api import wait_for_job

    record = wait_for_job(job.name, timeout=60)
    assert record["TrainingJobStatus"] == "Failed"
    assert record["FailureReason"].startswith("AlgorithmError: algo-1 exited with exit code 143")
    signals = [(s["Host"], s["Signal"], s["Reason"]) for s in record["Workbench"]["Signals"]]
    assert signals[:2] == [("algo-2", "SIGUSR1", "Signalled by the user"),
                           ("algo-1", "SIGTERM", "Signalled by the user")]
    assert signals[2] == ("algo-2", "SIGTERM", "Failed")  # the contract: the others are stopped
    assert record["Workbench"]["Hosts"]["algo-1"]["Signal"] == "SIGTERM"
    logs = subprocess.run([sys.executable, "-m", "workbench", "logs", job.name, "--host", "algo-2"],
                          capture_output=True, text=True).stdout
    assert "got USR1" in logs and "got TERM" in logs
    assert leftovers(docker_client, job.name) == []


def test_pause_before_train_holds_until_released_and_exec_looks_inside(tmp_path, images, docker_client, capfd):
    """Each host runs with /opt/ml staged but the training command held; `exec` runs a
    command in a held host; `release` starts training, which is then PID 1 with the exact
    command SageMaker would run (here ContainerEntrypoint)."""
    from workbench.engine.api import describe_job, launch, wait_for_job
    from workbench.spec import check_spec

    script = "echo training on $(hostname) as pid $$; cat /opt/ml/input/data/train/a.txt"
    spec = shell_job(tmp_path, images, script, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2},
                     Workbench={"StopGracePeriodSeconds": 2, "PauseBeforeTrain": True})
    job = launch(check_spec(spec, base_dir=tmp_path), detach=True)
    wait_for(lambda: len(describe_job(job.name)["Workbench"].get("Held") or []) == 2, 60, "both hosts held")

    assert main(["exec", job.name, "--host", "algo-2", "--", "sh", "-c",
                 "echo inside $(hostname); ls /opt/ml/input/data/train; tr '\\0' ' ' < /proc/1/cmdline"]) == 0
    out = capfd.readouterr().out
    assert "inside algo-2" in out and "a.txt" in out and "script.sh" in out
    assert "/.sm-workbench-hold sh /opt/ml/input/data/train/script.sh" in out.replace("/bin/sh", "sh")
    time.sleep(1)
    assert describe_job(job.name)["TrainingJobStatus"] == "InProgress"  # still held: nothing ran

    assert main(["release", job.name]) == 0
    record = wait_for_job(job.name, timeout=60)
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    assert record["Workbench"]["Held"] == []
    assert record["Workbench"]["Released"][0]["Hosts"] == ["algo-1", "algo-2"]
    logs = subprocess.run([sys.executable, "-m", "workbench", "logs", job.name], capture_output=True, text=True).stdout
    assert "training on algo-1 as pid 1" in logs and "training on algo-2 as pid 1" in logs
    assert "alpha" in logs
    assert main(["exec", job.name]) == 2  # ended: nothing to get into
    assert "has ended" in capfd.readouterr().err
    assert leftovers(docker_client, job.name) == []


def test_a_held_job_stops_the_normal_way(tmp_path, images, docker_client):
    from workbench.engine.api import describe_job, launch, stop_job
    from workbench.spec import check_spec

    spec = shell_job(tmp_path, images, "echo never", Workbench={"StopGracePeriodSeconds": 30, "PauseBeforeTrain": True})
    job = launch(check_spec(spec, base_dir=tmp_path), detach=True)
    wait_for(lambda: describe_job(job.name)["Workbench"].get("Held"), 60, "held")
    record = stop_job(job.name, timeout=20)  # well within the 30 s grace: the hold ends on SIGTERM
    assert (record["TrainingJobStatus"], record["Workbench"]["Hosts"]["algo-1"]["ExitCode"]) == ("Stopped", 143)
    assert record["Workbench"]["SignalTimeline"][0]["Killed"] is False


def test_run_watch_reruns_on_a_change_and_stops_the_old_round_with_sigterm(tmp_path, images, state_home,
                                                                            docker_client):
    """A real `run --watch` process: a change to the code folder stops round 1 (SIGTERM,
    which its script handles) and starts round 2 under the next name; Ctrl-C ends the
    watch and stops round 2."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "script.sh").write_text(
        "trap 'echo stopping; exit 0' TERM\necho round started\nwhile true; do sleep 0.1; done\n")
    spec = tmp_path / "job.yaml"
    name = unique("watched")
    spec.write_text(yaml.safe_dump({
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "sm-workbench/shell:latest",
                                   "ContainerEntrypoint": ["sh", "/opt/ml/input/data/code/script.sh"]},
        "InputDataConfig": [{"ChannelName": "code", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "code/"}}}],
        "OutputDataConfig": {"S3OutputPath": "output"},
        "Workbench": {"StopGracePeriodSeconds": 120},
    }))
    process = subprocess.Popen([sys.executable, "-m", "workbench", "run", str(spec), "--watch", "--watch-grace", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, SM_WORKBENCH_HOME=str(state_home)))
    from workbench.engine.api import describe_job, list_jobs, read_logs

    def status(job: str) -> str:
        try:
            return describe_job(job).get("SecondaryStatus", "")
        except Exception:
            return ""

    def printed(job: str, text: str) -> bool:
        try:
            return any(text in line for _, _, line in read_logs(job))
        except Exception:
            return False

    try:
        wait_for(lambda: status(name) == "Training", 60, "round 1 training")
        time.sleep(0.5)
        (code / "script.sh").write_text((code / "script.sh").read_text().replace("round started", "round changed"))
        wait_for(lambda: status(f"{name}-w2") == "Training", 60, "round 2 training")
        # Training is the container started, not its first line stored: on a loaded machine
        # Ctrl-C could come before round 2 printed anything
        wait_for(lambda: printed(f"{name}-w2", "round changed"), 60, "round 2's first line")
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    first, second = describe_job(name), describe_job(f"{name}-w2")
    assert (first["TrainingJobStatus"], second["TrainingJobStatus"]) == ("Stopped", "Stopped")
    assert [(s["Signal"], s["Reason"]) for s in first["Workbench"]["Signals"]] == [("SIGTERM", "Stopped")]
    assert first["Workbench"]["SignalTimeline"][0]["Killed"] is False
    assert first["Workbench"]["Settings"]["StopGracePeriodSeconds"] == 5  # --watch-grace
    assert {r["TrainingJobName"] for r in list_jobs()} == {name, f"{name}-w2"}
    assert f"[watch] round 1: {name}\n" in err
    assert f"[watch] round 2: {name}-w2 (script.sh changed)" in err
    assert f"[watch] round 1: {name} Stopped" in err
    logs = subprocess.run([sys.executable, "-m", "workbench", "logs", f"{name}-w2"], capture_output=True, text=True,
                          env=dict(os.environ, SM_WORKBENCH_HOME=str(state_home))).stdout
    assert "round changed" in logs
    assert leftovers(docker_client, name) == [] and leftovers(docker_client, f"{name}-w2") == []


def test_a_one_host_job_has_a_network_of_its_own(tmp_path, images, docker_client):
    """Start faster had put one-host jobs on Docker's default bridge (0.3 s saved), where
    any container of this machine (another job's, an endpoint) could reach them; every
    job has a network of its own again, as DESIGN.md says, and its name resolves."""
    script = "ping -c1 -W1 algo-1 >/dev/null && echo algo-1 resolves; ls /sys/class/net | grep -x eth0"

    def networks_created(ran, since: float) -> list[str]:
        events = docker_client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                                      filters={"type": "network", "event": "create"})
        return [e["Actor"]["Attributes"].get("name") for e in events
                if e["Actor"]["Attributes"].get("name") == f"smw-{ran.name}"]

    since = time.time() - 1
    one = run_spec(shell_job(tmp_path, images, script), tmp_path)
    assert one.record["TrainingJobStatus"] == "Completed", one.record.get("FailureReason")
    assert one.log() == ["algo-1 resolves", "eth0"]
    assert networks_created(one, since) == [f"smw-{one.name}"]
    assert leftovers(docker_client, one.name) == []
