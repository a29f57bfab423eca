"""The CLI skeleton: version, help, validate exit codes, never a traceback."""

import subprocess
import sys

import pytest

from workbench.cli import main
from tests.conftest import SAMPLES

BAD = """\
TrainingJobName: bad_name
AlgorithmSpecification:
  TrainingImage: sm-workbench/shell:latest
  TrainingInputMode: Streaming
RoleArn: arn:aws:iam::123456789012:role/x
OutputDataConfig: {S3OutputPath: "s3://b/out"}
ResourceConfig:
  InstanceCount: 2
  InstanceGroups:
    - {InstanceGroupName: a, InstanceType: ml.m5.large, InstanceCount: 1}
InputDataConfig:
"""


def write_bad(tmp_path):
    lines = [BAD]
    for i in range(21):
        uri = "file:///tmp" if i == 0 else f"s3://b/c{i}/"
        group = "nope" if i == 0 else "a"
        lines.append(f"  - {{ChannelName: c{i}, DataSource: {{S3DataSource: {{S3DataType: S3Prefix, "
                     f"S3Uri: '{uri}', InstanceGroupNames: [{group}]}}}}}}\n")
    path = tmp_path / "bad.yaml"
    path.write_text("".join(lines))
    return path


def test_version(capsys):
    with pytest.raises(SystemExit) as err:
        main(["--version"])
    assert err.value.code == 0
    assert capsys.readouterr().out.startswith("sm-workbench ")


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("validate", "doctor", "images"):
        assert command in out


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*/job.yaml")), ids=lambda p: p.parent.name)
def test_every_sample_validates(sample, capsys):
    assert main(["validate", str(sample)]) == 0
    assert "valid for local" in capsys.readouterr().out


def test_the_tuning_sample_validates(capsys):
    assert main(["validate", str(SAMPLES / "tuning" / "tuning.yaml")]) == 0
    assert "valid for local" in capsys.readouterr().out


def test_the_acceptance_spec_gets_one_line_per_problem(tmp_path, capsys):
    path = write_bad(tmp_path)
    assert main(["validate", "--target", "sagemaker", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)
    text = "\n".join(lines)
    assert "TrainingJobName: 'bad_name' does not match" in text
    assert "TrainingInputMode: 'Streaming' is not allowed" in text
    assert "ResourceConfig.InstanceCount: cannot be combined with InstanceGroups" in text
    assert "InputDataConfig: has 21 items; at most 20 allowed" in text
    assert "InstanceGroupNames[0]: 'nope' is not a defined instance group" in text
    assert "S3Uri: 'file:///tmp' is a local path" in text
    assert len(lines) == 6


def test_validate_many_specs_fails_if_any_fails(tmp_path, capsys):
    assert main(["validate", str(SAMPLES / "hello" / "job.yaml"), str(write_bad(tmp_path))]) == 2


def test_validate_with_overrides(capsys):
    hello = str(SAMPLES / "hello" / "job.yaml")
    assert main(["validate", hello, "--set", "StoppingCondition.MaxRuntimeInSeconds=0"]) == 2
    assert "StoppingCondition.MaxRuntimeInSeconds: 0 is out of range" in capsys.readouterr().err


def test_yaml_error_exit_2(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("a: [1,\n")
    assert main(["validate", str(path)]) == 2
    assert f"{path}:2:1: YAML syntax error" in capsys.readouterr().err


def test_missing_spec_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.yaml")]) == 2
    assert "no such spec file" in capsys.readouterr().err


def test_unknown_command_exit_2(capsys):
    with pytest.raises(SystemExit) as err:
        main(["frobnicate"])
    assert err.value.code == 2


def test_console_script_never_prints_a_traceback(tmp_path):
    bad = write_bad(tmp_path)
    result = subprocess.run([sys.executable, "-m", "workbench", "validate", str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_the_summary_never_shows_training_longer_than_the_job():
    from workbench.cli.printer import summary_lines

    record = {"TrainingJobName": "j", "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
              "CreationTime": "2026-11-22T03:00:00.000Z", "TrainingStartTime": "2026-11-22T03:00:00.300Z",
              "TrainingEndTime": "2026-11-22T03:00:00.900Z", "TrainingTimeInSeconds": 1}
    assert "Duration:   0.9 s (training 0.6 s)" in summary_lines(record)


@pytest.mark.parametrize("command", [["rm"], ["describe"], ["logs"], ["stop"], ["rerun"], ["interrupt"]])
def test_job_commands_take_job_names_not_paths(tmp_path, capsys, command):
    """Reproduction: `sm-workbench rm ../../somewhere` deleted a folder outside the state
    directory (one holding a finished job's describe.json)."""
    import json

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "describe.json").write_text(json.dumps(
        {"TrainingJobName": "victim", "TrainingJobStatus": "Completed", "Workbench": {"Kind": "local"}}))
    (tmp_path / "sm-workbench-home" / "jobs").mkdir(parents=True, exist_ok=True)
    assert main([*command, "../../victim"]) == 2
    err = capsys.readouterr().err
    assert "'../../victim' is not a job name" in err and len(err.strip().splitlines()) == 1
    assert (victim / "describe.json").exists()


HEAVY = ("docker", "requests", "boto3", "botocore", "textual")


def _imports_of(*argv: str) -> list[str]:
    """The heavy libraries a fresh `sm-workbench ARGV` process imported."""
    import subprocess
    import sys

    code = (f"import sys\nfrom workbench.cli import main\ntry:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return eval(out.stdout.strip().splitlines()[-1])


def test_help_and_validate_import_no_heavy_library(tmp_path):
    """Imports are deferred only where they buy start-up time: `--help` builds every
    command's parser, and `validate` reads specs through botocore's data file; neither
    may pay for the Docker SDK, boto3/botocore or Textual."""
    assert _imports_of("--help") == []
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\n")
    assert _imports_of("validate", str(spec)) == []
