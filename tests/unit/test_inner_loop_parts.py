"""The inner loop's pure parts: Workbench.Build and script-mode settings (validation,
resolution, the SDK's hyperparameters), round names, the hold program, signal names,
request files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from workbench.engine import control, events as ev
from workbench.engine.api import signal_name
from workbench.engine.pause import hold_program
from workbench.engine.record import apply_event, new_record
from workbench.engine.store import JobPaths
from workbench.engine.watch import ChangeWatcher, next_round_name, watched_paths
from workbench.errors import WorkbenchError
from workbench.spec import check_spec, errors, resolve, validate


def spec(tmp_path: Path, **workbench) -> dict:
    return {
        "TrainingJobName": "loop-job",
        "AlgorithmSpecification": {"TrainingImage": "sm-workbench/python:latest"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
        "Workbench": workbench,
    }


def problems(tmp_path: Path, data: dict, target: str = "local") -> list[str]:
    resolved = resolve(data, target=target, base_dir=tmp_path)
    return [p.format("job.yaml") for p in errors(validate(resolved, target=target, base_dir=tmp_path))]


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "train.py").write_text("print('hi')\n")
    (tmp_path / "src" / "pkg" / "run.sh").write_text("echo\n")
    (tmp_path / "common").mkdir()
    return tmp_path


def test_script_mode_sets_the_sdks_hyperparameters_json_encoded(code):
    local = check_spec(spec(code, SourceDir="src", EntryPoint="train.py", Dependencies=["common"]), base_dir=code)
    assert local.data["HyperParameters"] == {
        "sagemaker_submit_directory": '"/opt/ml/code"', "sagemaker_program": '"train.py"',
        "sagemaker_container_log_level": "20", "sagemaker_job_name": '"loop-job"',
        "sagemaker_region": '"us-east-1"',
    }
    assert local.settings.SourceDir == str(code / "src") and local.settings.Dependencies == [str(code / "common")]
    cloud = resolve(spec(code, SourceDir="src", EntryPoint="pkg/run.sh", Region="eu-west-1"), target="sagemaker",
                    base_dir=code, name="other")
    assert cloud["HyperParameters"]["sagemaker_submit_directory"] == json.dumps(
        "s3://bucket/out/other/source/sourcedir.tar.gz")
    assert cloud["HyperParameters"]["sagemaker_program"] == '"pkg/run.sh"'
    assert cloud["HyperParameters"]["sagemaker_region"] == '"eu-west-1"'
    assert cloud["HyperParameters"]["sagemaker_job_name"] == '"other"'
    alone = check_spec(spec(code, EntryPoint="src/train.py"), base_dir=code)  # the SDK's script_name: its basename
    assert alone.data["HyperParameters"]["sagemaker_program"] == '"train.py"'
    kept = spec(code, SourceDir="src", EntryPoint="train.py")
    kept["HyperParameters"] = {"sagemaker_container_log_level": "10", "epochs": "3"}
    assert check_spec(kept, base_dir=code).data["HyperParameters"]["sagemaker_container_log_level"] == "10"


def test_script_mode_is_validated_as_the_sdk_and_the_toolkit_would(code):
    assert problems(code, spec(code, SourceDir="src")) == [
        "job.yaml: Workbench.EntryPoint: is required with SourceDir or Dependencies: the script the training toolkit "
        "runs, e.g. train.py"]
    assert "no file named 'nope.py'" in problems(code, spec(code, SourceDir="src", EntryPoint="nope.py"))[0]
    assert "must be a path inside SourceDir" in problems(code, spec(code, SourceDir="src", EntryPoint="../x.py"))[0]
    assert "is not a folder" in problems(code, spec(code, SourceDir="missing", EntryPoint="train.py"))[0]
    assert "does not exist" in problems(code, spec(code, SourceDir="src", EntryPoint="train.py",
                                                   Dependencies=["gone"]))[0]
    assert "must be a list of folders" in problems(code, spec(code, EntryPoint="src/train.py", Dependencies="common"))[0]
    assert problems(code, spec(code, SourceDir="src", EntryPoint="pkg/run.sh", Dependencies=["common"])) == []


def test_build_is_validated_and_its_context_made_absolute(code):
    (code / "ctx").mkdir()
    (code / "ctx" / "Dockerfile").write_text("FROM sm-workbench/shell:latest\n")
    ok = check_spec(spec(code, Build={"Context": "ctx", "BuildArgs": {"N": 3}, "Target": "final"}), base_dir=code)
    assert ok.settings.Build == {"Context": str(code / "ctx"), "BuildArgs": {"N": "3"}, "Target": "final"}
    assert "Dockerfile.gpu does not exist" in problems(code, spec(code, Build={"Context": "ctx",
                                                                            "Dockerfile": "Dockerfile.gpu"}))[0]
    assert "needs Context" in problems(code, spec(code, Build={"Dockerfile": "Dockerfile"}))[0]
    assert "did you mean Target?" in problems(code, spec(code, Build={"Context": "ctx", "Targt": "x"}))[0]
    assert "must be a mapping" in problems(code, spec(code, Build="ctx"))[0]
    assert "is not a folder" in problems(code, spec(code, Build={"Context": "nowhere"}))[0]


def test_round_names_count_up_within_63_characters():
    assert next_round_name("train") == "train-w2"
    assert next_round_name("train-w2") == "train-w3"
    assert next_round_name("shell-2026-12-01-01-02-03-123") == "shell-2026-12-01-01-02-03-123-w2"
    long = "x" * 63
    assert next_round_name(long) == "x" * 60 + "-w2" and len(next_round_name(next_round_name(long))) <= 63


def test_watched_paths_and_what_counts_as_a_change(code):
    (code / "data").mkdir()
    data = spec(code, SourceDir="src", EntryPoint="train.py", Dependencies=["common"])
    data["InputDataConfig"] = [{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "data/"}}}, {"ChannelName": "s3", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/x/"}}}]
    (code / "job.yaml").write_text("{}")
    job = check_spec(data, source=str(code / "job.yaml"), base_dir=code)
    assert watched_paths(job) == [code / "job.yaml", code / "src", code / "common", code / "data"]
    watcher = ChangeWatcher(watched_paths(job), lambda changed: None, ignore=[code / "src" / "out"])
    assert watcher.roots == [code]  # the spec file is watched through its folder, which holds the rest
    assert watcher.counts(str(code / "src" / "train.py")) and watcher.counts(str(code / "job.yaml"))
    assert not watcher.counts(str(code / "other.yaml")) and not watcher.counts(str(code / "src" / "out" / "m"))


@pytest.mark.parametrize("arch,machine", [("x86_64", 0x3E), ("aarch64", 0xB7), ("amd64", 0x3E), ("arm64", 0xB7)])
def test_the_hold_program_is_a_static_elf_of_its_architecture(arch, machine):
    program = hold_program(arch)
    assert program[:4] == b"\x7fELF" and program[4] == 2  # 64-bit
    assert struct.unpack_from("<H", program, 18)[0] == machine
    assert len(program) < 512


def test_signal_names():
    assert [signal_name(s) for s in ("SIGUSR1", "usr2", "term", "9", "SIGINT")] == [
        "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGKILL", "SIGINT"]
    for bad in ("SIGNOPE", "999", "SIG_DFL", ""):
        with pytest.raises(WorkbenchError):
            signal_name(bad)


def test_requests_with_details_do_not_overwrite_each_other(tmp_path):
    paths = JobPaths(tmp_path / "job")
    paths.root.mkdir()
    control.request(paths, "signal", host="algo-1", signal="SIGUSR1")
    control.request(paths, "signal", host="algo-2", signal="SIGUSR2")
    control.request(paths, "release")
    taken = control.take_requests(paths)
    assert [(a, d.get("host"), d.get("signal")) for a, d in taken] == [
        ("signal", "algo-1", "SIGUSR1"), ("signal", "algo-2", "SIGUSR2"), ("release", None, None)]
    assert control.take_requests(paths) == []


def test_builds_and_holds_fold_into_the_record():
    record = new_record({"TrainingJobName": "j"}, "arn", 0.0)
    apply_event(record, ev.BuildFinished("img:1", "sha256:ab", 3, 2, 1.25))
    apply_event(record, ev.TrainingHeld("algo-1", ("/usr/bin/python3", "train.py")))
    apply_event(record, ev.TrainingHeld("algo-2", ("/usr/bin/python3", "train.py")))
    apply_event(record, ev.TrainingReleased(("algo-1", "algo-2")))
    bench = record["Workbench"]
    assert bench["Build"] == {"Image": "img:1", "ImageId": "sha256:ab", "Steps": 3, "CachedSteps": 2, "Seconds": 1.25}
    assert bench["Held"] == [] and bench["Released"][0]["Hosts"] == ["algo-1", "algo-2"]
