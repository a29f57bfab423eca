"""Validation: every rule has a valid and an invalid case; every problem is reported."""

import copy

import pytest

from workbench.errors import SpecInvalid
from workbench.spec import check_spec, errors, resolve, validate
from workbench.spec.model import request_model
from workbench.spec.validate import compiled_pattern


def base(tmp_path) -> dict:
    (tmp_path / "data").mkdir(exist_ok=True)
    return {
        "TrainingJobName": "ok-job",
        "AlgorithmSpecification": {"TrainingImage": "sm-workbench/shell:latest", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "InputDataConfig": [channel("train", "s3://bucket/train/")],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def channel(name, uri, **extra) -> dict:
    s3 = {"S3DataType": "S3Prefix", "S3Uri": uri}
    s3.update(extra.pop("s3", {}))
    return {"ChannelName": name, "DataSource": {"S3DataSource": s3}, **extra}


def problems_of(data, target="local", base_dir=None) -> list[str]:
    return [p.format("job.yaml") for p in errors(validate(resolve(data, target=target, base_dir=base_dir),
                                                          target=target, base_dir=base_dir))]


def groups_spec(tmp_path) -> dict:
    data = base(tmp_path)
    data["ResourceConfig"] = {"InstanceGroups": [
        {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
        {"InstanceGroupName": "gpu", "InstanceType": "ml.g5.xlarge", "InstanceCount": 1},
    ]}
    return data


def test_the_base_spec_is_valid_for_both_targets(tmp_path):
    assert problems_of(base(tmp_path), "local") == []
    assert problems_of(base(tmp_path), "sagemaker") == []


# (what breaks the rule, the expected start of its line); the base spec is the valid case.
CASES = {
    "string type": (lambda d: d.update(TrainingJobName=5), "job.yaml: TrainingJobName: must be a string"),
    "integer type": (lambda d: d["StoppingCondition"].update(MaxRuntimeInSeconds="60"),
                     "job.yaml: StoppingCondition.MaxRuntimeInSeconds: must be an integer"),
    "boolean type": (lambda d: d.update(EnableNetworkIsolation="yes"),
                     "job.yaml: EnableNetworkIsolation: must be true or false"),
    "list type": (lambda d: d["AlgorithmSpecification"].update(ContainerEntrypoint="python3 train.py"),
                  "job.yaml: AlgorithmSpecification.ContainerEntrypoint: must be a list"),
    "structure type": (lambda d: d.update(StoppingCondition=60), "job.yaml: StoppingCondition: must be a mapping"),
    "required member": (lambda d: d["InputDataConfig"][0].pop("DataSource"),
                        "job.yaml: InputDataConfig[0].DataSource: is required in Channel"),
    "enum": (lambda d: d["ResourceConfig"].update(InstanceType="ml.m5.larg"),
             "job.yaml: ResourceConfig.InstanceType: 'ml.m5.larg' is not a valid TrainingInstanceType; did you mean ml.m5.large"),
    "string length": (lambda d: d.update(TrainingJobName="a" * 64), "job.yaml: TrainingJobName: 'aaaa"),
    "list count": (lambda d: d.update(InputDataConfig=[channel(f"c{i}", "s3://b/x/") for i in range(21)]),
                   "job.yaml: InputDataConfig: has 21 items; at most 20 allowed"),
    "map count": (lambda d: d.update(HyperParameters={f"k{i}": "v" for i in range(101)}),
                  "job.yaml: HyperParameters: has 101 entries; at most 100 allowed"),
    "range": (lambda d: d["StoppingCondition"].update(MaxRuntimeInSeconds=0),
              "job.yaml: StoppingCondition.MaxRuntimeInSeconds: 0 is out of range"),
    "pattern": (lambda d: d.update(TrainingJobName="bad_name"),
                "job.yaml: TrainingJobName: 'bad_name' does not match the pattern"),
    "map key pattern": (lambda d: d.update(Environment={"1BAD": "x"}),
                        "job.yaml: Environment[\"1BAD\"]: the key '1BAD' does not match the pattern"),
    "item length": (lambda d: d["AlgorithmSpecification"].update(ContainerArguments=["x" * 257]),
                    "job.yaml: AlgorithmSpecification.ContainerArguments[0]: 'xxx"),
    "unknown field": (lambda d: d.update(HyperParameter={}),
                      "job.yaml: HyperParameter: unknown field; did you mean HyperParameters?"),
    "channel name twice": (lambda d: d["InputDataConfig"].append(channel("train", "s3://b/other/")),
                           "job.yaml: InputDataConfig[1].ChannelName: the channel name 'train' is used twice"),
    "MaxWait without spot": (lambda d: d["StoppingCondition"].update(MaxWaitTimeInSeconds=7200),
                             "job.yaml: StoppingCondition.MaxWaitTimeInSeconds: is only allowed with EnableManagedSpotTraining"),
    "MaxWait below MaxRuntime": (lambda d: (d.update(EnableManagedSpotTraining=True),
                                            d["StoppingCondition"].update(MaxWaitTimeInSeconds=60)),
                                 "job.yaml: StoppingCondition.MaxWaitTimeInSeconds: 60 is less than MaxRuntimeInSeconds"),
    "FastFile only with S3Prefix": (lambda d: d["InputDataConfig"].__setitem__(0, channel(
        "train", "s3://b/m.json", InputMode="FastFile", s3={"S3DataType": "ManifestFile"})),
        "job.yaml: InputDataConfig[0].DataSource.S3DataSource.S3DataType: FastFile input mode works only with S3Prefix"),
    "AugmentedManifestFile only with Pipe": (lambda d: d["InputDataConfig"].__setitem__(0, channel(
        "train", "s3://b/m.jsonl", s3={"S3DataType": "AugmentedManifestFile", "AttributeNames": ["source-ref"]})),
        "job.yaml: InputDataConfig[0].DataSource.S3DataSource.S3DataType: AugmentedManifestFile works only in Pipe"),
    "no image": (lambda d: d["AlgorithmSpecification"].pop("TrainingImage"),
                 "job.yaml: AlgorithmSpecification.TrainingImage: is required"),
    "unknown Workbench setting": (lambda d: d.update(Workbench={"StopGrace": 3}),
                                  "job.yaml: Workbench.StopGrace: unknown Workbench setting; did you mean StopGracePeriodSeconds?"),
    "Workbench setting type": (lambda d: d.update(Workbench={"StopGracePeriodSeconds": "soon"}),
                               "job.yaml: Workbench.StopGracePeriodSeconds: must be a whole number"),
    "Workbench setting range": (lambda d: d.update(Workbench={"StopGracePeriodSeconds": -1}),
                                "job.yaml: Workbench.StopGracePeriodSeconds: -1 is too small"),
}


@pytest.mark.parametrize("rule", list(CASES))
def test_rule(rule, tmp_path):
    breaker, expected = CASES[rule]
    data = base(tmp_path)
    assert problems_of(copy.deepcopy(data)) == []
    breaker(data)
    found = problems_of(data)
    assert any(line.startswith(expected) for line in found), found


def test_instance_groups_valid(tmp_path):
    data = groups_spec(tmp_path)
    assert problems_of(data) == []
    data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["InstanceGroupNames"] = ["gpu"]
    assert problems_of(data) == []


def test_instance_groups_with_type_or_count(tmp_path):
    data = groups_spec(tmp_path)
    data["ResourceConfig"]["InstanceCount"] = 2
    assert problems_of(data) == [
        "job.yaml: ResourceConfig.InstanceCount: cannot be combined with InstanceGroups; "
        "set the type and count on each instance group instead"]


def test_every_channel_or_none_names_groups(tmp_path):
    data = groups_spec(tmp_path)
    data["InputDataConfig"].append(channel("extra", "s3://b/extra/", s3={"InstanceGroupNames": ["cpu"]}))
    assert problems_of(data) == [
        "job.yaml: InputDataConfig[0].DataSource.S3DataSource.InstanceGroupNames: is missing: with instance "
        "groups, either every channel names InstanceGroupNames or none does"]


def test_undefined_group(tmp_path):
    data = groups_spec(tmp_path)
    data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["InstanceGroupNames"] = ["tpu"]
    assert problems_of(data) == [
        "job.yaml: InputDataConfig[0].DataSource.S3DataSource.InstanceGroupNames[0]: 'tpu' is not a defined "
        "instance group; defined: cpu, gpu"]


def test_group_names_used_twice(tmp_path):
    data = groups_spec(tmp_path)
    data["ResourceConfig"]["InstanceGroups"][1]["InstanceGroupName"] = "cpu"
    assert problems_of(data) == [
        "job.yaml: ResourceConfig.InstanceGroups[1].InstanceGroupName: the instance group name 'cpu' is used "
        "twice; names must be unique"]


def test_groups_named_without_any_defined(tmp_path):
    data = base(tmp_path)
    data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["InstanceGroupNames"] = ["cpu"]
    assert any("ResourceConfig defines none" in line for line in problems_of(data))


def test_local_paths_are_fine_locally_and_refused_for_sagemaker(tmp_path):
    data = base(tmp_path)
    data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "file://" + str(tmp_path / "data")
    data["OutputDataConfig"]["S3OutputPath"] = "out/"
    assert problems_of(data, "local", tmp_path) == []
    found = problems_of(data, "sagemaker", tmp_path)
    assert found[0].startswith("job.yaml: InputDataConfig[0].DataSource.S3DataSource.S3Uri: 'file://")
    assert "sm-workbench upload PATH s3://" in found[0]
    assert found[1].startswith("job.yaml: OutputDataConfig.S3OutputPath: 'out/' is a local path")


def test_local_path_that_does_not_exist(tmp_path):
    data = base(tmp_path)
    data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "missing/"
    found = problems_of(data, "local", tmp_path)
    assert len(found) == 1 and "does not exist; create it or fix the path" in found[0]


def test_sagemaker_target_needs_role(tmp_path):
    data = base(tmp_path)
    data.pop("RoleArn")
    assert problems_of(data, "local") == []
    assert problems_of(data, "sagemaker")[0].startswith("job.yaml: RoleArn: is required")


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    data = groups_spec(tmp_path)
    data["TrainingJobName"] = "bad_name"
    data["AlgorithmSpecification"]["TrainingInputMode"] = "Stream"
    data["ResourceConfig"]["InstanceCount"] = 2
    data["InputDataConfig"] = [channel(f"c{i}", "s3://b/x/", s3={"InstanceGroupNames": ["nope"]}) for i in range(21)]
    data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "file:///tmp"
    with pytest.raises(SpecInvalid) as err:
        check_spec(data, source="job.yaml", target="sagemaker")
    text = str(err.value)
    for expected in ("TrainingJobName: 'bad_name'", "TrainingInputMode: 'Stream' is not allowed",
                     "ResourceConfig.InstanceCount: cannot be combined", "InputDataConfig: has 21 items",
                     "'nope' is not a defined instance group", "S3Uri: 'file:///tmp' is a local path"):
        assert expected in text
    assert all(line.startswith("job.yaml: ") for line in text.splitlines())


def test_every_pattern_in_the_model_compiles():
    for shape in request_model():
        if shape.pattern:
            assert compiled_pattern(shape.pattern) is not None, shape.name


def test_java_classes_are_translated():
    assert compiled_pattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)").fullmatch("team: ml-ops")
