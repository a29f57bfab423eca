"""Spec files: YAML round trip, key order, syntax errors with line and column."""

import pytest

from workbench.errors import SpecError
from workbench.spec import dump_spec, parse_spec_text, read_spec_file, write_spec_file
from tests.conftest import SAMPLES

SPEC = """\
TrainingJobName: round-trip
HyperParameters:
  zeta: "1"
  alpha: "0.5"
AlgorithmSpecification:
  TrainingImage: sm-workbench/shell:latest
  TrainingInputMode: File
  ContainerEntrypoint: [sh, -c, "echo hi"]
Workbench:
  StopGracePeriodSeconds: 5
"""


def test_load_save_load_gives_the_same_spec(tmp_path):
    first = parse_spec_text(SPEC)
    path = tmp_path / "job.yaml"
    write_spec_file(path, first)
    second = read_spec_file(path)
    assert second == first
    assert list(second) == ["TrainingJobName", "HyperParameters", "AlgorithmSpecification", "Workbench"]
    assert list(second["HyperParameters"]) == ["zeta", "alpha"]
    assert dump_spec(second) == dump_spec(first)


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*/job.yaml")), ids=lambda p: p.parent.name)
def test_samples_round_trip(sample, tmp_path):
    data = read_spec_file(sample)
    write_spec_file(tmp_path / "copy.yaml", data)
    assert read_spec_file(tmp_path / "copy.yaml") == data


def test_strings_that_look_like_numbers_stay_strings():
    data = parse_spec_text(dump_spec({"HyperParameters": {"epochs": "3", "lr": "1e-3", "flag": "true"}}))
    assert data["HyperParameters"] == {"epochs": "3", "lr": "1e-3", "flag": "true"}


@pytest.mark.parametrize(
    "text, where",
    [
        ("a: [1, 2\n", "job.yaml:2:1"),
        ("a: 1\nb:\n  c: 1\n d: 2\n", "job.yaml:4:2"),
        ("a: 1\na: 2\n", "job.yaml:2:1"),
    ],
)
def test_yaml_errors_name_line_and_column(text, where):
    with pytest.raises(SpecError) as err:
        parse_spec_text(text, "job.yaml")
    assert str(err.value).startswith(where + ": YAML syntax error")


def test_duplicate_key_says_so():
    with pytest.raises(SpecError, match="found the key 'a' twice"):
        parse_spec_text("a: 1\na: 2\n", "job.yaml")


def test_not_a_mapping():
    with pytest.raises(SpecError, match="is a mapping of CreateTrainingJob fields"):
        parse_spec_text("- a\n- b\n", "job.yaml")


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        read_spec_file(tmp_path / "nope.yaml")
