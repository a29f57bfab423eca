"""The serving commands' front: help, `validate` of CreateModel and CreateTransformJob specs
(told apart by their keys), one-line errors, no heavy import."""

import pytest

from tests.unit.test_cli_basics import _imports_of
from workbench.cli import main

MODEL = """\
ModelName: fitted-line
PrimaryContainer:
  Image: smw-test/inference:latest
  ModelDataUrl: model.tar.gz
  Environment: {WORKERS: 2}
Workbench:
  StartupTimeoutSeconds: 60
"""
TRANSFORM = """\
ModelName: fitted-line
TransformInput:
  DataSource: {S3DataSource: {S3DataType: S3Prefix, S3Uri: data/}}
  ContentType: text/csv
  SplitType: Line
BatchStrategy: MultiRecord
TransformOutput: {S3OutputPath: predictions/, AssembleWith: Line}
"""


def test_help_lists_the_serving_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("serve", "invoke", "transform"):
        assert command in out


def test_validate_takes_model_and_transform_specs(tmp_path, capsys):
    (tmp_path / "model.tar.gz").write_bytes(b"")
    (tmp_path / "data").mkdir()
    (tmp_path / "model.yaml").write_text(MODEL)
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    assert main(["validate", str(tmp_path / "model.yaml"), str(tmp_path / "transform.yaml")]) == 0
    assert capsys.readouterr().out.count("valid for local") == 2
    assert main(["validate", "--target", "sagemaker", str(tmp_path / "model.yaml")]) == 2
    assert "SageMaker needs an s3:// URI" in capsys.readouterr().err


def test_a_bad_transform_spec_gets_one_line_per_problem(tmp_path, capsys):
    (tmp_path / "transform.yaml").write_text(TRANSFORM.replace("SplitType: Line", "SplitType: Lines")
                                             .replace("MultiRecord", "Multi") + "MaxPayloadInMB: 101\n")
    assert main(["validate", str(tmp_path / "transform.yaml")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4, lines  # SplitType, BatchStrategy, MaxPayloadInMB, data/ missing
    assert any("TransformInput.SplitType: 'Lines' is not allowed; did you mean Line?" in line for line in lines)


def test_transform_refuses_a_model_spec_in_one_line(tmp_path, capsys):
    (tmp_path / "model.tar.gz").write_bytes(b"")
    (tmp_path / "model.yaml").write_text(MODEL)
    assert main(["transform", str(tmp_path / "model.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a CreateModel spec" in err


def test_invoke_an_unknown_endpoint(capsys):
    assert main(["invoke", "no-such-endpoint", "--body", "-"]) == 2
    assert "No job named 'no-such-endpoint'" in capsys.readouterr().err


def test_validate_of_a_serving_spec_imports_no_heavy_library(tmp_path):
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    assert _imports_of("validate", str(tmp_path / "transform.yaml")) == []


def test_transform_says_how_to_give_the_model(tmp_path, capsys):
    """ModelName names no training job of the history: the one line says what to do."""
    (tmp_path / "data").mkdir()
    (tmp_path / "transform.yaml").write_text(TRANSFORM)
    assert main(["transform", str(tmp_path / "transform.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ModelName 'fitted-line'" in err and "--model" in err
