"""Request members a local run does not honour (issue 16, point 6), the newer members (point 7),
the platform files' shapes (point 1) and the warm pool store's rules (point 5)."""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path

import pytest
import yaml

from workbench.cli import main
from workbench.engine.platform_files import screaming, training_job_config
from workbench.engine.plan import make_plan
from workbench.engine.warm_pools import store
from workbench.errors import SpecInvalid, WorkbenchError
from workbench.spec import check_spec
from workbench.spec.unemulated import NOT_EMULATED, unhonoured

DOCS = Path(__file__).resolve().parents[2] / "docs" / "differences.md"
BASE = {"AlgorithmSpecification": {"TrainingImage": "trainer:latest"}, "OutputDataConfig": {"S3OutputPath": "s3://b/o"}}
ACCOUNT = "123456789012"
HUB_MODEL = "arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/llama/1.0.0"

# One spec fragment per member of the table, each setting that member only.
EXAMPLES = {
    "AlgorithmSpecification.TrainingImageConfig": {"AlgorithmSpecification": {
        "TrainingImage": "trainer:latest", "TrainingImageConfig": {"TrainingRepositoryAccessMode": "Vpc"}}},
    "RoleArn": {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"},
    "InputDataConfig[].DataSource.S3DataSource.S3DataType: Converse": {"InputDataConfig": [
        {"ChannelName": "chat", "DataSource": {"S3DataSource": {"S3DataType": "Converse", "S3Uri": "s3://b/c/"}}}]},
    "InputDataConfig[].DataSource.S3DataSource.ModelAccessConfig": {"InputDataConfig": [
        {"ChannelName": "m", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/m/",
                                                             "ModelAccessConfig": {"AcceptEula": True}}}}]},
    "InputDataConfig[].DataSource.S3DataSource.HubAccessConfig": {"InputDataConfig": [
        {"ChannelName": "m", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/m/",
                                                             "HubAccessConfig": {"HubContentArn": HUB_MODEL}}}}]},
    "OutputDataConfig.KmsKeyId": {"OutputDataConfig": {"S3OutputPath": "s3://b/o", "KmsKeyId": "alias/k"}},
    "ResourceConfig.VolumeSizeInGB": {"ResourceConfig": {"VolumeSizeInGB": 100}},
    "ResourceConfig.VolumeKmsKeyId": {"ResourceConfig": {"VolumeKmsKeyId": "alias/k"}},
    "ResourceConfig.TrainingPlanArn": {"ResourceConfig": {
        "TrainingPlanArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-plan/plan-1"}},
    "ResourceConfig.InstancePlacementConfig": {"ResourceConfig": {"InstanceType": "ml.p5.48xlarge",
                                                                  "InstancePlacementConfig": {"EnableMultipleJobs": True}}},
    "ResourceConfig.InstancePreferences": {"ResourceConfig": {"InstancePreferences": [{"InstanceType": "ml.c5.xlarge"}]}},
    "VpcConfig": {"VpcConfig": {"SecurityGroupIds": ["sg-0123abcd"], "Subnets": ["subnet-0123abcd"]}},
    "StoppingCondition.MaxPendingTimeInSeconds": {"StoppingCondition": {"MaxPendingTimeInSeconds": 1800}},
    "Tags": {"Tags": [{"Key": "team", "Value": "ml"}]},
    "EnableInterContainerTrafficEncryption": {"EnableInterContainerTrafficEncryption": True},
    "DebugRuleConfigurations": {"DebugRuleConfigurations": [
        {"RuleConfigurationName": "LossNotDecreasing", "RuleEvaluatorImage": "rules:latest"}]},
    "ExperimentConfig": {"ExperimentConfig": {"ExperimentName": "resnet"}},
    "ProfilerConfig": {"ProfilerConfig": {"S3OutputPath": "s3://b/profiler"}},
    "ProfilerRuleConfigurations": {"ProfilerRuleConfigurations": [
        {"RuleConfigurationName": "ProfilerReport", "RuleEvaluatorImage": "rules:latest"}]},
    "RemoteDebugConfig.EnableRemoteDebug": {"RemoteDebugConfig": {"EnableRemoteDebug": True}},
    "InfraCheckConfig.EnableInfraCheck": {"InfraCheckConfig": {"EnableInfraCheck": True}},
    "SessionChainingConfig.EnableSessionTagChaining": {"SessionChainingConfig": {"EnableSessionTagChaining": True}},
    "MlflowConfig": {"MlflowConfig": {"MlflowResourceArn":
                                      f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:mlflow-tracking-server/t"}},
    "ModelPackageConfig": {"ModelPackageConfig": {"ModelPackageGroupArn":
                                                  f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/g"}},
}


def spec_with(fragment: dict) -> dict:
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(fragment))
    return data


def warnings(data: dict, target: str = "local") -> list[str]:
    return [w.format() for w in check_spec(data, target=target).warnings]


def test_every_member_of_the_table_has_an_example():
    assert set(EXAMPLES) == {entry.member for entry in NOT_EMULATED}


@pytest.mark.parametrize("member", list(EXAMPLES))
def test_each_unhonoured_member_gets_one_warning_line(member):
    """Before, a spec with VpcConfig, KMS keys, rule configurations... was accepted without a word."""
    entry = next(e for e in NOT_EMULATED if e.member == member)
    lines = [line for line in warnings(spec_with(EXAMPLES[member])) if "not emulated locally" in line]
    assert len(lines) == 1, lines
    assert f"not emulated locally: SageMaker {entry.sagemaker}" in lines[0] and lines[0].endswith(entry.here)


def test_the_warning_names_the_member_where_it_is_and_the_rules_not_run():
    data = spec_with(EXAMPLES["DebugRuleConfigurations"])
    data["DebugRuleConfigurations"].append({"RuleConfigurationName": "Overfit", "RuleEvaluatorImage": "rules:latest"})
    assert warnings(data) == ["spec: warning: DebugRuleConfigurations: not emulated locally: SageMaker starts a rule "
                              "evaluation job for each debugger rule (LossNotDecreasing, Overfit); no rule is "
                              "evaluated"]
    converse = warnings(spec_with(EXAMPLES["InputDataConfig[].DataSource.S3DataSource.S3DataType: Converse"]))
    assert converse[0].startswith("spec: warning: InputDataConfig[0].DataSource.S3DataSource.S3DataType: ")


def test_defaults_and_the_sagemaker_target_say_nothing():
    """What resolve fills in (the placeholder role, 30 GB) is no choice of the user's; on
    SageMaker every member is honoured."""
    assert warnings(spec_with({})) == []
    assert warnings(spec_with({"ResourceConfig": {"VolumeSizeInGB": 30}})) == []
    everything = spec_with({})
    for fragment in EXAMPLES.values():
        for key, value in fragment.items():
            if key not in ("InputDataConfig", "ResourceConfig", "AlgorithmSpecification"):
                everything[key] = copy.deepcopy(value)
    everything["RoleArn"] = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
    assert not [w for w in warnings(everything, "sagemaker") if "not emulated" in w]


def test_validate_prints_one_line_per_member_and_exits_0(tmp_path, capsys):
    data = spec_with({})
    for member in ("VpcConfig", "Tags", "ExperimentConfig", "EnableInterContainerTrafficEncryption"):
        data.update(copy.deepcopy(EXAMPLES[member]))
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith(f"{path}: warning: ") for line in lines)
    assert f"{path}: valid for local" in out.out


def _docs_table() -> list[tuple[str, str, str]]:
    text = DOCS.read_text()
    section = text.split("## Request members a local run does not honour", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = re.fullmatch(r"\| `(.+?)` \| (.+?) \| (.+?) \|", line.strip())
        if match:
            rows.append(match.groups())
    return rows


def test_the_docs_table_is_the_code_table():
    assert _docs_table() == [(e.member, e.sagemaker, e.here) for e in NOT_EMULATED]


def test_import_names_the_unhonoured_members_of_a_job_brought_home():
    from workbench.cloud.importer import ImportedSpec, spec_from_description

    description = {**spec_with(EXAMPLES["VpcConfig"]), "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/j",
                   "ResourceConfig": {"InstancePreferences": [{"InstanceType": "ml.c5.xlarge", "InstanceCount": 1}],
                                      "SelectedInstanceType": "ml.c5.xlarge", "SelectedInstanceCount": 1},
                   "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed"}
    fields = ["AlgorithmSpecification", "OutputDataConfig", "ResourceConfig", "VpcConfig"]
    spec = spec_from_description(description, fields)
    assert spec["ResourceConfig"] == {"InstancePreferences": [{"InstanceType": "ml.c5.xlarge", "InstanceCount": 1}]}
    header = ImportedSpec("j", spec, description).header()
    assert "# A local run does not honour: ResourceConfig.InstancePreferences, VpcConfig" in header
    assert [u.path for u in unhonoured(spec)] == ["ResourceConfig.InstancePreferences", "VpcConfig"]


# --- the newer members ----------------------------------------------------------------


def problems(data: dict, target: str = "local") -> list[str]:
    with pytest.raises(SpecInvalid) as caught:
        check_spec(data, target=target)
    return [p.format() for p in caught.value.problems if p.severity == "error"]


def test_a_dataset_source_is_refused_locally_in_one_line_and_accepted_for_sagemaker():
    """Before, `run` on a DatasetSource channel ended in an internal error (a TypeError in the plan)."""
    data = spec_with({"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/R", "InputDataConfig": [{
        "ChannelName": "train", "DataSource": {"DatasetSource": {
            "DatasetArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:hub-content/hub/DataSet/chats/1.0.0"}}}]})
    assert problems(data) == ["spec: InputDataConfig[0].DataSource.DatasetSource: a SageMaker Hub dataset cannot be "
                              "read on this machine; give the channel's data as S3DataSource (an s3:// URI or a local "
                              "path) to run it here"]
    assert check_spec(data, target="sagemaker").request["InputDataConfig"] == data["InputDataConfig"]
    with pytest.raises(WorkbenchError, match="DatasetSource is a SageMaker Hub dataset"):
        make_plan(data)  # a spec that bypassed validation gets a clear answer too


def test_instance_preferences_get_no_instance_type_beside_them():
    """Before, resolve added InstanceType: ml.m5.large beside InstancePreferences, which the API
    refuses, so `submit` sent an invalid request."""
    data = spec_with({"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/R", "ResourceConfig": {"InstancePreferences": [
        {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2}, {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1}]}})
    request = check_spec(data, target="sagemaker").request
    assert request["ResourceConfig"] == {**data["ResourceConfig"], "VolumeSizeInGB": 30}
    one_count = spec_with({"ResourceConfig": {"InstancePreferences": [{"InstanceType": "ml.g5.xlarge"}]}})
    assert check_spec(one_count).data["ResourceConfig"]["InstanceCount"] == 1
    assert make_plan(check_spec(data).data).hosts[1].instance_type == "ml.g5.xlarge"


@pytest.mark.parametrize("resources, extra, message", [
    ({"InstanceType": "ml.c5.xlarge", "InstancePreferences": [{"InstanceType": "ml.g5.xlarge"}]}, {},
     "ResourceConfig.InstanceType: cannot be combined with InstancePreferences"),
    ({"InstancePreferences": [{"InstanceType": "ml.g5.xlarge", "InstanceCount": 1}, {"InstanceType": "ml.g5.2xlarge"}]},
     {}, "set InstanceCount on every preference or on none of them"),
    ({"InstanceCount": 2, "InstancePreferences": [{"InstanceType": "ml.g5.xlarge", "InstanceCount": 1}]}, {},
     "ResourceConfig.InstanceCount: cannot be set both here and on the instance preferences"),
    ({"InstancePreferences": [{"InstanceType": "ml.g5.xlarge"}, {"InstanceType": "ml.g5.xlarge"}]}, {},
     "ml.g5.xlarge is listed twice"),
    ({"InstancePreferences": [{"InstanceType": "ml.g5.xlarge"}]}, {"EnableManagedSpotTraining": True},
     "EnableManagedSpotTraining: cannot be combined with ResourceConfig.InstancePreferences"),
    ({"InstanceType": "ml.c5.xlarge", "SelectedInstanceType": "ml.c5.xlarge"}, {},
     "ResourceConfig.SelectedInstanceType: is read-only"),
])
def test_instance_preference_rules_the_api_states(resources, extra, message):
    data = spec_with({"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/R", "ResourceConfig": resources, **extra})
    for target in ("local", "sagemaker"):
        assert any(message in line for line in problems(data, target)), problems(data, target)


def test_a_serverless_job_is_valid_for_sagemaker_and_refused_here_in_one_line():
    """Before, `--target sagemaker` refused it (AlgorithmSpecification required) and resolve
    added a ResourceConfig SageMaker picks itself for such jobs."""
    data = {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/R", "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
            "ServerlessJobConfig": {"BaseModelArn": HUB_MODEL, "JobType": "FineTuning", "AcceptEula": True}}
    request = check_spec(data, target="sagemaker", name="tune-1").request
    assert request == {"TrainingJobName": "tune-1", **data}
    assert problems(data) == ["spec: ServerlessJobConfig: a serverless job runs SageMaker's own customization or "
                              "evaluation of BaseModelArn, with no training image of yours, so it cannot run on this "
                              "machine; send it to SageMaker with `sm-workbench submit`"]


def test_keep_alive_beyond_the_documented_hour_and_pools_sagemaker_never_keeps_are_warned():
    lines = warnings(spec_with({"ResourceConfig": {"KeepAlivePeriodInSeconds": 7200},
                                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/R"}), "sagemaker")
    assert lines == ["spec: warning: ResourceConfig.KeepAlivePeriodInSeconds: 7200 s is more than the 3600 s the "
                     "SageMaker developer guide allows (the API model allows up to 21600); SageMaker may refuse it"]
    spot = warnings(spec_with({"ResourceConfig": {"KeepAlivePeriodInSeconds": 60}, "EnableManagedSpotTraining": True}))
    assert any("no warm pool for managed spot training" in line for line in spot)
    assert problems(spec_with({"ResourceConfig": {"KeepAlivePeriodInSeconds": 21601}}))  # the model's own bound


# --- the platform files -----------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("S3Prefix", "S3_PREFIX"), ("ShardedByS3Key", "SHARDED_BY_S3_KEY"),
                                             ("None", "NONE"), ("FullyReplicated", "FULLY_REPLICATED"),
                                             ("RecordIO", "RECORD_IO"), ("FastFile", "FAST_FILE")])
def test_screaming_case_as_the_real_files_spell_enums(value, expected):
    assert screaming(value) == expected


def test_training_job_config_is_the_request_plus_the_arn():
    spec = check_spec(spec_with({"Tags": [{"Key": "a", "Value": "b"}], "Workbench": {"MaxHosts": 2}}), name="j").data
    config = training_job_config(spec, "arn:aws:sagemaker:us-east-1:000000000000:training-job/j")
    assert "Workbench" not in config and config["BaseTags"] == config["Tags"] == [{"Key": "a", "Value": "b"}]
    assert config["TrainingJobArn"].endswith("/j") and "DebugHookConfig" not in config  # nothing added


# --- the warm pool store ----------------------------------------------------------------


def pool_spec(keep_alive: int | None = 60, **extra) -> dict:
    resources = {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1}
    if keep_alive is not None:
        resources["KeepAlivePeriodInSeconds"] = keep_alive
    return {"RoleArn": "r", "ResourceConfig": resources, **extra}


def test_a_pool_expires_while_nobody_looks_and_is_found_ended_at_its_time():
    claim = store.claim(pool_spec(10), "job-a")
    assert claim is not None and claim.reused_from == ""
    ended = time.time() - 100  # the job ended 100 s ago; nothing ran since
    assert store.release("job-a", healthy=True, now=ended)["Status"] == "Available"
    assert store.job_warm_pool("job-a") == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 10}
    [view] = store.list_pools()
    assert (view.status, view.reason) == ("Terminated", "KeepAlivePeriodInSeconds ran out")
    assert store.claim(pool_spec(10), "job-b").reused_from == ""  # expired: a new pool


def test_what_ends_a_pool_and_what_never_gets_one():
    assert store.claim(pool_spec(None), "plain") is None  # no keep-alive, nothing to reuse
    assert store.claim(pool_spec(60, EnableManagedSpotTraining=True), "spot") is None
    assert store.claim({"ResourceConfig": {"KeepAlivePeriodInSeconds": 60, "InstanceGroups": [
        {"InstanceGroupName": "g", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1}]}}, "groups") is None
    store.claim(pool_spec(60), "broken")
    assert store.release("broken", healthy=store.healthy_ending("Failed", "InternalServerError: engine gone"))[
        "Status"] == "Terminated"
    assert store.healthy_ending("Failed", "AlgorithmError: exit 1") and store.healthy_ending("Stopped", "")
    store.claim(pool_spec(60), "first")
    store.release("first", healthy=True)
    later = store.claim(pool_spec(None), "no-keep-alive")  # reuses it, then the pool ends with it
    assert later is not None and later.reused_from == "first"
    with pytest.raises(WorkbenchError, match="in use by no-keep-alive"):
        store.terminate("first")
    assert store.release("no-keep-alive", healthy=True)["Status"] == "Terminated"
    with pytest.raises(WorkbenchError, match="No warm pool 'nothing'"):
        store.terminate("nothing")


def test_synced_folders_and_their_places():
    from workbench.engine.checkpoints.synced import check_local_paths, synced_folders

    spec = {"TrainingJobName": "j", "OutputDataConfig": {"S3OutputPath": "s3://b/out/"},
            "CheckpointConfig": {"S3Uri": "s3://b/ckpt"}, "TensorBoardOutputConfig": {"S3OutputPath": "s3://b/tb/"},
            "DebugHookConfig": {"S3OutputPath": "s3://b/debug"}, "ProfilerConfig": {"ProfilingIntervalInMilliseconds": 100}}
    found = {f.sync: (f.local_path, f.uri) for f in synced_folders(spec)}
    assert found == {"checkpoints": ("/opt/ml/checkpoints", "s3://b/ckpt"),
                     "tensorboard": ("/opt/ml/output/tensorboard", "s3://b/tb/j/tensorboard-output"),
                     "debugger": ("/opt/ml/output/tensors", "s3://b/debug/j/debug-output"),
                     "profiler": ("/opt/ml/output/profiler", "s3://b/out/j/profiler-output")}
    check_local_paths(synced_folders(spec))
    spec["TensorBoardOutputConfig"]["LocalPath"] = "/opt/ml/checkpoints/tb"
    with pytest.raises(WorkbenchError, match="TensorBoardOutputConfig.LocalPath '/opt/ml/checkpoints/tb' overlaps "
                                             "CheckpointConfig.LocalPath"):
        check_local_paths(synced_folders(spec))
    assert [f.sync for f in synced_folders({**spec, "ProfilerConfig": {"DisableProfiler": True}})] == [
        "checkpoints", "tensorboard", "debugger"]
