"""Jobs from the command line: run, detach, stop from another process, recover, logs, rerun, rm."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from workbench.cli import main
from tests.integration.jobs import wait_for, leftovers, probe_spec, run_spec, unique

pytestmark = pytest.mark.docker


def write(tmp_path, spec) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def cli(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def record_of(name: str) -> dict:
    from workbench.engine.api import describe_job

    return describe_job(name)


def test_run_streams_host_prefixed_lines_and_exit_codes(tmp_path, images, capsys):
    spec = probe_spec(tmp_path, hosts=2, Environment={"PROBE_LINES": "3"})
    assert main(["run", write(tmp_path, spec)]) == 0
    captured = capsys.readouterr()
    assert "algo-1 | probe algo-1 line 0" in captured.out
    assert "algo-2 | probe algo-2 line 2" in captured.out
    assert "Status:     Completed (Completed)" in captured.err
    assert f"Model:      {(tmp_path / 'output').as_uri()}/{spec['TrainingJobName']}/output/model.tar.gz" in captured.err

    spec["TrainingJobName"] = unique("fails")
    spec["Environment"] = {"PROBE_EXIT": "5", "PROBE_EXIT_HOSTS": "algo-1"}
    assert main(["run", write(tmp_path, spec)]) == 1
    assert "Failure:    AlgorithmError: algo-1 exited with exit code 5" in capsys.readouterr().err


def test_bad_input_is_exit_2_with_one_line(tmp_path, images):
    spec = probe_spec(tmp_path, image="no-such/image:1")
    result = cli("run", write(tmp_path, spec))
    assert result.returncode == 2
    assert "Image 'no-such/image:1' is not in the local Docker engine" in result.stderr
    assert "Traceback" not in result.stderr

    spec = probe_spec(tmp_path)
    result = cli("run", write(tmp_path, spec), env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 2
    assert "No Docker engine answers at unix:///nonexistent/docker.sock" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    result = cli("run", write(tmp_path, spec), "--set", "StoppingCondition.MaxRuntimeInSeconds=0")
    assert result.returncode == 2 and "MaxRuntimeInSeconds: 0 is out of range" in result.stderr


def test_a_used_name_is_refused(tmp_path, images):
    spec = probe_spec(tmp_path)
    path = write(tmp_path, spec)
    assert main(["run", path]) == 0
    result = cli("run", path)
    assert result.returncode == 2
    assert f"A job named {spec['TrainingJobName']!r} already exists" in result.stderr


def test_detach_then_stop_from_another_process(tmp_path, images, docker_client):
    spec = probe_spec(tmp_path, hosts=2, Environment={"PROBE_SLEEP": "120", "PROBE_SIGTERM": "handle"})
    result = cli("run", write(tmp_path, spec), "--detach")
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    assert name == spec["TrainingJobName"]
    wait_for(lambda: record_of(name)["SecondaryStatus"] == "Training")
    wait_for(lambda: len(record_of(name)["Workbench"]["Hosts"]) == 2)
    stopped = cli("stop", name)
    assert stopped.returncode == 0, stopped.stderr
    assert "Status:     Stopped (Stopped)" in stopped.stderr
    record = record_of(name)
    assert [t["Status"] for t in record["SecondaryStatusTransitions"]][-3:] == ["Stopping", "Uploading", "Stopped"]
    assert record["ModelArtifacts"]["S3ModelArtifacts"].endswith("model.tar.gz")
    assert leftovers(docker_client, name) == []
    again = cli("stop", name)
    assert again.returncode == 2 and "has already ended" in again.stderr


def test_the_workbench_killed_mid_job_is_recovered(tmp_path, images, docker_client):
    spec = probe_spec(tmp_path, Environment={"PROBE_SLEEP": "4", "PROBE_LINES": "2"})
    result = cli("run", write(tmp_path, spec), "--detach")
    name = result.stdout.strip()
    wait_for(lambda: record_of(name)["Workbench"]["Hosts"].get("algo-1", {}).get("ContainerId"))
    from workbench.engine.api import job_paths
    from workbench.fileio import read_json

    owner = read_json(job_paths(name).owner)
    os.kill(owner["pid"], signal.SIGKILL)  # the workbench dies; its container runs on
    time.sleep(0.3)
    listed = cli("jobs", "--json")  # looking at the job takes it over
    assert listed.returncode == 0
    record = wait_for(lambda: (lambda r: r if r["TrainingJobStatus"] == "Completed" else None)(record_of(name)))
    assert any("ended while the job was Training" in n["Message"] for n in record["Workbench"]["Notices"])
    assert leftovers(docker_client, name) == []
    logs = cli("logs", name).stdout.splitlines()
    assert logs.count("probe algo-1 line 0") == 1  # followed again, without repeats


def test_a_job_killed_while_staging_ends_failed_and_clean(tmp_path, images, docker_client):
    spec = probe_spec(tmp_path)
    name = spec["TrainingJobName"]
    from workbench.engine import control
    from workbench.engine.api import list_jobs
    from workbench.engine.record import new_record
    from workbench.engine.store import create_job_dir
    from workbench.fileio import write_json_atomic
    from workbench.spec import check_spec, write_spec_file

    job = check_spec(spec, base_dir=tmp_path)
    paths = create_job_dir(name)
    write_spec_file(paths.spec, job.data)
    record = new_record(job.data, "arn:x", time.time())
    record["SecondaryStatus"] = "Downloading"
    write_json_atomic(paths.describe, record)
    dead = subprocess.Popen(["true"])
    dead.wait()
    control.claim(paths, dead.pid)
    list_jobs()
    final = wait_for(lambda: (lambda r: r if r["TrainingJobStatus"] == "Failed" else None)(record_of(name)))
    assert "ended while it was Downloading" in final["FailureReason"]
    assert leftovers(docker_client, name) == []


def test_jobs_describe_logs_rerun_rm(tmp_path, images, capsys):
    spec = probe_spec(tmp_path, hosts=2, Environment={"PROBE_LINES": "2"})
    name = spec["TrainingJobName"]
    assert main(["run", write(tmp_path, spec)]) == 0
    capsys.readouterr()

    assert main(["jobs", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[0]["TrainingJobName"] == name

    assert main(["describe", name]) == 0
    described = json.loads(capsys.readouterr().out)
    for key in ("TrainingJobName", "TrainingJobArn", "TrainingJobStatus", "SecondaryStatus",
                "SecondaryStatusTransitions", "ModelArtifacts", "TrainingStartTime", "TrainingEndTime",
                "TrainingTimeInSeconds", "HyperParameters", "Workbench"):
        assert key in described
    assert set(described["Workbench"]["Hosts"]) == {"algo-1", "algo-2"}
    assert described["Workbench"]["StagedBytes"] == 12

    assert main(["logs", name, "--host", "algo-2"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["probe algo-2 line 0", "probe algo-2 line 1"]
    assert main(["logs", name]) == 0
    merged = capsys.readouterr().out.splitlines()
    assert any(line.startswith("algo-1 | probe algo-1 line 0") for line in merged)
    assert any(line.startswith("algo-2 | probe algo-2 line 0") for line in merged)

    again = unique("again")
    assert main(["rerun", name, "--name", again, "--set", "HyperParameters.epochs=7"]) == 0
    capsys.readouterr()
    assert record_of(again)["HyperParameters"]["epochs"] == "7"

    assert main(["jobs"]) == 0
    table = capsys.readouterr().out
    assert table.index(again) < table.index(name)  # newest first

    assert main(["rm", name]) == 0
    capsys.readouterr()
    assert main(["describe", name]) == 2
    assert f"No job named {name!r}" in capsys.readouterr().err


def test_host_folders_are_removed_from_inside_a_container(tmp_path, images):
    """What `rm` falls back to when this user may not delete files a container wrote as root."""
    from workbench.engine.store import job_paths, remove_hosts_in_container

    spec = probe_spec(tmp_path, hosts=2)
    name = spec["TrainingJobName"]
    assert main(["run", write(tmp_path, spec)]) == 0
    paths = job_paths(name)
    assert (paths.root / "hosts" / "algo-2").is_dir()
    remove_hosts_in_container(paths)
    assert not (paths.root / "hosts").exists()
    assert paths.describe.exists()  # the record stays until the caller removes the rest
    assert main(["rm", name]) == 0
    assert not paths.root.exists()


def test_logs_follow_a_running_job(tmp_path, images):
    spec = probe_spec(tmp_path, Environment={"PROBE_SLEEP": "2", "PROBE_LINES": "1"})
    name = cli("run", write(tmp_path, spec), "--detach").stdout.strip()
    followed = cli("logs", name, "--follow", timeout=60)
    assert followed.returncode == 0
    assert "probe algo-1 line 0" in followed.stdout
    assert record_of(name)["TrainingJobStatus"] == "Completed"


def test_a_job_being_launched_is_never_taken_over(tmp_path, images, monkeypatch):
    """A viewer polling the history (the TUI does, every second) may see a job in the
    moment between its record being written and its worker starting."""
    from workbench.engine import api, local_jobs
    from workbench.spec import check_spec

    adopters = []
    spawn = local_jobs.spawn_worker

    def spawn_while_looking(action, paths, source=""):
        if action == "adopt":
            adopters.append(paths.name)
        else:
            api.list_jobs()  # the record exists, the worker does not yet
        return spawn(action, paths, source)

    monkeypatch.setattr(local_jobs, "spawn_worker", spawn_while_looking)
    job = api.launch(check_spec(probe_spec(tmp_path), base_dir=tmp_path), detach=True)
    record = api.wait_for_job(job.name, timeout=60)
    assert adopters == []
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    assert not any("took over" in n["Message"] for n in record["Workbench"]["Notices"])


def test_output_without_newlines_is_split_into_bounded_lines(tmp_path, images):
    """Reproduction: a container printing 100 MB without a newline took 378 s and 447 MB
    to read, and landed as one giant line (docker's own 16 KiB parts glued together, each
    with docker's timestamp inside the text). Now every part is a line of its own, marked
    as split, and nothing is lost."""
    from workbench.engine.api import read_logs
    from workbench.engine.logs import MAX_LINE_BYTES, SPLIT_MARK

    size = 20_000_000
    spec = probe_spec(tmp_path, image="sm-workbench/shell:latest", AlgorithmSpecification={"ContainerEntrypoint": [
        "sh", "-c", f"head -c {size} /dev/zero | tr '\\0' a; echo; printf 'no newline at the end'"]})
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    texts = [text for _, _, text in read_logs(ran.name)]
    assert texts[-1] == "no newline at the end"
    parts = texts[:-1]
    assert all(len(text.removesuffix(SPLIT_MARK).encode()) <= MAX_LINE_BYTES for text in parts)
    assert all(text.endswith(SPLIT_MARK) for text in parts[:-1]) and not parts[-1].endswith(SPLIT_MARK)
    assert sum(len(text.removesuffix(SPLIT_MARK)) for text in parts) == size
    assert "".join(parts).replace(SPLIT_MARK, "").count("a") == size


def test_a_takeover_logs_every_line_exactly_once(tmp_path, images):
    """Reproduction: kill the worker of a detached job (kill -9 on owner.json's pid) and
    look at the job: the new worker followed the container again from the last stored
    line's time, kept to the microsecond, while docker's times have nanoseconds, so the
    last line before the crash was logged twice (when docker's time rounded down: about
    every other host, so four hosts)."""
    from workbench.engine import api
    from workbench.fileio import read_json
    from workbench.spec import check_spec

    script = "for i in $(seq 1 12); do echo line $i; sleep 0.3; done"
    spec = probe_spec(tmp_path, image="sm-workbench/shell:latest", hosts=4,
                      AlgorithmSpecification={"ContainerEntrypoint": ["sh", "-c", script]})
    job = api.launch(check_spec(spec, base_dir=tmp_path), detach=True)
    logs = [job.paths.log(f"algo-{i}") for i in range(1, 5)]
    wait_for(lambda: all(log.exists() and "line 3\n" in log.read_text() for log in logs), what="three lines logged")
    os.kill(read_json(job.paths.owner)["pid"], signal.SIGKILL)
    record = api.wait_for_job(job.name, timeout=60)  # looking at it takes it over
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    assert any("took over" in n["Message"] for n in record["Workbench"]["Notices"])
    for host in ("algo-1", "algo-2", "algo-3", "algo-4"):
        assert [text for _, _, text in api.read_logs(job.name, host)] == [f"line {i}" for i in range(1, 13)], host
