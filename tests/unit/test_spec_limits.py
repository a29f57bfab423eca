"""Bad input and scale: whatever a spec file holds, reading and validating it ends in
one-line problems (exit 2), never an internal error, a long wait or runaway memory."""

from __future__ import annotations

import copy
import math
import resource
import subprocess
import sys

import pytest

from workbench.cli import main
from workbench.errors import SpecError, WorkbenchError
from workbench.spec import check_spec, load_job_spec, parse_spec_text, read_spec_file
from workbench.spec.document import MAX_NESTING, MAX_SPEC_BYTES, MAX_VALUES
from workbench.tui.draft import SpecDraft, typed_value
from tests.conftest import SAMPLES

SPEC = """\
AlgorithmSpecification:
  TrainingImage: sm-workbench/shell:latest
"""


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def test_dates_and_timestamps_in_hyperparameters_and_environment_stay_the_text_written(tmp_path, capsys):
    """`start: 2024-01-01` under HyperParameters (or a timestamp under Environment) made
    `validate` exit 70: PyYAML made a date of it and json.dumps could not write it."""
    path = tmp_path / "job.yaml"
    path.write_text(SPEC + "HyperParameters:\n  start: 2024-01-01\n  when: 2024-01-01 10:00:00\n  epochs: 3\n"
                    "Environment:\n  SINCE: 2001-12-14t21:59:43.10-05:00\n")
    assert main(["validate", str(path)]) == 0
    spec = load_job_spec(path)
    assert spec.data["HyperParameters"] == {"start": "2024-01-01", "when": "2024-01-01 10:00:00", "epochs": "3"}
    assert spec.data["Environment"] == {"SINCE": "2001-12-14t21:59:43.10-05:00"}


@pytest.mark.parametrize("value, tag", [("!!binary aGVsbG8=", "binary"), ("!!timestamp 2024-01-01", "timestamp"),
                                        ("!!set {a, b}", "set"), ("!!omap [a: 1]", "omap"),
                                        ("!!pairs [a: 1]", "pairs")])
def test_values_json_has_no_type_for_are_refused_in_one_line(tmp_path, capsys, value, tag):
    """`blob: !!binary aGVsbG8=` in HyperParameters made `validate` exit 70 (bytes are not JSON)."""
    path = tmp_path / "job.yaml"
    path.write_text(SPEC + f"HyperParameters:\n  blob: {value}\n")
    assert main(["validate", str(path)]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"{path}:4:9: !!{tag} values cannot go in a spec")
    assert "write the value as a plain string" in line


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    "HyperParameters: {a: " + "{a: " * 50_000 + "1" + "}" * 50_001,
    "a:\n" + "".join("  " * i + "-\n" for i in range(1, 200)),
], ids=["brackets", "flow mappings", "block lists"])
def test_deep_nesting_is_one_line_naming_the_limit(tmp_path, capsys, text):
    """A file of 100,000 `[` (then `]`) made `validate` exit 70 with a RecursionError."""
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    assert f"nested more than {MAX_NESTING} levels deep" in one_error_line(capsys)


