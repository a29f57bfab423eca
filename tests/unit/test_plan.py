"""Hosts, instance groups, channel placement and the config files they produce."""

import json

from workbench.engine.container_user import FolderAccess
from workbench.engine.layout import write_host_tree
from workbench.engine.plan import make_plan, natural_key, resource_config, shard


def spec(**resources):
    return {
        "TrainingJobName": "t",
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "ResourceConfig": resources or {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        "InputDataConfig": [
            {"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": "s3://b/train/"}}},
        ],
        "HyperParameters": {"epochs": "3"},
    }


def test_eleven_hosts_sort_lexicographically():
    plan = make_plan(spec(InstanceType="ml.c5.xlarge", InstanceCount=11))
    config = resource_config(plan, plan.hosts[1])
    assert config["hosts"][:4] == ["algo-1", "algo-10", "algo-11", "algo-2"]
    assert config["instance_groups"][0]["hosts"][:3] == ["algo-1", "algo-10", "algo-11"]
    assert config["current_host"] == "algo-2"
    assert sorted(plan.host_names, key=natural_key)[-1] == "algo-11"


def test_hosts_are_numbered_across_groups():
    data = spec(InstanceGroups=[
        {"InstanceGroupName": "a", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
        {"InstanceGroupName": "b", "InstanceType": "ml.g5.xlarge", "InstanceCount": 1}])
    data["InputDataConfig"][0]["DataSource"]["S3DataSource"]["InstanceGroupNames"] = ["b"]
    plan = make_plan(data)
    assert [(h.name, h.group, h.instance_type) for h in plan.hosts] == [
        ("algo-1", "a", "ml.c5.xlarge"), ("algo-2", "a", "ml.c5.xlarge"), ("algo-3", "b", "ml.g5.xlarge")]
    assert plan.channels[0].hosts == ("algo-3",)
    assert plan.channels_for("algo-1") == []
    config = resource_config(plan, plan.hosts[2])
    assert config["current_group_name"] == "b"
    assert config["instance_groups"] == [
        {"instance_group_name": "a", "instance_type": "ml.c5.xlarge", "hosts": ["algo-1", "algo-2"]},
        {"instance_group_name": "b", "instance_type": "ml.g5.xlarge", "hosts": ["algo-3"]}]


def test_sharding_is_round_robin_and_never_splits():
    items = list(range(10))
    shards = [shard(items, i, 3) for i in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert shard(items, 0, 1) == items


def test_host_tree_and_config_files(tmp_path):
    data = spec(InstanceType="ml.c5.xlarge", InstanceCount=2)
    plan = make_plan(data)
    write_host_tree(tmp_path, data, plan, plan.hosts[0], FolderAccess())
    config = tmp_path / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == {"epochs": "3"}
    assert json.loads((config / "inputdataconfig.json").read_text()) == {"train": {
        "ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None"}}
    assert json.loads((config / "resourceconfig.json").read_text())["hosts"] == ["algo-1", "algo-2"]
    for folder in ("input/data", "model", "output/data", "code"):
        assert (tmp_path / folder).is_dir()
