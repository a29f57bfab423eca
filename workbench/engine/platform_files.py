"""The files SageMaker's platform writes into /opt/ml besides the three every toolkit reads.

Listings and copies taken inside real training jobs show them (the 2020 job whose files
`shiftan/simple_sagemaker` keeps as test fixtures, and a 2022 `ls -la`; see
docs/contract.md). Where a real file's shape is known it is followed, quirks included
(trainingjobconfig.json spells the channels' enums in SCREAMING_CASE; init-config.json
is lowerCamelCase); where it is not, the file holds its request member in the API's own
shape. No field is invented.
"""

from __future__ import annotations

import copy
import re

from workbench.engine.checkpoints.synced import (
    DEFAULT_TENSORBOARD_PATH,
    DEFAULT_TENSORS_PATH,
    checkpoint_local_path,
    local_path,
)
from workbench.engine.plan import ChannelPlan, HostPlan, JobPlan
from workbench.spec.resolve import cloud_request
from workbench.storage.uri import Location

# The channel enums trainingjobconfig.json spells in SCREAMING_CASE (S3_PREFIX, SHARDED_BY_S3_KEY, NONE).
_SCREAMING_CHANNEL_KEYS = ("S3DataType", "S3DataDistributionType", "CompressionType", "RecordWrapperType")


def screaming(value: str) -> str:
    """S3Prefix -> S3_PREFIX, ShardedByS3Key -> SHARDED_BY_S3_KEY, None -> NONE."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", value).upper()


def _lower_camel(name: str) -> str:
    """FileSystemId -> fileSystemId, S3Uri -> s3Uri (init-config.json's spelling)."""
    return name[:1].lower() + name[1:]


def _screaming_channels(channels: list) -> None:
    for channel in channels:
        if not isinstance(channel, dict):
            continue
        holders = [channel, (channel.get("DataSource") or {}).get("S3DataSource") or {}]
        for holder in holders:
            for key in _SCREAMING_CHANNEL_KEYS:
                if isinstance(holder.get(key), str):
                    holder[key] = screaming(holder[key])


def training_job_config(spec: dict, arn: str) -> dict:
    """trainingjobconfig.json: the CreateTrainingJob request as sent, plus TrainingJobArn.

    As in the real file: the channels' enums in SCREAMING_CASE, and `BaseTags` beside
    `Tags` (the real job had both, the same). Nothing the request left out is added."""
    config = cloud_request(spec)
    _screaming_channels(config.get("InputDataConfig") or [])
    if config.get("Tags"):
        config["BaseTags"] = copy.deepcopy(config["Tags"])
    config["TrainingJobArn"] = arn
    return config


def _s3_source(data_type: str, uri: str, distribution: str | None, attributes: list | None) -> dict:
    return {"s3DataType": screaming(data_type), "s3Uri": uri,
            "s3DataDistributionType": screaming(distribution) if distribution else None,
            "attributeNames": attributes}


def _channel_entry(channel: ChannelPlan) -> dict:
    source = None
    if channel.source is not None:
        source = _s3_source(channel.s3_data_type or channel.data_type, channel.source.uri, channel.distribution,
                            list(channel.attribute_names) or None)
    file_system = None
    if channel.file_system:
        file_system = {_lower_camel(k): (screaming(v) if k == "FileSystemType" else v)
                       for k, v in channel.file_system.items()}
    return {
        "s3DataSource": source,
        "fileSystemDataSource": file_system,
        "compressionType": screaming(channel.compression),
        "recordWrapper": screaming(channel.record_wrapper),
        "shuffleConfig": {"seed": channel.shuffle_seed} if channel.shuffle_seed is not None else None,
        "inputMode": screaming(channel.mode),
        "sharded": channel.distribution == "ShardedByS3Key",
    }


def init_config(spec: dict, plan: JobPlan, host: HostPlan, attempt: int) -> dict:
    """init-config.json: the platform's own view of the job, lowerCamelCase, as the real file.

    `jobRunInfo.jobRunNumber` counts the attempts (spot restarts and retries); that it does
    so on SageMaker is an inference: no public copy shows a second run."""
    mode = ((spec.get("AlgorithmSpecification") or {}).get("TrainingInputMode")) or "File"
    config: dict = {
        "inputMode": screaming(mode),
        "channels": {c.name: _channel_entry(c) for c in plan.channels_for(host.name)},
    }
    checkpoint = spec.get("CheckpointConfig") or {}
    if checkpoint.get("S3Uri"):
        config["checkpointChannel"] = {
            "name": "checkpoints",
            "channel": {"s3DataSource": _s3_source("S3Prefix", checkpoint["S3Uri"], None, None),
                        "fileSystemDataSource": None, "compressionType": None, "recordWrapper": None,
                        "shuffleConfig": None, "inputMode": "FILE", "sharded": False},
            "outputPath": checkpoint_local_path(spec),
            "allowEmpty": True,
        }
    config["hostConfig"] = {"clusterSize": len(plan.hosts), "hostNumber": host.index + 1}
    config["enableAdditionalPlatformLoggingForCustomer"] = False
    config["jobRunInfo"] = {"jobRunNumber": attempt}
    return config


def feature_configs(spec: dict) -> dict[str, object]:
    """The per-feature files, written only when the job sets their member (file name -> content)."""
    files: dict[str, object] = {}
    if (spec.get("CheckpointConfig") or {}).get("S3Uri"):
        files["checkpointconfig.json"] = {"LocalPath": checkpoint_local_path(spec)}  # only LocalPath, as the real one
    tensorboard = spec.get("TensorBoardOutputConfig")
    if isinstance(tensorboard, dict):
        files["tensorboardoutputconfig.json"] = {
            "S3OutputPath": tensorboard.get("S3OutputPath"),
            "LocalPath": local_path(tensorboard.get("LocalPath"), DEFAULT_TENSORBOARD_PATH)}
    hook = spec.get("DebugHookConfig")
    if isinstance(hook, dict):  # the API shape, members left out written as null (as the real file)
        files["debughookconfig.json"] = {
            "S3OutputPath": hook.get("S3OutputPath"),
            "LocalPath": local_path(hook.get("LocalPath"), DEFAULT_TENSORS_PATH),
            "HookParameters": hook.get("HookParameters"),
            "CollectionConfigurations": hook.get("CollectionConfigurations")}
    if isinstance(spec.get("ProfilerConfig"), dict):
        files["profilerconfig.json"] = copy.deepcopy(spec["ProfilerConfig"])
    return files


def job_configs(spec: dict, arn: str) -> dict[str, object]:
    """The files every job gets besides hyperparameters, inputdataconfig and resourceconfig."""
    algo = spec.get("AlgorithmSpecification") or {}
    return {
        "trainingjobconfig.json": training_job_config(spec, arn),
        "metric-definition-regex.json": copy.deepcopy(algo.get("MetricDefinitions") or []),
        "upstreamoutputdataconfig.json": copy.deepcopy(spec.get("OutputDataConfig") or {}),
        **feature_configs(spec),
    }


def manifest_text(source: Location, uris: list[str]) -> str:
    """A `<channel>-manifest`: the key prefix without the bucket, then one URI per object
    staged on this host (a local source's first line is its folder)."""
    first = source.key if source.is_s3 else str(source.path)
    return "".join(line + "\n" for line in [first, *uris])
