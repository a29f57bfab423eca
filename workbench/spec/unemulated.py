"""The request members a local run does not honour: the one table every front end reads.

`validate` prints one warning line per member a spec sets, the runner says the same in
one notice each at the start of the run, `import` names them for a job brought home,
and docs/differences.md carries the same table (a unit test checks that both agree).
A member SageMaker acts on and a local run ignores is never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from workbench.spec.paths import format_path, value_at
from workbench.spec.resolve import DEFAULT_VOLUME_GB, is_placeholder_role


@dataclass(frozen=True)
class NotEmulated:
    """One member: what SageMaker does with it, and what a local run does instead."""

    member: str  # as the docs table names it; `[]` stands for every channel
    sagemaker: str
    here: str
    find: Callable[[dict], list[tuple[str, str]]]  # (path in this spec, detail) for each place it is set

    def line(self, detail: str = "") -> str:
        """The sentence after the member's path: `SageMaker ...; here ...`."""
        sagemaker = self.sagemaker + (f" ({detail})" if detail else "")
        return f"not emulated locally: SageMaker {sagemaker}; {self.here}"



def _set(*keys: str, when: Callable[[Any], bool] = lambda value: value not in (None, "", [], {})):
    """The member at keys, when set (and `when` holds for its value)."""

    def find(spec: dict) -> list[tuple[str, str]]:
        value = value_at(spec, *keys)
        return [(format_path(list(keys)), "")] if value is not None and when(value) else []

    return find


def _true(*keys: str):
    return _set(*keys, when=lambda value: value is True)


def _rules(key: str):
    """A rule list, with the rules' names as the detail."""

    def find(spec: dict) -> list[tuple[str, str]]:
        rules = spec.get(key)
        if not isinstance(rules, list) or not rules:
            return []
        names = [str(r.get("RuleConfigurationName")) for r in rules if isinstance(r, dict)]
        return [(key, ", ".join(names))]

    return find


def _channels(*keys: str, when: Callable[[Any], bool] = lambda value: value not in (None, "", [], {})):
    """A member of each channel's S3DataSource."""

    def find(spec: dict) -> list[tuple[str, str]]:
        found = []
        channels = spec.get("InputDataConfig")
        for index, channel in enumerate(channels if isinstance(channels, list) else []):
            value = value_at(channel, "DataSource", "S3DataSource", *keys)
            if value is not None and when(value):
                found.append((format_path(["InputDataConfig", index, "DataSource", "S3DataSource", *keys]), ""))
        return found

    return find


def _profiler(spec: dict) -> list[tuple[str, str]]:
    config = spec.get("ProfilerConfig")
    if not isinstance(config, dict) or config.get("DisableProfiler") is True:
        return []
    interval = config.get("ProfilingIntervalInMilliseconds") or 500
    return [("ProfilerConfig", f"every {interval} ms")]


def _real_role(spec: dict) -> list[tuple[str, str]]:
    role = spec.get("RoleArn")
    return [("RoleArn", "")] if isinstance(role, str) and role and not is_placeholder_role(role) else []


