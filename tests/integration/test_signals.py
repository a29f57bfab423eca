"""Stopping conditions, the signal timeline, Ctrl-C, image lint and spot interruptions."""

import os
import signal
import subprocess
import sys
import tarfile
import time

import pytest
import yaml

from workbench.cli import main
from workbench.engine import events as ev
from tests.integration.jobs import leftovers, probe_spec, run_spec

pytestmark = pytest.mark.docker


def long_job(tmp_path, image="smw-test/probe:latest", sigterm="handle", runtime=2, grace=2, **extra):
    spec = probe_spec(tmp_path, image=image, Environment={"PROBE_SLEEP": "60", "PROBE_SIGTERM": sigterm},
                      StoppingCondition={"MaxRuntimeInSeconds": runtime},
                      Workbench={"StopGracePeriodSeconds": grace}, **extra)
    return spec


def timeline(ran):
    return [row["Summary"] for row in ran.record["Workbench"]["SignalTimeline"]]


def test_max_runtime_stops_a_job_that_saves_its_work(tmp_path, images, docker_client):
    ran = run_spec(long_job(tmp_path, runtime=2, grace=5), tmp_path)
    assert (ran.record["TrainingJobStatus"], ran.record["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    sent = ran.of(ev.SignalSent)
    assert [(s.signal, s.reason) for s in sent] == [("SIGTERM", "MaxRuntimeExceeded")]
    started = [e for e in ran.of(ev.StatusChanged) if e.secondary == "Training"][0].time
    assert 1.9 < sent[0].time - started < 4  # at the deadline (precision is measured in bench/signals.py)
    model = tmp_path / "output" / ran.name / "output" / "model.tar.gz"
    with tarfile.open(model) as tar:
        assert "saved-on-sigterm-algo-1.txt" in tar.getnames()
    assert timeline(ran)[0].startswith("algo-1: SIGTERM handled in")
    assert timeline(ran)[0].endswith("exit 0")
    outcome = ran.of(ev.SignalOutcome)[0]
    assert not outcome.killed and outcome.exit_code == 0
    assert [t["Status"] for t in ran.record["SecondaryStatusTransitions"]][-3:] == [
        "Stopping", "Uploading", "MaxRuntimeExceeded"]
    assert leftovers(docker_client, ran.name) == []


def test_a_container_that_ignores_sigterm_is_killed_after_the_grace(tmp_path, images, docker_client):
    ran = run_spec(long_job(tmp_path, sigterm="ignore", runtime=1, grace=2, ResourceConfig={"InstanceCount": 2}),
                   tmp_path)
    assert ran.record["SecondaryStatus"] == "MaxRuntimeExceeded"
    kinds = sorted((s.host, s.signal) for s in ran.of(ev.SignalSent))
    assert kinds == [("algo-1", "SIGKILL"), ("algo-1", "SIGTERM"), ("algo-2", "SIGKILL"), ("algo-2", "SIGTERM")]
    for outcome in ran.of(ev.SignalOutcome):
        assert outcome.killed and outcome.signal == "SIGKILL" and outcome.exit_code == 137
        assert 1.5 < outcome.exit_time - outcome.sigterm_time < 6
    assert sorted(timeline(ran)) == ["algo-1: ignored SIGTERM, killed after 2 s",
                                     "algo-2: ignored SIGTERM, killed after 2 s"]
    assert ran.record["Workbench"]["Hosts"]["algo-1"]["Signal"] == "SIGKILL"
    assert leftovers(docker_client, ran.name) == []


def test_a_shell_form_entrypoint_is_linted_and_gets_killed(tmp_path, images, capsys):
    spec = long_job(tmp_path, image=images["shellform"], sigterm="handle", runtime=1, grace=2)
    spec["AlgorithmSpecification"]["ContainerArguments"] = ["--ignored"]
    ran = run_spec(spec, tmp_path)
    rules = [f.rule for f in ran.of(ev.LintFinding)]
    assert rules == ["shell-entrypoint"]
    assert ran.record["Workbench"]["Lint"][0]["Rule"] == "shell-entrypoint"
    outcome = ran.of(ev.SignalOutcome)[0]
    assert outcome.killed  # the shell never passed SIGTERM on to the Python code that handles it
    assert timeline(ran) == ["algo-1: ignored SIGTERM, killed after 2 s"]


def test_lint_command(tmp_path, images, capsys):
    def lint(image, **algo) -> tuple[int, str]:
        spec = probe_spec(tmp_path, image=image)
        spec["AlgorithmSpecification"].update(algo)
        path = tmp_path / "job.yaml"
        path.write_text(yaml.safe_dump(spec))
        code = main(["lint", str(path)])
        return code, capsys.readouterr().out

    code, out = lint(images["probe"])
    assert code == 0 and "no findings" in out
    code, out = lint(images["shellform"])
    assert code == 1 and "[shell-entrypoint]" in out and "fix: use the exec form" in out
    code, out = lint(images["baked"])
    assert code == 1 and "[baked-opt-ml]" in out and "/opt/ml/code/train.py" in out
    code, out = lint(images["python"])
    assert code == 1 and "[no-train]" in out
    code, out = lint(images["probe"], ContainerEntrypoint=["sh", "-c", "python3 /usr/local/bin/probe"])
    assert code == 1 and "ContainerEntrypoint runs through a shell" in out


LINT_MEMORY = """
import sys
from workbench.cli import main

def status(key):
    return int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith(key)))

before = status("VmRSS:")
code = main(["lint", sys.argv[1]])
print("grew", (status("VmHWM:") - before) // 1024, "MiB", file=sys.stderr)
sys.exit(code)
"""


def test_lint_lists_a_big_baked_opt_ml_without_reading_it(tmp_path, images, docker_client):
    """Reproduction: `sm-workbench lint` on an image with 1 GiB baked under /opt/ml read
    the whole archive into memory (2.1 GB RSS). The lint now streams it: names and sizes."""
    import uuid

    tag = f"smw-test/lint-big-opt-ml:{uuid.uuid4().hex[:8]}"
    maker = docker_client.containers.create(images["shell"], entrypoint=["sh", "-c"], network_disabled=True,
                                            command=["mkdir -p /opt/ml/code && head -c 268435456 /dev/zero"
                                                     " > /opt/ml/code/weights.bin"])
    try:
        maker.start()
        assert maker.wait()["StatusCode"] == 0
        maker.commit(repository=tag)
        spec = probe_spec(tmp_path, image=tag)
        path = tmp_path / "job.yaml"
        path.write_text(yaml.safe_dump(spec))
        result = subprocess.run([sys.executable, "-c", LINT_MEMORY, str(path)], capture_output=True, text=True)
    finally:
        maker.remove(force=True)
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:
            pass
    grew = int(result.stderr.split("grew ")[1].split()[0])
    assert grew < 64, f"lint grew the process by {grew} MiB for a 256 MiB file"
    assert result.returncode == 1, result.stderr
    assert "[baked-opt-ml] the image has 1 file (256.0 MB) under /opt/ml (/opt/ml/code/weights.bin)" in result.stdout


def _start_run(tmp_path, spec) -> subprocess.Popen:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec))
    return subprocess.Popen([sys.executable, "-m", "workbench", "run", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _wait_training(name: str, timeout: float = 60) -> None:
    from workbench.engine.api import describe_job
    from workbench.errors import JobNotFound

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            record = describe_job(name)
            if record["Workbench"]["Hosts"].get("algo-1", {}).get("ContainerId"):
                time.sleep(0.5)
                return
        except JobNotFound:
            pass
        time.sleep(0.1)
    raise AssertionError("the job never started training")


def test_ctrl_c_stops_gracefully_then_kills(tmp_path, images, docker_client):
    spec = long_job(tmp_path, sigterm="handle", runtime=600, grace=30)
    process = _start_run(tmp_path, spec)
    _wait_training(spec["TrainingJobName"])
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 3, err
    assert "Ctrl-C: stopping gracefully (SIGTERM now, SIGKILL after 30 s)" in err
    assert "algo-1: SIGTERM handled in" in err
    assert "Status:     Stopped (Stopped)" in err

    spec = long_job(tmp_path, sigterm="ignore", runtime=600, grace=120)
    spec["TrainingJobName"] += "-kill"
    process = _start_run(tmp_path, spec)
    _wait_training(spec["TrainingJobName"])
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 30  # not the 120 s grace
    assert process.returncode == 3
    assert "Ctrl-C again: sending SIGKILL now" in err
    assert "algo-1: ignored SIGTERM, killed after" in err
    assert leftovers(docker_client, spec["TrainingJobName"]) == []


def test_stop_kill_sends_sigkill_at_once(tmp_path, images, docker_client):
    """Reproduction: `sm-workbench stop JOB --kill` ("send SIGKILL at once") sent SIGTERM
    first, so a container that handles SIGTERM ran its handler (and may have exited by
    itself) before the SIGKILL; the timeline showed both."""
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    spec = long_job(tmp_path, sigterm="handle", runtime=600, grace=30)
    job = launch(check_spec(spec, base_dir=tmp_path), detach=True)
    _wait_training(job.name)
    result = subprocess.run([sys.executable, "-m", "workbench", "stop", job.name, "--kill"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"Stopping {job.name}: SIGKILL now" in result.stderr
    assert "algo-1: killed at once (SIGKILL, no SIGTERM), exit 137" in result.stderr
    from workbench.engine.api import describe_job

    record = describe_job(job.name)
    assert (record["TrainingJobStatus"], record["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "Stopping" in [t["Status"] for t in record["SecondaryStatusTransitions"]]
    assert [(s["Host"], s["Signal"]) for s in record["Workbench"]["Signals"]] == [("algo-1", "SIGKILL")]
    [row] = record["Workbench"]["SignalTimeline"]
    assert row["Killed"] and row["Signal"] == "SIGKILL" and row["ExitCode"] == 137
    assert leftovers(docker_client, job.name) == []


def spot_spec(tmp_path, **extra):
    spec = probe_spec(tmp_path, Environment={"PROBE_SLEEP": "3", "PROBE_SIGTERM": "handle"},
                      EnableManagedSpotTraining=True,
                      StoppingCondition={"MaxRuntimeInSeconds": 120, "MaxWaitTimeInSeconds": 300},
                      Workbench={"StopGracePeriodSeconds": 3, "SpotInterruptions": [1]})
    for key, value in extra.items():
        spec[key].update(value) if isinstance(value, dict) else spec.__setitem__(key, value)
    return spec


def test_a_scheduled_spot_interruption_restarts_the_job(tmp_path, images, docker_client):
    ran = run_spec(spot_spec(tmp_path), tmp_path)
    record = ran.record
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    statuses = [t["Status"] for t in record["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Interrupted", "Starting", "Downloading",
                        "Training", "Uploading", "Completed"]
    assert [e.attempt for e in ran.of(ev.AttemptStarted)] == [2]
    assert [(s.signal, s.reason) for s in ran.of(ev.SignalSent)] == [("SIGTERM", "Interrupted")]
    assert record["Workbench"]["Interruptions"][0]["Attempt"] == 1
    from workbench.engine.record import epoch

    wall = epoch(record["TrainingEndTime"]) - epoch(record["TrainingStartTime"])
    billable = ran.of(ev.JobFinished)[0].billable_seconds
    assert 0 < billable < wall  # the restart's Starting/Downloading is not billed
    assert record["BillableTimeInSeconds"] == round(billable)
    assert (ran.paths.root / "attempts" / "1" / "algo-1" / "opt_ml" / "model" / "saved-on-sigterm-algo-1.txt").exists()
    assert len({e.container_id for e in ran.of(ev.HostStarted)}) == 2  # a fresh container per attempt
    assert leftovers(docker_client, ran.name) == []
    # The runner says each attempt's MaxRuntime deadline; viewers count down to it. The
    # second attempt's is later than the first attempt's start + MaxRuntime (the interrupted
    # training time is counted, the restart is not).
    first, second = ran.of(ev.DeadlineSet)
    limit = spot_spec(tmp_path)["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert first.deadline == pytest.approx(epoch(record["TrainingStartTime"]) + limit, abs=0.5)
    assert second.deadline > first.deadline
    assert "MaxRuntimeDeadline" not in record["Workbench"]  # gone once the job has ended


def test_max_wait_time_bounds_the_whole_job(tmp_path, images):
    # Every attempt is interrupted after 1 s, so training time stays far below MaxRuntime.
    spec = spot_spec(tmp_path, StoppingCondition={"MaxRuntimeInSeconds": 12, "MaxWaitTimeInSeconds": 12},
                     Workbench={"SpotInterruptions": [1] * 30},
                     Environment={"PROBE_SLEEP": "60"})
    ran = run_spec(spec, tmp_path)
    assert (ran.record["TrainingJobStatus"], ran.record["SecondaryStatus"]) == ("Stopped", "MaxWaitTimeExceeded"), [
        (t["Status"], t["StartTime"], t.get("StatusMessage")) for t in ran.record["SecondaryStatusTransitions"]]
    assert ran.record["Workbench"]["Interruptions"]


def test_interrupt_command(tmp_path, images):
    spec = spot_spec(tmp_path, Environment={"PROBE_SLEEP": "8"}, Workbench={"SpotInterruptions": []})
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec))
    name = subprocess.run([sys.executable, "-m", "workbench", "run", str(path), "--detach"],
                          capture_output=True, text=True).stdout.strip()
    _wait_training(name)
    result = subprocess.run([sys.executable, "-m", "workbench", "interrupt", name], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    from workbench.engine.api import wait_for_job

    record = wait_for_job(name, timeout=90)
    assert record["TrainingJobStatus"] == "Completed"
    assert "Interrupted" in [t["Status"] for t in record["SecondaryStatusTransitions"]]

    plain = probe_spec(tmp_path, Environment={"PROBE_SLEEP": "30"})
    path.write_text(yaml.safe_dump(plain))
    other = subprocess.run([sys.executable, "-m", "workbench", "run", str(path), "--detach"],
                           capture_output=True, text=True).stdout.strip()
    refused = subprocess.run([sys.executable, "-m", "workbench", "interrupt", other], capture_output=True, text=True)
    assert refused.returncode == 2 and "is not a managed spot job" in refused.stderr
    subprocess.run([sys.executable, "-m", "workbench", "stop", other, "--kill"], capture_output=True)


def test_a_scheduled_interruption_resumes_from_the_last_epoch(tmp_path, images):
    """The python-code sample saves a checkpoint every epoch; after a scheduled spot
    interruption, the restarted attempt picks up from the last synced epoch."""
    from workbench.engine.api import launch
    from workbench.spec import load_job_spec
    from tests.conftest import SAMPLES

    spec = load_job_spec(SAMPLES / "python-code" / "job.yaml", name=f"resume-{int(time.time())}", overrides=[
        "EnableManagedSpotTraining=true",
        "StoppingCondition.MaxWaitTimeInSeconds=7200",
        "Workbench.SpotInterruptions=[2.5]",
        "Workbench.StopGracePeriodSeconds=10",
        f"CheckpointConfig.S3Uri={tmp_path / 'checkpoints'}",
        f"OutputDataConfig.S3OutputPath={tmp_path / 'output'}",
        "HyperParameters.epochs=12",
        "HyperParameters.epoch_seconds=0.4",
    ])
    seen: list = []
    record = launch(spec, subscribers=[seen.append]).run()
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    lines = [text for e in seen if isinstance(e, ev.LogLines) for _, text in e.lines]
    resumed = [line for line in lines if line.startswith("resuming from checkpoint at epoch")]
    assert len(resumed) == 1
    epoch = int(resumed[0].split()[-1])
    assert epoch >= 2
    after = lines[lines.index(resumed[0]) + 1]
    assert after.startswith(f"epoch {epoch + 1}/12")  # no epoch is trained twice
    with tarfile.open(tmp_path / "output" / spec.name / "output" / "model.tar.gz") as tar:
        import json

        assert json.load(tar.extractfile("model.json"))["epochs"] == 12