def test_aliases_cannot_blow_a_spec_up():
    """Ten lines of YAML aliases (`b: [*a, *a, ...]`, nine levels) stand for 10**10 values:
    the validator and json.dumps would walk every one. Refused when read; so are aliases
    that nest deeper than the limit or hold themselves."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    with pytest.raises(SpecError, match=f"expand it to more than {MAX_VALUES:,} values"):
        parse_spec_text("\n".join(lines), "bomb.yaml")
    deep = ["a0: &a0 " + "[" * 40 + "]" * 40] + [f"a{i}: &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40
                                                 for i in range(1, 4)]
    with pytest.raises(SpecError, match="nest it more than"):
        parse_spec_text("\n".join(deep), "deep.yaml")
    with pytest.raises(SpecError, match="refers to a list or mapping that holds it"):
        parse_spec_text("a: &a [1, *a]\n", "loop.yaml")
    assert parse_spec_text("base: &b {x: 1}\nuse: *b\nmerged: {<<: *b, y: 2}\n") == {
        "base": {"x": 1}, "use": {"x": 1}, "merged": {"x": 1, "y": 2}}


def test_a_spec_bigger_than_the_cap_is_refused_before_it_is_parsed(tmp_path, capsys):
    """A 100 MB spec took 71 s to be refused; anything over the cap now is, at once."""
    path = tmp_path / "big.yaml"
    path.write_text(SPEC + "HyperParameters:\n" + "".join(f"  k{i}: v\n" for i in range(MAX_SPEC_BYTES // 8)))
    assert main(["validate", str(path)]) == 2
    assert "bigger than 1 MiB, the most a spec may be" in one_error_line(capsys)
    with pytest.raises(SpecError, match="bigger than 1 MiB"):
        parse_spec_text("#" * (MAX_SPEC_BYTES + 1))
    with pytest.raises(SpecError, match="bigger than 1 MiB"):
        SpecDraft.open(path)


def test_validate_dev_zero_reads_no_more_than_the_cap(tmp_path):
    """`sm-workbench validate /dev/zero` grew to 13 GB. Under a 1 GiB address-space limit
    it now says the file is too big."""
    limit = 1024 ** 3

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run([sys.executable, "-m", "workbench", "validate", "/dev/zero"], capture_output=True,
                            text=True, timeout=120, preexec_fn=cap_memory)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == ("/dev/zero: bigger than 1 MiB, the most a spec may be (a "
                                     "CreateTrainingJob request is a few KB); check that this is the spec file")


@pytest.mark.parametrize("content, expected", [
    (b"a: \x00\n", "job.yaml:1:4: not YAML text: character #x0000 is not allowed"),
    (b"\xff\xfe\x00", "job.yaml: cannot read it: not UTF-8 text"),
    (b"HyperParameters: {a: " + b"9" * 5000 + b"}", "job.yaml:1:22: a number of 5,000 characters is too long"),
    (b"? [a, b]\n: 1\n", "job.yaml:1:3: a key must be a plain value, not a list"),
])
def test_odd_files_are_one_line(tmp_path, capsys, content, expected):
    """Binary files, control characters, numbers too long for Python and list keys made
    tracebacks (ValueError, TypeError: unhashable) or multi-line messages."""
    path = tmp_path / "job.yaml"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"{tmp_path}/{expected}"), line


def test_set_values_are_read_by_the_same_rules(capsys):
    """`--set 'Workbench.FileSystems={a: [[[[...]]]]}'` (YAML after `=`) was read by plain
    yaml.safe_load: deep nesting crashed, dates became dates."""
    hello = str(SAMPLES / "hello" / "job.yaml")
    deep = "{a: " + "[" * 100 + "]" * 100 + "}"
    assert main(["validate", hello, "--set", f"Workbench.FileSystems={deep}"]) == 2
    assert "nested more than 50 levels deep" in one_error_line(capsys)
    assert main(["validate", hello, "--set", "Workbench.FileSystems={fs-1: 2024-01-01}"]) == 0
    assert typed_value("Workbench.FileSystems", "{a: " + "[" * 100 + "]" * 100 + "}").startswith("{a: [[[")


ODD_VALUES = [float("nan"), float("inf"), 10 ** 40, True, None, [], {1: [2]}, "2024-01-01"]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _full_spec() -> dict:
    data = read_spec_file(SAMPLES / "distributed" / "job.yaml")
    data.update(TrainingJobName="odd", EnableManagedSpotTraining=True, Environment={"A": "b"},
                Tags=[{"Key": "a", "Value": "b"}], CheckpointConfig={"S3Uri": "ckpt/", "LocalPath": "/opt/ml/c"})
    data["StoppingCondition"]["MaxWaitTimeInSeconds"] = 900
    data["Workbench"].update(SpotInterruptions=[5], FileSystems={"fs-1": "/tmp"}, Gpus=[0],
                             CheckpointDrainTimeoutSeconds=3, MaxHosts=8)
    return data


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_no_value_yaml_can_hold_crashes_validation_or_the_composer(value):
    """Any field set to any value the safe loader can produce (NaN, a 41-digit number, a
    mapping with number keys...) gives problems, never an exception: `InputDataConfig: 1`
    crashed resolve (not iterable), `TrainingImage: 1` without a name crashed naming."""
    full = _full_spec()
    for path in list(_paths(full))[1:]:
        data = copy.deepcopy(full)
        holder = data
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = value
        for variant in (data, {k: v for k, v in data.items() if k != "TrainingJobName"}):
            try:
                check_spec(copy.deepcopy(variant), base_dir=SAMPLES / "distributed", target="sagemaker")
            except WorkbenchError:
                pass
            draft = SpecDraft(copy.deepcopy(variant))
            draft.check()
            draft.yaml()


def test_numbers_python_cannot_use_are_refused_by_validation(tmp_path):
    """`Workbench: {CheckpointDrainTimeoutSeconds: 100000000000000000000000000}` passed
    validation and ended the job with OverflowError (a threading wait that long); every
    number that feeds a timer is bounded, and the API's integer types bound the rest."""
    def problems(**changes) -> str:
        data = read_spec_file(SAMPLES / "hello" / "job.yaml")
        for key, value in changes.items():
            section, _, member = key.partition("__")
            data.setdefault(section, {})[member] = value
        try:
            check_spec(data, base_dir=SAMPLES / "hello")
        except WorkbenchError as err:
            return str(err)
        return ""

    assert "CheckpointDrainTimeoutSeconds: 100000000000000000000000000 is too big; at most 2419200 (28 days" in \
        problems(Workbench__CheckpointDrainTimeoutSeconds=10 ** 26)
    assert "StopGracePeriodSeconds: 3000000 is too big; at most 2419200" in \
        problems(Workbench__StopGracePeriodSeconds=3_000_000)
    assert "SpotInterruptions: must be a list of numbers from 0 to 2419200; nan is not" in \
        problems(Workbench__SpotInterruptions=[math.nan])
    assert "SpotInterruptions: must be a list of numbers from 0 to 2419200; inf is not" in \
        problems(Workbench__SpotInterruptions=[math.inf])
    assert "MaxRuntimeInSeconds: 2419201 is more than 2419200 (28 days)" in \
        problems(StoppingCondition__MaxRuntimeInSeconds=2_419_201)
    assert "MaxRuntimeInSeconds: 99999999999 is out of range; allowed: 1 to 2147483647" in \
        problems(StoppingCondition__MaxRuntimeInSeconds=99_999_999_999)
    assert "Seed" not in problems()
    assert problems(StoppingCondition__MaxRuntimeInSeconds=2_419_200) == ""


