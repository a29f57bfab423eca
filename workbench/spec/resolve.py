"""Fill what the API requires but a local run does not need, and name unnamed jobs.

`resolve` never changes the user's document; it returns the spec a job actually runs
with (the copy saved in the job's folder), local paths made absolute.
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

from workbench.paths import default_output_dir
from workbench.spec import script_mode
from workbench.spec.settings import WORKBENCH_KEY, WorkbenchSettings
from workbench.storage.uri import is_local, local_path

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_VOLUME_GB = 30
DEFAULT_MAX_RUNTIME = 86400
TARGETS = ("local", "sagemaker")


PLACEHOLDER_ROLE = "sm-workbench-local"


def placeholder_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{PLACEHOLDER_ROLE}"


def is_placeholder_role(role: str) -> bool:
    """The role `resolve` fills in for local runs, not one the user gave."""
    return role.endswith(f":role/{PLACEHOLDER_ROLE}")


def base_name_from_image(image: str) -> str:
    """The SDK's rule: the repository name without registry, path or tag."""
    match = re.match(r"^(.+/)?([^:/@]+)(:[^:]+|@.+)?$", image or "")
    name = match.group(2) if match else (image or "job")
    name = re.sub(r"[^a-zA-Z0-9-]+", "-", name).strip("-")
    return name or "job"


