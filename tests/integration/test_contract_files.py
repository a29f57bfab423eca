"""The files SageMaker writes into /opt/ml, as a probe container sees them (issue 16, point 1),
and the folders synced like checkpoints (points 2-3), on a real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.engine import events as ev
from tests.integration.contract_jobs import contract_report, contract_spec
from tests.integration.jobs import leftovers, run_spec

pytestmark = pytest.mark.docker

BASE_CONFIGS = {"hyperparameters.json", "inputdataconfig.json", "resourceconfig.json", "trainingjobconfig.json",
                "init-config.json", "metric-definition-regex.json", "upstreamoutputdataconfig.json"}
OUTPUT_FOLDERS = {"dir /opt/ml/output/data", "dir /opt/ml/output/metrics", "dir /opt/ml/output/metrics/sagemaker",
                  "dir /opt/ml/output/profiler", "dir /opt/ml/output/tensorboard"}


def test_a_plain_job_sees_the_files_every_job_gets(tmp_path, images, docker_client):
    """Before, a container saw only hyperparameters, inputdataconfig and resourceconfig: a
    script that tests for trainingjobconfig.json to know it runs on SageMaker thought it did not."""
    ran = run_spec(contract_spec(tmp_path), tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    seen = contract_report(ran)
    assert set(seen["configs"]) == BASE_CONFIGS
    assert OUTPUT_FOLDERS <= set(seen["tree"])
    request = seen["configs"]["trainingjobconfig.json"]
    assert request["TrainingJobArn"] == ran.record["TrainingJobArn"]
    assert request["TrainingJobName"] == ran.name and "Workbench" not in request and "BaseTags" not in request
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] == "S3_PREFIX"
    assert request["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "SHARDED_BY_S3_KEY"
    assert seen["configs"]["metric-definition-regex.json"] == []
    assert seen["configs"]["upstreamoutputdataconfig.json"] == ran.record["OutputDataConfig"]
    init = seen["configs"]["init-config.json"]
    assert init["inputMode"] == "FILE" and "checkpointChannel" not in init
    assert init["hostConfig"] == {"clusterSize": 1, "hostNumber": 1} and init["jobRunInfo"] == {"jobRunNumber": 1}
    assert init["channels"]["train"]["sharded"] is True and init["channels"]["code"]["sharded"] is False
    assert init["channels"]["train"]["s3DataSource"]["s3DataType"] == "S3_PREFIX"
    data = tmp_path / "data"
    assert seen["manifests"]["train-manifest"] == "".join(
        f"{line}\n" for line in [str(data)] + [(data / n).as_uri() for n in ("a.txt", "b.txt", "c.txt")])
    assert set(seen["manifests"]) == {"code-manifest", "train-manifest"}
    assert not [n for n in ran.of(ev.Notice) if "not emulated" in n.message]
    assert "config trainingjobconfig.json {" in "\n".join(ran.log())  # and printed as the probe read it


def test_every_file_and_synced_folder_of_a_two_host_job(tmp_path, images, docker_client):
    """Checkpoints, TensorBoard, debugger and profiler: each config file as the job sets it, each
    host's manifests listing its own shard, and everything written under the three output paths
    reaching `<S3OutputPath>/<job>/tensorboard-output` (debug-output, profiler-output)."""
    spec = contract_spec(
        tmp_path, hosts=2,
        environment={"PROBE_WRITE": "/opt/ml/output/tensorboard=2,/opt/ml/output/tensors=1,/opt/ml/output/profiler=1"},
        HyperParameters={"epochs": "3"},
        CheckpointConfig={"S3Uri": str(tmp_path / "ckpt")},
        TensorBoardOutputConfig={"S3OutputPath": str(tmp_path / "tb")},
        DebugHookConfig={"S3OutputPath": str(tmp_path / "debug"), "HookParameters": {"save_interval": "10"}},
        ProfilerConfig={"S3OutputPath": str(tmp_path / "prof"), "ProfilingIntervalInMilliseconds": 500},
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    spec["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    shards = {}
    for index, host in enumerate(("algo-1", "algo-2"), start=1):
        seen = contract_report(ran, host)
        configs = seen["configs"]
        assert set(configs) == BASE_CONFIGS | {"checkpointconfig.json", "tensorboardoutputconfig.json",
                                               "debughookconfig.json", "profilerconfig.json"}
        assert configs["checkpointconfig.json"] == {"LocalPath": "/opt/ml/checkpoints"}
        assert configs["tensorboardoutputconfig.json"] == {"S3OutputPath": (tmp_path / "tb").as_uri(),
                                                            "LocalPath": "/opt/ml/output/tensorboard"}
        assert configs["debughookconfig.json"] == {
            "S3OutputPath": (tmp_path / "debug").as_uri(), "LocalPath": "/opt/ml/output/tensors",
            "HookParameters": {"save_interval": "10"}, "CollectionConfigurations": None}
        assert configs["profilerconfig.json"] == {"S3OutputPath": (tmp_path / "prof").as_uri(),
                                                  "ProfilingIntervalInMilliseconds": 500}
        assert configs["metric-definition-regex.json"] == [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
        assert configs["trainingjobconfig.json"]["BaseTags"] == [{"Key": "team", "Value": "ml"}]
        init = configs["init-config.json"]
        assert init["hostConfig"] == {"clusterSize": 2, "hostNumber": index}
        assert init["checkpointChannel"]["outputPath"] == "/opt/ml/checkpoints"
        assert init["checkpointChannel"]["channel"]["s3DataSource"]["s3Uri"] == (tmp_path / "ckpt").as_uri()
        manifest = seen["manifests"]["train-manifest"].splitlines()
        assert manifest[0] == str(tmp_path / "data")
        shards[host] = manifest[1:]
        assert seen["manifests"]["checkpoints-manifest"] == f"{tmp_path / 'ckpt'}\n"  # nothing to restore yet
    assert sorted(shards["algo-1"] + shards["algo-2"]) == [(tmp_path / "data" / n).as_uri()
                                                          for n in ("a.txt", "b.txt", "c.txt")]
    assert len(shards["algo-1"]) == 2 and len(shards["algo-2"]) == 1  # ShardedByS3Key: each host its share

    for where, leaf, names in (("tb", "tensorboard-output", ["f0", "f1"]), ("debug", "debug-output", ["f0"]),
                               ("prof", "profiler-output", ["f0"])):
        folder = tmp_path / where / ran.name / leaf
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{h}-{n}" for h in ("algo-1", "algo-2")
                                                                  for n in names)
    synced = ran.record["Workbench"]["Synced"]
    assert synced["TensorBoard"]["Summary"]["Synced"] == 4 and synced["TensorBoard"]["Summary"]["Final"] is True
    assert synced["Debugger"]["Summary"]["Synced"] == 2 and synced["Profiler"]["Summary"]["Synced"] == 2
    assert {e.sync for e in ran.of(ev.CheckpointSummary) if e.final} == {"checkpoints", "tensorboard", "debugger",
                                                                          "profiler"}
    notices = [n.message for n in ran.of(ev.Notice)]
    assert "Tags: not emulated locally: SageMaker tags the training job; a local job is not tagged" in notices
    assert any(m.startswith("ProfilerConfig: not emulated locally") for m in notices)
    assert leftovers(docker_client, ran.name) == []


def test_converse_channels_are_staged_as_prefixes_and_instance_preferences_pick_the_first(tmp_path, images):
    """`S3DataType: Converse` was refused with "Converse does not work in File mode; AugmentedManifestFile
    needs Pipe mode"; InstancePreferences ran on ml.m5.large beside the preferences (an InstanceType the
    API refuses next to them)."""
    spec = contract_spec(tmp_path, ResourceConfig={"InstancePreferences": [
        {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 1}, {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2}]})
    spec["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3DataType"] = "Converse"
    ran = run_spec(spec, tmp_path)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    seen = contract_report(ran)
    assert seen["configs"]["resourceconfig.json"]["current_instance_type"] == "ml.c5.2xlarge"
    assert "InstanceType" not in seen["configs"]["trainingjobconfig.json"]["ResourceConfig"]
    assert seen["configs"]["init-config.json"]["channels"]["train"]["s3DataSource"]["s3DataType"] == "CONVERSE"
    assert len(seen["manifests"]["train-manifest"].splitlines()) == 4  # the prefix, then its three files
    resources = ran.record["ResourceConfig"]
    assert (resources["SelectedInstanceType"], resources["SelectedInstanceCount"]) == ("ml.c5.2xlarge", 1)
    notices = [n.message for n in ran.of(ev.Notice)]
    assert any(m.startswith("InputDataConfig[1].DataSource.S3DataSource.S3DataType: not emulated locally") for m in notices)
    assert any(m.startswith("ResourceConfig.InstancePreferences: not emulated locally") for m in notices)
    assert Path(ran.paths.opt_ml("algo-1") / "input" / "data" / "train" / "a.txt").read_text() == "a.txt"