def test_instance_count_zero_is_refused_by_validate_as_run_refuses_it(tmp_path, capsys):
    """`InstanceCount: 0` was valid for `validate` and then refused by `run`."""
    path = tmp_path / "job.yaml"
    path.write_text(SPEC + "ResourceConfig: {InstanceType: ml.m5.large, InstanceCount: 0}\n")
    assert main(["validate", str(path)]) == 2
    validated = one_error_line(capsys)
    assert main(["run", str(path)]) == 2
    assert one_error_line(capsys) == "error: " + validated
    assert validated == (f"{path}: ResourceConfig.InstanceCount: a local run needs at least one host: set "
                         "ResourceConfig.InstanceCount (or the instance groups' counts) to 1 or more")
    assert main(["validate", "--target", "sagemaker", str(path), "--set", "RoleArn=arn:aws:iam::123456789012:role/x",
                 "--set", "OutputDataConfig.S3OutputPath=s3://b/o"]) == 0  # the API allows 0


def test_host_counts_are_bounded_by_max_hosts(tmp_path, capsys):
    """`InstanceCount: 100000` was accepted, then sat in Starting starting holders
    (uncancellable). A local run has at most Workbench.MaxHosts hosts (64 unless raised,
    at most 1000: one Docker network's worth)."""
    path = tmp_path / "job.yaml"
    path.write_text(SPEC + "ResourceConfig: {InstanceType: ml.m5.large, InstanceCount: 100000}\n")
    assert main(["validate", str(path)]) == 2
    assert one_error_line(capsys) == (
        f"{path}: ResourceConfig.InstanceCount: 100000 hosts is more than Workbench.MaxHosts (64): each host is "
        "a container on this machine; use fewer hosts, or raise Workbench.MaxHosts (at most 1000) if this "
        "machine can hold them")
    assert main(["validate", str(path), "--set", "ResourceConfig.InstanceCount=100",
                 "--set", "Workbench.MaxHosts=100"]) == 0
    capsys.readouterr()
    assert main(["validate", str(path), "--set", "Workbench.MaxHosts=5000"]) == 2
    assert "Workbench.MaxHosts: 5000 is too big; at most 1000" in capsys.readouterr().err
    groups = ("ResourceConfig.InstanceGroups=[{InstanceGroupName: a, InstanceType: ml.m5.large, InstanceCount: 40},"
              " {InstanceGroupName: b, InstanceType: ml.m5.large, InstanceCount: 40}]")
    assert main(["validate", str(path), "--set", "ResourceConfig={}", "--set", groups]) == 2
    assert "ResourceConfig.InstanceGroups: 80 hosts is more than Workbench.MaxHosts (64)" in one_error_line(capsys)