# Every member a local run accepts but does not honour, in the request's order. Members
# that are emulated (checkpoints, TensorBoard, debugger and profiler output, retries,
# warm pools, spot, network isolation) or refused locally (DatasetSource,
# ServerlessJobConfig, AlgorithmName) are not here.
NOT_EMULATED: tuple[NotEmulated, ...] = (
    NotEmulated("AlgorithmSpecification.TrainingImageConfig",
                "pulls the image from a private Docker registry (through your VPC)",
                "the image must already be in this machine's Docker engine",
                _set("AlgorithmSpecification", "TrainingImageConfig")),
    NotEmulated("RoleArn",
                "runs the job as this role and hands the container its credentials",
                "the container gets no AWS credentials (Workbench.ForwardAwsCredentials passes this machine's)",
                _real_role),
    NotEmulated("InputDataConfig[].DataSource.S3DataSource.S3DataType: Converse",
                "hands conversations in the Converse format to its managed model customization",
                "the objects under S3Uri are staged as S3Prefix would stage them",
                _channels("S3DataType", when=lambda value: value == "Converse")),
    NotEmulated("InputDataConfig[].DataSource.S3DataSource.ModelAccessConfig",
                "checks that the gated model's end-user license agreement was accepted",
                "nothing is checked",
                _channels("ModelAccessConfig")),
    NotEmulated("InputDataConfig[].DataSource.S3DataSource.HubAccessConfig",
                "reads the data through this SageMaker Hub content",
                "S3Uri is read directly",
                _channels("HubAccessConfig")),
    NotEmulated("OutputDataConfig.KmsKeyId",
                "encrypts the model and output artifacts with this KMS key",
                "they are written unencrypted",
                _set("OutputDataConfig", "KmsKeyId")),
    NotEmulated("ResourceConfig.VolumeSizeInGB",
                "gives each instance a storage volume of this size",
                "the containers use this machine's disk, with no limit",
                # resolve fills in the default: no choice of the user's
                _set("ResourceConfig", "VolumeSizeInGB", when=lambda value: value != DEFAULT_VOLUME_GB)),
    NotEmulated("ResourceConfig.VolumeKmsKeyId",
                "encrypts the instances' storage volumes with this KMS key",
                "nothing is encrypted",
                _set("ResourceConfig", "VolumeKmsKeyId")),
    NotEmulated("ResourceConfig.TrainingPlanArn",
                "runs the job on the reserved capacity of this training plan",
                "the job runs on this machine",
                _set("ResourceConfig", "TrainingPlanArn")),
    NotEmulated("ResourceConfig.InstancePlacementConfig",
                "places the instances on UltraServers",
                "the job runs on this machine",
                _set("ResourceConfig", "InstancePlacementConfig")),
    NotEmulated("ResourceConfig.InstancePreferences",
                "launches the first instance type in the list that has capacity",
                "the first one is used, and describe reports it as SelectedInstanceType",
                _set("ResourceConfig", "InstancePreferences")),
    NotEmulated("VpcConfig",
                "runs the instances in your VPC's subnets with these security groups",
                "the hosts share a Docker network of the job's own",
                _set("VpcConfig")),
    NotEmulated("StoppingCondition.MaxPendingTimeInSeconds",
                "stops the job when it waits longer than this for capacity (accelerated instance types only)",
                "a local job never waits for capacity",
                _set("StoppingCondition", "MaxPendingTimeInSeconds")),
    NotEmulated("Tags",
                "tags the training job",
                "a local job is not tagged",
                _set("Tags")),
    NotEmulated("EnableInterContainerTrafficEncryption",
                "encrypts the traffic between the instances",
                "traffic between the hosts is not encrypted",
                _true("EnableInterContainerTrafficEncryption")),
    NotEmulated("DebugRuleConfigurations",
                "starts a rule evaluation job for each debugger rule",
                "no rule is evaluated",
                _rules("DebugRuleConfigurations")),
    NotEmulated("ExperimentConfig",
                "records the job in SageMaker Experiments",
                "nothing is recorded",
                _set("ExperimentConfig")),
    NotEmulated("ProfilerConfig",
                "samples the instances' CPU, GPU, network and I/O into the profiler output",
                "no system metrics are written; only what the container writes is synced",
                _profiler),
    NotEmulated("ProfilerRuleConfigurations",
                "starts a rule evaluation job for each profiler rule",
                "no rule is evaluated",
                _rules("ProfilerRuleConfigurations")),
    NotEmulated("RemoteDebugConfig.EnableRemoteDebug",
                "lets you open a shell in the container through AWS Systems Manager",
                "use `docker exec` on the host's container instead",
                _true("RemoteDebugConfig", "EnableRemoteDebug")),
    NotEmulated("InfraCheckConfig.EnableInfraCheck",
                "tests the instances' hardware and network before training",
                "no check is run",
                _true("InfraCheckConfig", "EnableInfraCheck")),
    NotEmulated("SessionChainingConfig.EnableSessionTagChaining",
                "passes the creating role's session tags on to the job's role",
                "no role is assumed",
                _true("SessionChainingConfig", "EnableSessionTagChaining")),
    NotEmulated("MlflowConfig",
                "logs the job to this managed MLflow tracking server",
                "nothing is logged",
                _set("MlflowConfig")),
    NotEmulated("ModelPackageConfig",
                "registers the model in this model package group",
                "no model package is made",
                _set("ModelPackageConfig")),
)


@dataclass(frozen=True)
class Unhonoured:
    """One place a spec sets a member that a local run does not honour."""

    path: str
    message: str  # `not emulated locally: SageMaker ...; ...`

    def line(self) -> str:
        return f"{self.path}: {self.message}"


def unhonoured(spec: dict) -> list[Unhonoured]:
    """Every member this spec sets that a local run does not honour, one entry per place."""
    if not isinstance(spec, dict):
        return []
    found = []
    for entry in NOT_EMULATED:
        for path, detail in entry.find(spec):
            found.append(Unhonoured(path, entry.line(detail)))
    return found
