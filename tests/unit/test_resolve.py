"""Local defaults and generated job names."""

import re

from workbench.spec import WorkbenchSettings, generate_job_name, resolve
from workbench.spec.resolve import base_name_from_image

MINIMAL = {"AlgorithmSpecification": {"TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/my_algo:1.0"}}


def test_job_name_from_image_and_timestamp():
    name = generate_job_name("123.dkr.ecr.us-east-1.amazonaws.com/my_algo:1.0", now=1700000000.123)
    assert name == "my-algo-2023-11-14-22-13-20-123"
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)


def test_long_image_names_are_cut_to_63_characters():
    name = generate_job_name("x" * 100, now=0)
    assert len(name) == 63


def test_base_name_rules():
    assert base_name_from_image("sm-workbench/shell:latest") == "shell"
    assert base_name_from_image("registry:5000/team/img@sha256:abc") == "img"
    assert base_name_from_image("") == "job"


def test_local_defaults_fill_what_a_local_run_does_not_need(state_home):
    spec = resolve(MINIMAL, target="local", now=0)
    assert spec["TrainingJobName"].startswith("my-algo-")
    assert list(spec)[0] == "TrainingJobName"
    assert spec["RoleArn"] == "arn:aws:iam::000000000000:role/sm-workbench-local"
    assert spec["ResourceConfig"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}
    assert spec["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert spec["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert spec["OutputDataConfig"]["S3OutputPath"].startswith("file://")
    assert "RoleArn" not in MINIMAL  # the user's document is never changed


def test_sagemaker_target_keeps_role_and_output_for_the_user():
    spec = resolve(MINIMAL, target="sagemaker", now=0)
    assert "RoleArn" not in spec
    assert "OutputDataConfig" not in spec
    assert spec["StoppingCondition"]["MaxRuntimeInSeconds"] == 86400


def test_instance_groups_get_no_type_or_count():
    data = {**MINIMAL, "ResourceConfig": {"InstanceGroups": [
        {"InstanceGroupName": "a", "InstanceType": "ml.m5.large", "InstanceCount": 1}]}}
    spec = resolve(data, now=0)
    assert "InstanceType" not in spec["ResourceConfig"]
    assert "InstanceCount" not in spec["ResourceConfig"]


def test_name_argument_wins():
    assert resolve({**MINIMAL, "TrainingJobName": "a"}, name="b")["TrainingJobName"] == "b"


def test_numbers_in_hyperparameters_become_strings():
    spec = resolve({**MINIMAL, "HyperParameters": {"epochs": 3, "lr": 0.1, "on": True}, "Environment": {"N": 1}})
    assert spec["HyperParameters"] == {"epochs": "3", "lr": "0.1", "on": "true"}
    assert spec["Environment"] == {"N": "1"}


def test_local_paths_become_absolute_file_uris(tmp_path):
    data = {**MINIMAL, "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": "data/"}}}], "OutputDataConfig": {"S3OutputPath": "out"}}
    spec = resolve(data, base_dir=tmp_path)
    assert spec["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (tmp_path / "data").as_uri() + "/"
    assert spec["OutputDataConfig"]["S3OutputPath"] == (tmp_path / "out").as_uri()


def test_workbench_settings_defaults():
    settings = WorkbenchSettings.from_spec({})
    assert settings.StopGracePeriodSeconds == 120
    assert settings.Region == "us-east-1"
    assert settings.AccountId == "000000000000"
    assert WorkbenchSettings.from_spec({"Workbench": {"StopGracePeriodSeconds": 3}}).StopGracePeriodSeconds == 3
