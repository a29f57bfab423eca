"""The container contract (CONTRACT.md section 2), checked from inside with the probe image."""

import pytest

from workbench.engine import events as ev
from tests.integration.jobs import leftovers, probe_spec, run_spec

pytestmark = pytest.mark.docker


@pytest.fixture
def probe(images):
    return images["probe"]


def test_one_host_sees_exactly_the_contract(tmp_path, probe, docker_client, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTSECRET")
    spec = probe_spec(tmp_path, Environment={"MY_SETTING": "on"},
                      Workbench={"Region": "eu-west-1", "AccountId": "123456789012"})
    spec["InputDataConfig"][0]["ContentType"] = "text/csv"
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    report = ran.probe()
    assert report["argv"] == ["/usr/local/bin/train"]  # `docker run IMAGE train`
    assert report["hostname"] == "algo-1"
    assert report["hyperparameters"] == {"epochs": "3", "lr": "0.1"}
    assert report["inputdataconfig"] == {"train": {
        "ContentType": "text/csv", "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
    assert report["resourceconfig"] == {
        "current_host": "algo-1", "current_instance_type": "ml.c5.xlarge",
        "current_group_name": "homogeneousCluster", "hosts": ["algo-1"],
        "instance_groups": [{"instance_group_name": "homogeneousCluster", "instance_type": "ml.c5.xlarge",
                             "hosts": ["algo-1"]}],
        "network_interface_name": "eth0",
    }
    assert "eth0" in report["interfaces"]
    env = report["env"]
    assert env["TRAINING_JOB_NAME"] == ran.name
    assert env["TRAINING_JOB_ARN"] == f"arn:aws:sagemaker:eu-west-1:123456789012:training-job/{ran.name}"
    assert env["MY_SETTING"] == "on"
    assert not any(key.startswith("AWS_") for key in env), "host credentials leaked into the container"
    assert report["docker_socket"] is False
    assert int(report["cap_eff"], 16) != int("1ffffffffff", 16)  # not privileged
    assert report["resolve"]["algo-1"].count(".") == 3
    for folder in ("input/config", "input/data/train", "model", "output/data", "code"):
        assert f"dir /opt/ml/{folder}" in report["tree"]
    assert "file /opt/ml/input/data/train/a.txt" in report["tree"]
    assert leftovers(docker_client, ran.name) == []


def test_four_hosts_resolve_each_other_for_the_whole_job(tmp_path, probe, docker_client):
    # algo-1 exits at once; the others look its name up again after it has gone.
    spec = probe_spec(tmp_path, hosts=4, Environment={"PROBE_RESOLVE_AFTER": "2", "PROBE_SLEEP": "0"})
    spec["Environment"]["PROBE_RESOLVE_AFTER"] = "2"
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    exits = {e.host: e.time for e in ran.of(ev.HostExited)}
    for host in ("algo-1", "algo-2", "algo-3", "algo-4"):
        report = ran.probe(host)
        assert report["hostname"] == host
        assert report["resourceconfig"]["current_host"] == host
        assert report["resourceconfig"]["hosts"] == ["algo-1", "algo-2", "algo-3", "algo-4"]
        for other in ("algo-1", "algo-2", "algo-3", "algo-4"):
            assert not report["resolve"][other].startswith("error"), (host, other)
            assert not report["resolve_later"][other].startswith("error"), (host, other)
    addresses = {ran.probe(h)["resolve"][h] for h in ("algo-1", "algo-2", "algo-3", "algo-4")}
    assert len(addresses) == 4
    assert set(exits) == {"algo-1", "algo-2", "algo-3", "algo-4"}
    assert leftovers(docker_client, ran.name) == []


def test_a_host_resolves_a_peer_whose_container_has_exited(tmp_path, probe):
    spec = probe_spec(tmp_path, hosts=2, Environment={
        "PROBE_SLEEP": "2.5", "PROBE_SLEEP_HOSTS": "algo-2", "PROBE_RESOLVE_AFTER": "0"})
    spec["Environment"].pop("PROBE_RESOLVE_AFTER")
    spec["Environment"]["PROBE_RESOLVE_AFTER"] = "0"
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed"
    exits = {e.host: e.time for e in ran.of(ev.HostExited)}
    assert exits["algo-1"] < exits["algo-2"] - 1  # algo-1 had gone long before algo-2 finished


ENTRYPOINTS = [
    # (image, ContainerEntrypoint, ContainerArguments, expected argv)
    ("probe", None, None, ["/usr/local/bin/train"]),
    ("probe-entrypoint", None, None, ["/usr/local/bin/probe", "--from-image-entrypoint", "train"]),
    ("probe", ["python3", "/usr/local/bin/probe", "--custom"], None, ["/usr/local/bin/probe", "--custom"]),
    ("probe-entrypoint", None, ["--epochs", "2"], ["/usr/local/bin/probe", "--from-image-entrypoint", "--epochs", "2"]),
    ("probe-entrypoint", ["python3", "/usr/local/bin/probe"], ["a", "b"], ["/usr/local/bin/probe", "a", "b"]),
]


@pytest.mark.parametrize("image, entrypoint, arguments, argv", ENTRYPOINTS,
                         ids=["default-train", "image-entrypoint-train", "entrypoint-only", "arguments-only", "both"])
def test_entrypoint_combinations(tmp_path, images, image, entrypoint, arguments, argv):
    spec = probe_spec(tmp_path, image=images[image])
    if entrypoint:
        spec["AlgorithmSpecification"]["ContainerEntrypoint"] = entrypoint
    if arguments:
        spec["AlgorithmSpecification"]["ContainerArguments"] = arguments
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    assert ran.probe()["argv"] == argv


def test_two_instance_groups_and_a_channel_for_one_group(tmp_path, probe):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "b.txt").write_text("beta\n")
    spec = probe_spec(tmp_path)
    spec["ResourceConfig"] = {"InstanceGroups": [
        {"InstanceGroupName": "trainers", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
        {"InstanceGroupName": "readers", "InstanceType": "ml.m5.large", "InstanceCount": 1},
    ]}
    spec["InputDataConfig"][0]["DataSource"]["S3DataSource"]["InstanceGroupNames"] = ["trainers", "readers"]
    spec["InputDataConfig"].append({"ChannelName": "extra", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": str(extra), "InstanceGroupNames": ["readers"]}}})
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    groups = [{"instance_group_name": "trainers", "instance_type": "ml.c5.xlarge", "hosts": ["algo-1", "algo-2"]},
              {"instance_group_name": "readers", "instance_type": "ml.m5.large", "hosts": ["algo-3"]}]
    for host, group, kind in (("algo-1", "trainers", "ml.c5.xlarge"), ("algo-2", "trainers", "ml.c5.xlarge"),
                              ("algo-3", "readers", "ml.m5.large")):
        config = ran.probe(host)["resourceconfig"]
        assert config["current_group_name"] == group
        assert config["current_instance_type"] == kind
        assert config["instance_groups"] == groups
        channels = set(ran.probe(host)["inputdataconfig"])
        has_extra = "file /opt/ml/input/data/extra/b.txt" in ran.probe(host)["tree"]
        assert channels == ({"train", "extra"} if group == "readers" else {"train"})
        assert has_extra == (group == "readers")


def test_network_isolation_gives_an_internal_network(tmp_path, probe, docker_client):
    spec = probe_spec(tmp_path, EnableNetworkIsolation=True, Environment={"PROBE_SLEEP": "1"})
    seen = {}

    def inspect(event):
        if isinstance(event, ev.HostStarted):
            seen["internal"] = docker_client.networks.get(f"smw-{spec['TrainingJobName']}").attrs["Internal"]

    from workbench.engine.api import launch
    from workbench.spec import check_spec

    job = launch(check_spec(spec, base_dir=tmp_path), subscribers=[inspect])
    record = job.run()
    assert record["TrainingJobStatus"] == "Completed"
    assert seen == {"internal": True}