def generate_job_name(image: str, now: float | None = None) -> str:
    """`<image-name>-YYYY-MM-DD-HH-MM-SS-mmm`, as the SageMaker Python SDK names jobs."""
    now = time.time() if now is None else now
    total_ms = round(now * 1000)
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(total_ms // 1000)) + f"-{total_ms % 1000:03d}"
    base = base_name_from_image(image)[: 63 - len(stamp) - 1].rstrip("-")
    return f"{base}-{stamp}"


def _stringify_map(values: dict | None) -> dict | None:
    """HyperParameters and Environment are string to string; SDK users write numbers."""
    if not isinstance(values, dict):
        return values
    out = {}
    for key, value in values.items():
        if isinstance(value, str) or value is None or isinstance(value, (dict, list)):
            out[key] = value
        else:
            out[key] = json.dumps(value)
    return out


def _absolute_uris(data: dict, base_dir: Path | None) -> None:
    def fix(holder: dict, key: str) -> None:
        value = holder.get(key)
        if isinstance(value, str) and value and is_local(value):
            path = local_path(value, base_dir)
            holder[key] = path.as_uri() + ("/" if value.endswith("/") and path != Path("/") else "")

    channels = data.get("InputDataConfig")
    for channel in channels if isinstance(channels, list) else []:
        if isinstance(channel, dict):
            s3 = ((channel.get("DataSource") or {}).get("S3DataSource")) if isinstance(channel.get("DataSource"), dict) else None
            if isinstance(s3, dict):
                fix(s3, "S3Uri")
    for section, key in (("OutputDataConfig", "S3OutputPath"), ("CheckpointConfig", "S3Uri"),
                         ("TensorBoardOutputConfig", "S3OutputPath"), ("DebugHookConfig", "S3OutputPath"),
                         ("ProfilerConfig", "S3OutputPath")):
        if isinstance(data.get(section), dict):
            fix(data[section], key)


def _absolute_paths(section: dict, base_dir: Path | None) -> None:
    """The local folders of the inner loop (build context, script-mode code), made
    absolute like the spec's local URIs: the saved spec runs from any folder."""

    def fix(value):
        if isinstance(value, str) and value and "://" not in value:
            path = Path(value).expanduser()
            return str(path if path.is_absolute() or base_dir is None else (base_dir / path).resolve())
        return value

    build = section.get("Build")
    if isinstance(build, dict) and "Context" in build:
        build["Context"] = fix(build["Context"])
        if isinstance(build.get("BuildArgs"), dict):
            build["BuildArgs"] = _stringify_map(build["BuildArgs"])
    if "SourceDir" in section:
        section["SourceDir"] = fix(section["SourceDir"])
    if isinstance(section.get("EntryPoint"), str) and not section.get("SourceDir"):
        section["EntryPoint"] = fix(section["EntryPoint"])  # the script alone, found like a folder
    if isinstance(section.get("Dependencies"), list):
        section["Dependencies"] = [fix(item) for item in section["Dependencies"]]


def _script_mode(spec: dict, target: str) -> None:
    """The hyperparameters the SDK sets for script mode: locally the code is at
    /opt/ml/code (as SDK local mode rewrites it); for SageMaker, the uploaded tarball."""
    section = spec.get(WORKBENCH_KEY)
    if not isinstance(section, dict) or not isinstance(section.get("EntryPoint"), str) or not section["EntryPoint"]:
        return
    settings = WorkbenchSettings.from_spec(spec)
    if not isinstance(settings.SourceDir, str) or not isinstance(settings.Region, str):
        return  # validation says why
    directory = script_mode.CONTAINER_CODE
    if target != "local":
        output = (spec.get("OutputDataConfig") or {}).get("S3OutputPath") if isinstance(
            spec.get("OutputDataConfig"), dict) else None
        if not isinstance(output, str) or not output:
            return
        directory = script_mode.source_uri(output, spec["TrainingJobName"])
    script_mode.apply(spec, settings, submit_directory=directory, region=settings.Region)


def resolve(
    data: dict,
    *,
    target: str = "local",
    base_dir: Path | str | None = None,
    name: str | None = None,
    now: float | None = None,
) -> dict:
    """The spec with defaults filled for `target` ("local" or "sagemaker")."""
    spec = copy.deepcopy(data)
    settings = WorkbenchSettings.from_spec(spec if isinstance(spec.get(WORKBENCH_KEY), dict) else {})
    algo = spec.get("AlgorithmSpecification")
    if name:
        spec["TrainingJobName"] = name
    elif not spec.get("TrainingJobName"):
        image = algo.get("TrainingImage") if isinstance(algo, dict) else ""
        spec = {"TrainingJobName": generate_job_name(image if isinstance(image, str) else "", now), **spec}
    if isinstance(algo, dict) and "TrainingInputMode" not in algo:
        algo["TrainingInputMode"] = "File"
    for key in ("HyperParameters", "Environment"):
        if key in spec:
            spec[key] = _stringify_map(spec[key])

    if spec.get("ServerlessJobConfig") is None:  # a serverless job's resources and time are SageMaker's to pick
        _fill_resources(spec)

    if target == "local":
        spec.setdefault("RoleArn", placeholder_role(str(settings.AccountId)))
        if not isinstance(spec.get("OutputDataConfig"), dict) or not spec["OutputDataConfig"].get("S3OutputPath"):
            output = spec.get("OutputDataConfig") if isinstance(spec.get("OutputDataConfig"), dict) else {}
            output["S3OutputPath"] = default_output_dir().as_uri()
            spec["OutputDataConfig"] = output
        _absolute_uris(spec, Path(base_dir) if base_dir else None)
    if isinstance(spec.get(WORKBENCH_KEY), dict):
        _absolute_paths(spec[WORKBENCH_KEY], Path(base_dir) if base_dir else None)
    if isinstance(spec.get("TrainingJobName"), str):
        _script_mode(spec, target)
    return spec


def _fill_resources(spec: dict) -> None:
    resources = spec.setdefault("ResourceConfig", {})
    if isinstance(resources, dict):
        if not resources.get("InstanceGroups") and not resources.get("InstancePreferences"):
            resources.setdefault("InstanceType", DEFAULT_INSTANCE_TYPE)  # the API refuses both beside either
            resources.setdefault("InstanceCount", 1)
        elif resources.get("InstancePreferences") and not _counts_per_preference(resources):
            resources.setdefault("InstanceCount", 1)
        resources.setdefault("VolumeSizeInGB", DEFAULT_VOLUME_GB)
    stopping = spec.setdefault("StoppingCondition", {})
    if isinstance(stopping, dict):
        stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)


def _counts_per_preference(resources: dict) -> bool:
    """InstancePreferences give their own InstanceCount (then ResourceConfig must not)."""
    preferences = resources.get("InstancePreferences")
    return isinstance(preferences, list) and any(isinstance(p, dict) and "InstanceCount" in p for p in preferences)


def cloud_request(spec: dict) -> dict:
    """The CreateTrainingJob request: the spec without the local-only section."""
    return {k: copy.deepcopy(v) for k, v in spec.items() if k != WORKBENCH_KEY}
