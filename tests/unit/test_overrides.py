"""`--set Path=value`: typed by the API model, creating what is missing."""

import pytest

from workbench.errors import WorkbenchError
from workbench.spec import apply_override, apply_overrides
from workbench.spec.paths import format_path, parse_path


def spec() -> dict:
    return {
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://b/t/"}}}],
    }


def test_the_three_examples_from_the_help():
    data = apply_overrides(spec(), [
        "HyperParameters.epochs=5",
        "InputDataConfig[0].InputMode=Pipe",
        "StoppingCondition.MaxRuntimeInSeconds=60",
    ])
    assert data["HyperParameters"] == {"epochs": "5"}  # a string: HyperParameters are strings
    assert data["InputDataConfig"][0]["InputMode"] == "Pipe"
    assert data["StoppingCondition"]["MaxRuntimeInSeconds"] == 60  # an integer, from the model


@pytest.mark.parametrize("assignment, path, value", [
    ("EnableNetworkIsolation=true", ["EnableNetworkIsolation"], True),
    ("ResourceConfig.InstanceCount=4", ["ResourceConfig", "InstanceCount"], 4),
    ("AlgorithmSpecification.ContainerEntrypoint=[python3, x.py]", ["AlgorithmSpecification", "ContainerEntrypoint"], ["python3", "x.py"]),
    ("AlgorithmSpecification.ContainerArguments[0]=--fast", ["AlgorithmSpecification", "ContainerArguments", 0], "--fast"),
    ('HyperParameters["learning.rate"]=0.1', ["HyperParameters", "learning.rate"], "0.1"),
    ("Workbench.StopGracePeriodSeconds=5", ["Workbench", "StopGracePeriodSeconds"], 5),
    ("Workbench.Region=eu-west-1", ["Workbench", "Region"], "eu-west-1"),
    ("InputDataConfig[1].ChannelName=test", ["InputDataConfig", 1, "ChannelName"], "test"),
    ("HyperParameters.note=a=b", ["HyperParameters", "note"], "a=b"),
])
def test_typed_values(assignment, path, value):
    data = apply_override(spec(), assignment)
    node = data
    for part in path:
        node = node[part]
    assert node == value and type(node) is type(value)


@pytest.mark.parametrize("assignment, message", [
    ("StoppingCondition.MaxRuntimeInSeconds=soon", "'soon' is not a whole number"),
    ("EnableNetworkIsolation=maybe", "'maybe' is not true or false"),
    ("HyperParameter.epochs=5", "the spec has no field 'HyperParameter'"),
    ("InputDataConfig[5].InputMode=Pipe", "has 1 items; use an index below 1, or 1 to add one"),
    ("InputDataConfig.InputMode=Pipe", "InputDataConfig is a list; index it like [0]"),
    ("Workbench.Grace=5", "unknown Workbench setting"),
    ("epochs", "write it as Field.Path=value"),
    ("A..B=1", "cannot read the field path"),
])
def test_bad_overrides_say_what_to_do(assignment, message):
    with pytest.raises(WorkbenchError) as err:
        apply_override(spec(), assignment)
    assert message in str(err.value)


def test_paths_round_trip():
    for text in ("A.B[2].C", 'HyperParameters["a.b"]', "Workbench.Region"):
        assert format_path(parse_path(text)) == text
