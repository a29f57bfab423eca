"""Validation of a spec against botocore's CreateTrainingJob model plus the API's cross-field rules.

The model is walked generically (types, required members, enums, lengths, counts, ranges,
patterns); nothing is copied by hand. Every problem is collected, never just the first.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from workbench.spec.metrics import FIELD as METRICS_FIELD
from workbench.spec.metrics import definition_problems, metric_definitions
from workbench.spec.model import Shape, request_model
from workbench.spec.paths import format_path, value_at
from workbench.spec.resolve import is_placeholder_role
from workbench.spec.settings import MAX_SECONDS, WORKBENCH_KEY, setting_default, setting_fields, setting_kind
from workbench.spec.unemulated import unhonoured
from workbench.storage.uri import is_local, local_path

TARGETS = ("local", "sagemaker")

# The API's integer is a Java int, its long a Java long: the bounds where the model gives none.
_TYPE_BOUNDS = {"integer": (-2 ** 31, 2 ** 31 - 1), "long": (-2 ** 63, 2 ** 63 - 1)}

NO_HOSTS = ("a local run needs at least one host: set ResourceConfig.InstanceCount "
            "(or the instance groups' counts) to 1 or more")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"
    not_emulated: bool = False  # a member a local run does not honour (the runner says so again)

    def format(self, source: str = "spec") -> str:
        where = f"{self.path}: " if self.path else ""
        tag = "warning: " if self.severity == "warning" else ""
        return f"{source}: {tag}{where}{self.message}"


_REQUIRED_HINTS = {
    "RoleArn": "the IAM role SageMaker runs the job as, e.g. arn:aws:iam::123456789012:role/SageMakerRole",
    "S3OutputPath": "where model.tar.gz goes, e.g. s3://BUCKET/output",
}

# Java's \p{..} classes in a few AWS patterns, in Python's terms.
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{Z}": r"\s", r"\p{N}": r"\d", r"\p{Alnum}": "a-zA-Z0-9"}


@lru_cache(maxsize=None)
def compiled_pattern(pattern: str) -> re.Pattern | None:
    for java, python in _JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(word: str, options: list[str]) -> str | None:
    """The option a typo most likely meant: same name in another case, a prefix, or close."""
    lowered = str(word).lower()
    for option in options:
        if option.lower() == lowered:
            return option
    prefixed = [o for o in options if lowered and o.lower().startswith(lowered)]
    if len(prefixed) == 1:
        return prefixed[0]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return close[0] if close else None


def _enum_message(value: Any, allowed: list[str], shape: Shape) -> str:
    close = difflib.get_close_matches(str(value), allowed, n=3, cutoff=0.6)
    if len(allowed) <= 12:
        options = ", ".join(allowed)
        if close:
            return f"{_show(value)} is not allowed; did you mean {close[0]}? Allowed: {options}"
        return f"{_show(value)} is not allowed; allowed: {options}"
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"{_show(value)} is not a valid {shape.name}{hint} ({len(allowed)} values allowed, e.g. {', '.join(allowed[:4])})"


class _Walker:
    def __init__(self, target: str, base_dir: Path | None) -> None:
        self.target = target
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def add(self, path: list, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(format_path(path), message, severity))

    def walk(self, value: Any, shape: Shape, path: list) -> None:
        kind = shape.type
        if kind == "structure":
            self.structure(value, shape, path)
        elif kind == "list":
            self.sequence(value, shape, path)
        elif kind == "map":
            self.mapping(value, shape, path)
        elif kind == "string":
            self.string(value, shape, path)
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                self.add(path, f"must be an integer, not {_kind(value)} {_show(value)}")
            else:
                self.bounds(value, shape, path)
        elif kind in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.add(path, f"must be a number, not {_kind(value)} {_show(value)}")
            elif not math.isfinite(value):
                self.add(path, f"must be a finite number, not {_show(value)}")
            else:
                self.bounds(value, shape, path)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.add(path, f"must be true or false, not {_kind(value)} {_show(value)}")

    def bounds(self, value: float, shape: Shape, path: list) -> None:
        type_low, type_high = _TYPE_BOUNDS.get(shape.type, (None, None))
        low = shape.min if shape.min is not None else type_low
        high = shape.max if shape.max is not None else type_high
        if low is not None and value < low:  # the type's own bound is named only when it is the one broken
            self.add(path, f"{_show(value)} is out of range; allowed: {_range(low, shape.max)}")
        elif high is not None and value > high:
            self.add(path, f"{_show(value)} is out of range; allowed: {_range(shape.min, high)}")

    def structure(self, value: Any, shape: Shape, path: list) -> None:
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping of {', '.join(shape.members)}, not {_kind(value)}")
            return
        for member in shape.required:
            if member not in value or value[member] is None:
                hint = _REQUIRED_HINTS.get(member, "")
                self.add(path + [member], f"is required in {shape.name}" + (f": {hint}" if hint else ""))
        for key, item in value.items():
            if key not in shape.members:
                if not path and key == WORKBENCH_KEY:
                    continue
                close = suggest(str(key), list(shape.members))
                hint = f"did you mean {close}? " if close else ""
                self.add(path + [key], f"unknown field; {hint}{shape.name} accepts: {', '.join(shape.members)}")
                continue
            if item is None:
                if key not in shape.required:
                    self.add(path + [key], "is empty; give it a value or remove the line")
                continue
            self.walk(item, shape.members[key], path + [key])

    def sequence(self, value: Any, shape: Shape, path: list) -> None:
        if not isinstance(value, list):
            self.add(path, f"must be a list, not {_kind(value)} {_show(value)}")
            return
        self.count(len(value), shape, path, "items")
        for index, item in enumerate(value):
            self.walk(item, shape.member, path + [index])

    def mapping(self, value: Any, shape: Shape, path: list) -> None:
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping, not {_kind(value)} {_show(value)}")
            return
        self.count(len(value), shape, path, "entries")
        for key, item in value.items():
            if not isinstance(key, str):
                self.add(path + [str(key)], f"keys must be strings; quote {key!r}")
                continue
            key_problems = self.check_string(key, shape.key)
            for problem in key_problems:
                self.add(path + [key], f"the key {problem}")
            self.walk(item, shape.value, path + [key])

    def count(self, size: int, shape: Shape, path: list, what: str) -> None:
        low, high = shape.min, shape.max
        if low is not None and size < low:
            self.add(path, f"has {size} {what}; at least {low} needed")
        if high is not None and size > high:
            self.add(path, f"has {size} {what}; at most {high} allowed")

    def string(self, value: Any, shape: Shape, path: list) -> None:
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_kind(value)} {_show(value)}")
            return
        if shape.is_s3_uri and is_local(value):
            self.local_uri(value, path)
            return
        for problem in self.check_string(value, shape):
            self.add(path, problem)

    def check_string(self, value: str, shape: Shape) -> list[str]:
        if shape.enum is not None:
            return [] if value in shape.enum else [_enum_message(value, shape.enum, shape)]
        out = []
        low, high = shape.min, shape.max
        if low is not None and len(value) < low or high is not None and len(value) > high:
            out.append(f"{_show(value)} has {len(value)} characters; allowed: {_range(low, high)}")
        if shape.pattern:
            regex = compiled_pattern(shape.pattern)
            if regex is not None and not regex.fullmatch(value):
                out.append(f"{_show(value)} does not match the pattern {shape.pattern} required for {shape.name}")
        return out

    def local_uri(self, value: str, path: list) -> None:
        member = path[-1] if path else ""
        if self.target == "sagemaker":
            if "InputDataConfig" in path:
                fix = "upload it with `sm-workbench upload PATH s3://BUCKET/PREFIX` and use that URI"
            else:
                fix = "give an s3:// URI SageMaker can write to, e.g. s3://BUCKET/PREFIX"
            self.add(path, f"{_show(value)} is a local path; SageMaker needs an s3:// URI: {fix}")
            return
        if "InputDataConfig" in path and member == "S3Uri":
            target = local_path(value, self.base_dir)
            if not target.exists():
                self.add(path, f"{_show(value)}: {target} does not exist; create it or fix the path")


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}"



def _channels(data: dict) -> Iterable[tuple[int, dict]]:
    channels = data.get("InputDataConfig")
    if isinstance(channels, list):
        for index, channel in enumerate(channels):
            if isinstance(channel, dict):
                yield index, channel


def channel_input_mode(data: dict, channel: dict) -> str:
    return channel.get("InputMode") or value_at(data, "AlgorithmSpecification", "TrainingInputMode") or "File"


def _cross_field(data: dict, target: str, add) -> None:
    resources = data.get("ResourceConfig") if isinstance(data.get("ResourceConfig"), dict) else {}
    groups = resources.get("InstanceGroups") if isinstance(resources.get("InstanceGroups"), list) else None
    algo = data.get("AlgorithmSpecification") if isinstance(data.get("AlgorithmSpecification"), dict) else None

    serverless = data.get("ServerlessJobConfig") is not None
    if serverless and target == "local":
        add(["ServerlessJobConfig"], "a serverless job runs SageMaker's own customization or evaluation of "
            "BaseModelArn, with no training image of yours, so it cannot run on this machine; send it to "
            "SageMaker with `sm-workbench submit`")
    if algo is None:
        if not serverless:
            add(["AlgorithmSpecification"], "is required: give at least TrainingImage (and TrainingInputMode)")
    elif not algo.get("TrainingImage") and not algo.get("AlgorithmName"):
        add(["AlgorithmSpecification", "TrainingImage"], "is required: the Docker image that runs the training")
    elif target == "local" and not algo.get("TrainingImage"):
        add(["AlgorithmSpecification", "AlgorithmName"],
            "marketplace algorithms cannot run locally; give TrainingImage instead")

    preferences = resources.get("InstancePreferences")
    preferences = preferences if isinstance(preferences, list) else None
    if groups:
        for member in ("InstanceType", "InstanceCount"):
            if member in resources:
                add(["ResourceConfig", member],
                    "cannot be combined with InstanceGroups; set the type and count on each instance group instead")
    elif preferences:
        _instance_preferences(data, resources, preferences, add)
    elif target == "sagemaker" and not serverless:
        for member in ("InstanceType", "InstanceCount"):
            if member not in resources:
                add(["ResourceConfig", member], "is required when ResourceConfig has no InstanceGroups")
    for member in ("SelectedInstanceType", "SelectedInstanceCount"):
        if member in resources:
            add(["ResourceConfig", member], "is read-only: DescribeTrainingJob reports the instance type SageMaker "
                "chose from InstancePreferences, CreateTrainingJob does not accept it; remove it")
    _warm_pool(data, resources, groups, add)

    group_names: list[str] = []
    for index, group in enumerate(groups or []):
        name = group.get("InstanceGroupName") if isinstance(group, dict) else None
        if isinstance(name, str):
            if name in group_names:
                add(["ResourceConfig", "InstanceGroups", index, "InstanceGroupName"],
                    f"the instance group name {name!r} is used twice; names must be unique")
            group_names.append(name)

    channel_names: list[str] = []
    with_groups, without_groups = [], []
    for index, channel in _channels(data):
        name = channel.get("ChannelName")
        if isinstance(name, str):
            if name in channel_names:
                add(["InputDataConfig", index, "ChannelName"],
                    f"the channel name {name!r} is used twice; channel names must be unique")
            channel_names.append(name)
        s3 = value_at(channel, "DataSource", "S3DataSource")
        refs = value_at(s3, "InstanceGroupNames")
        if refs:
            with_groups.append(index)
            if not groups:
                add(["InputDataConfig", index, "DataSource", "S3DataSource", "InstanceGroupNames"],
                    "names instance groups, but ResourceConfig defines none; define ResourceConfig.InstanceGroups or remove it")
            elif isinstance(refs, list):
                for ref_index, ref in enumerate(refs):
                    if ref not in group_names:
                        add(["InputDataConfig", index, "DataSource", "S3DataSource", "InstanceGroupNames", ref_index],
                            f"{ref!r} is not a defined instance group; defined: {', '.join(group_names) or 'none'}")
        else:
            without_groups.append(index)
        mode = channel_input_mode(data, channel)
        data_type = value_at(s3, "S3DataType")
        if mode == "FastFile" and isinstance(s3, dict) and data_type not in (None, "S3Prefix"):
            add(["InputDataConfig", index, "DataSource", "S3DataSource", "S3DataType"],
                f"FastFile input mode works only with S3Prefix, not {data_type}; use File or Pipe mode")
        if data_type == "AugmentedManifestFile" and mode != "Pipe":
            add(["InputDataConfig", index, "DataSource", "S3DataSource", "S3DataType"],
                f"AugmentedManifestFile works only in Pipe input mode, not {mode}; set the channel's InputMode: Pipe")
        if value_at(channel, "DataSource", "FileSystemDataSource") and mode != "File":
            add(["InputDataConfig", index, "InputMode"],
                f"file system channels use File mode, not {mode}")
        if value_at(channel, "DataSource", "DatasetSource") is not None and target == "local":
            add(["InputDataConfig", index, "DataSource", "DatasetSource"],
                "a SageMaker Hub dataset cannot be read on this machine; give the channel's data as "
                "S3DataSource (an s3:// URI or a local path) to run it here")
        source = value_at(channel, "DataSource")
        if isinstance(source, dict) and not any(source.get(k) for k in ("S3DataSource", "FileSystemDataSource", "DatasetSource")):
            add(["InputDataConfig", index, "DataSource"], "needs S3DataSource (an s3:// URI or local path) or FileSystemDataSource")
    if groups and with_groups and without_groups:
        for index in without_groups:
            add(["InputDataConfig", index, "DataSource", "S3DataSource", "InstanceGroupNames"],
                "is missing: with instance groups, either every channel names InstanceGroupNames or none does")

    role = data.get("RoleArn")
    if target == "sagemaker" and isinstance(role, str) and is_placeholder_role(role):
        add(["RoleArn"], f"{role!r} is sm-workbench's stand-in for local runs; give the IAM role SageMaker runs "
                         "the job as, e.g. arn:aws:iam::123456789012:role/SageMakerRole")

    if target == "local":
        _host_count(data, resources, groups, add)

    stopping = data.get("StoppingCondition") if isinstance(data.get("StoppingCondition"), dict) else {}
    max_wait = stopping.get("MaxWaitTimeInSeconds")
    max_runtime = stopping.get("MaxRuntimeInSeconds")
    if _is_int(max_runtime) and MAX_SECONDS < max_runtime <= _TYPE_BOUNDS["integer"][1]:  # beyond: out of range
        add(["StoppingCondition", "MaxRuntimeInSeconds"],
            f"{_show(max_runtime)} is more than {MAX_SECONDS} (28 days), the longest SageMaker runs a training job")
    if max_wait is not None:
        if data.get("EnableManagedSpotTraining") is not True:
            add(["StoppingCondition", "MaxWaitTimeInSeconds"],
                "is only allowed with EnableManagedSpotTraining: true; enable spot training or remove it")
        elif isinstance(max_wait, int) and isinstance(max_runtime, int) and max_wait < max_runtime:
            add(["StoppingCondition", "MaxWaitTimeInSeconds"],
                f"{max_wait} is less than MaxRuntimeInSeconds ({max_runtime}); it must be at least as long")


def _instance_preferences(data: dict, resources: dict, preferences: list, add) -> None:
    """InstancePreferences' rules, as the API model's documentation states them."""
    for member in ("InstanceType", "InstancePlacementConfig"):
        if member in resources:
            add(["ResourceConfig", member], "cannot be combined with InstancePreferences; SageMaker picks the "
                "instance type from the list: remove one of them")
    if data.get("EnableManagedSpotTraining") is True:
        add(["EnableManagedSpotTraining"], "cannot be combined with ResourceConfig.InstancePreferences, which "
            "supports only on-demand capacity and flexible training plans")
    items = [p for p in preferences if isinstance(p, dict)]
    counted = [p for p in items if "InstanceCount" in p]
    path = ["ResourceConfig", "InstancePreferences"]
    if counted and len(counted) != len(items):
        add(path, "set InstanceCount on every preference or on none of them (then in ResourceConfig)")
    elif counted and "InstanceCount" in resources:
        add(["ResourceConfig", "InstanceCount"], "cannot be set both here and on the instance preferences; "
            "keep one of them")
    elif not counted and "InstanceCount" not in resources:
        add(["ResourceConfig", "InstanceCount"], "is required with InstancePreferences unless every preference "
            "sets its own InstanceCount")
    types = [p.get("InstanceType") for p in items]
    for index, kind in enumerate(types):
        if kind is not None and kind in types[:index]:
            add(path + [index, "InstanceType"], f"{kind} is listed twice; an instance type can appear only once")
    if resources.get("TrainingPlanArn") and any(p.get("TrainingPlanArns") for p in items):
        add(["ResourceConfig", "TrainingPlanArn"], "cannot be combined with TrainingPlanArns on the instance "
            "preferences; keep one of them")


# What the developer guide allows, where the API model allows more (the service may enforce either).
WARM_POOL_DOCUMENTED_MAX = 3600


def _warm_pool(data: dict, resources: dict, groups: list | None, add) -> None:
    keep_alive = resources.get("KeepAlivePeriodInSeconds")
    if not _is_int(keep_alive) or keep_alive <= 0:
        return
    path = ["ResourceConfig", "KeepAlivePeriodInSeconds"]
    if keep_alive > WARM_POOL_DOCUMENTED_MAX:
        add(path, f"{keep_alive} s is more than the {WARM_POOL_DOCUMENTED_MAX} s the SageMaker developer guide "
            "allows (the API model allows up to 21600); SageMaker may refuse it", "warning")
    if groups:
        add(path, "SageMaker keeps no warm pool for heterogeneous clusters (InstanceGroups); none is kept here "
            "either", "warning")
    if data.get("EnableManagedSpotTraining") is True:
        add(path, "SageMaker keeps no warm pool for managed spot training; none is kept here either", "warning")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _host_count(data: dict, resources: dict, groups: list | None, add) -> None:
    """Every host is a container here: at least one, and no more than Workbench.MaxHosts."""
    if groups:
        counts = [g.get("InstanceCount") for g in groups if isinstance(g, dict)]
        if not all(_is_int(c) for c in counts):
            return  # the model walk reports those
        count, path = sum(counts), ["ResourceConfig", "InstanceGroups"]
    else:
        count, path = resources.get("InstanceCount", 1), ["ResourceConfig", "InstanceCount"]
        preferences = resources.get("InstancePreferences")
        if "InstanceCount" not in resources and isinstance(preferences, list) and preferences \
                and isinstance(preferences[0], dict):  # the first preference is the one a local run uses
            count, path = preferences[0].get("InstanceCount", 1), ["ResourceConfig", "InstancePreferences", 0]
        if not _is_int(count):
            return
    if count < 1:
        add(path, NO_HOSTS)
        return
    section = data.get(WORKBENCH_KEY)
    chosen = section.get("MaxHosts") if isinstance(section, dict) else None
    max_hosts = chosen if _is_int(chosen) and check_setting("MaxHosts", chosen) is None else setting_default("MaxHosts")
    if count > max_hosts:
        add(path, f"{_show(count)} hosts is more than Workbench.MaxHosts ({max_hosts}): each host is a container on "
                  f"this machine; use fewer hosts, or raise Workbench.MaxHosts (at most "
                  f"{setting_fields()['MaxHosts'].metadata['maximum']}) if this machine can hold them")


def _workbench_section(data: dict, add) -> None:
    section = data.get(WORKBENCH_KEY)
    if section is None:
        return
    if not isinstance(section, dict):
        add([WORKBENCH_KEY], f"must be a mapping of local settings, not {_kind(section)}")
        return
    known = setting_fields()
    for key, value in section.items():
        path = [WORKBENCH_KEY, key]
        if key not in known:
            close = suggest(str(key), list(known))
            hint = f"did you mean {close}? " if close else ""
            add(path, f"unknown Workbench setting; {hint}known: {', '.join(known)}")
            continue
        message = check_setting(key, value)
        if message:
            add(path, message)


def check_setting(name: str, value: Any) -> str | None:
    """Why `value` does not fit the Workbench setting `name`, or None when it does."""
    f = setting_fields()[name]
    kind = setting_kind(name)
    minimum, maximum = f.metadata.get("minimum"), f.metadata.get("maximum")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, not {_kind(value)} {_show(value)}"
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, not {_kind(value)} {_show(value)}"
    elif kind == "bool":
        if not isinstance(value, bool):
            return f"must be true or false, not {_kind(value)} {_show(value)}"
    elif kind == "str":
        if not isinstance(value, str):
            return f"must be a string, not {_kind(value)} {_show(value)}"
    elif kind in ("list", "numbers"):
        if not isinstance(value, list):
            return f"must be a list, not {_kind(value)} {_show(value)}"
        if kind == "numbers":
            low = minimum or 0
            for item in value:
                if isinstance(item, bool) or not isinstance(item, (int, float)) or not (
                        low <= item and (maximum is None or item <= maximum)):
                    return f"must be a list of numbers from {_range(low, maximum)}; {_show(item)} is not"
            return None
    elif kind in ("dict", "str_map"):
        if not isinstance(value, dict):
            return f"must be a mapping, not {_kind(value)} {_show(value)}"
        if kind == "str_map" and not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return "must map strings to strings"
        return None
    elif kind == "build":
        return _build_problem(value)
    elif kind == "paths":
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            return f"must be a list of folders, e.g. [../common], not {_show(value)}"
        return None
    elif kind == "gpus":
        if value in ("auto", "all", "none"):
            return None
        if isinstance(value, list) and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in value):
            repeated = sorted({i for i in value if value.count(i) > 1})
            if repeated:
                return f"names GPU {repeated[0]} more than once; list each GPU once"
            if not value:
                return "is an empty list; give GPU indexes like [0, 1], or none to run on the CPU"
            return None
        return f"must be auto, all, none, or a list of GPU indexes like [0, 1]; not {_show(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {_show(value)}"
    if minimum is not None and isinstance(value, (int, float)) and value < minimum:
        return f"{_show(value)} is too small; at least {minimum}"
    if maximum is not None and isinstance(value, (int, float)) and value > maximum:
        unit = " (28 days, the longest SageMaker runs a training job)" if maximum == MAX_SECONDS else ""
        return f"{_show(value)} is too big; at most {maximum}{unit}"
    return None


# --- inner loop: build, script mode ---

BUILD_KEYS = ("Context", "Dockerfile", "BuildArgs", "Target")
_ENTRY_POINT = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+/-]*$")  # what sagemaker-training 5.x accepts


def _build_problem(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"must be a mapping like {{Context: ., Dockerfile: Dockerfile}}, not {_kind(value)} {_show(value)}"
    if not value:
        return None
    for key in value:
        if key not in BUILD_KEYS:
            close = suggest(str(key), list(BUILD_KEYS))
            return f"has an unknown key {key!r}; {'did you mean ' + close + '? ' if close else ''}known: {', '.join(BUILD_KEYS)}"
    if not isinstance(value.get("Context"), str) or not value["Context"]:
        return "needs Context: the folder to build, e.g. Context: . (relative to the spec file)"
    for key in ("Dockerfile", "Target"):
        if key in value and (not isinstance(value[key], str) or not value[key]):
            return f"{key} must be a string, not {_show(value[key])}"
    args = value.get("BuildArgs")
    if args is not None and (not isinstance(args, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool))) for k, v in args.items())):
        return "BuildArgs must map names to values, e.g. {BASE: python:3.11}"
    return None


def _local(path: Any, base_dir: Path | None) -> Path:
    target = Path(str(path)).expanduser()
    return target if target.is_absolute() or base_dir is None else base_dir / target


def _inner_loop(data: dict, target: str, base_dir: Path | None, add) -> None:
    """The Workbench.Build and script-mode folders exist and fit together (as the SDK's
    validate_source_dir asks: the entry point is a file in SourceDir)."""
    section = data.get(WORKBENCH_KEY)
    if not isinstance(section, dict):
        return
    build = section.get("Build")
    if target == "local" and isinstance(build, dict) and build and _build_problem(build) is None:
        context = _local(build["Context"], base_dir)
        dockerfile = context / build.get("Dockerfile", "Dockerfile")
        if not context.is_dir():
            add([WORKBENCH_KEY, "Build", "Context"], f"{context} is not a folder; give the folder to build")
        elif not dockerfile.is_file():
            add([WORKBENCH_KEY, "Build", "Dockerfile"], f"{dockerfile} does not exist; give the Dockerfile's path "
                                                         "relative to Context")
    source, entry = section.get("SourceDir", ""), section.get("EntryPoint", "")
    dependencies = section.get("Dependencies")
    if not isinstance(source, str) or not isinstance(entry, str) or (
            dependencies is not None and check_setting("Dependencies", dependencies)):
        return  # check_setting said why
    if (source or dependencies) and not entry:
        add([WORKBENCH_KEY, "EntryPoint"], "is required with SourceDir or Dependencies: the script the training "
                                          "toolkit runs, e.g. train.py")
        return
    if not entry:
        return
    if source:
        folder = _local(source, base_dir)
        if not folder.is_dir():
            add([WORKBENCH_KEY, "SourceDir"], f"{folder} is not a folder; give the folder with your training code")
            return
        if not _ENTRY_POINT.match(entry) or any(part in (".", "..") for part in entry.split("/")):
            add([WORKBENCH_KEY, "EntryPoint"], f"{entry!r} must be a path inside SourceDir, like train.py or "
                                              "src/train.py (the training toolkit refuses others)")
        elif not (folder / entry).is_file():
            add([WORKBENCH_KEY, "EntryPoint"], f"no file named {entry!r} in {folder} (SourceDir); the SDK requires "
                                              "the entry point to be a file in source_dir")
    elif not _local(entry, base_dir).is_file():
        add([WORKBENCH_KEY, "EntryPoint"], f"{_local(entry, base_dir)} is not a file; give your training script, "
                                          "or SourceDir with the script's path inside it")
    for index, dependency in enumerate(dependencies or []):
        if not _local(dependency, base_dir).exists():
            add([WORKBENCH_KEY, "Dependencies", index], f"{_local(dependency, base_dir)} does not exist")


def validate(data: dict, *, target: str = "local", base_dir: Path | str | None = None) -> list[Problem]:
    """All problems of a resolved spec for `target` ("local" or "sagemaker")."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}")
    walker = _Walker(target, Path(base_dir) if base_dir else None)
    walker.walk(data, request_model().root, [])
    _cross_field(data, target, walker.add)
    _workbench_section(data, walker.add)
    if target == "local":
        walker.problems += [Problem(u.path, u.message, "warning", not_emulated=True) for u in unhonoured(data)]
    _inner_loop(data, target, walker.base_dir, walker.add)
    _metric_definitions(data, walker.add)
    return walker.problems


# --- metrics ---


def _metric_definitions(data: dict, add) -> None:
    """Regexes that do not compile (refused), or that would never give a value (warned)."""
    for path, message, severity in definition_problems(metric_definitions(data)):
        add([*METRICS_FIELD, *path], message, severity)


def validate_request(data: Any, operation: str, *, target: str = "local",
                     base_dir: Path | str | None = None) -> list[Problem]:
    """The generic walk alone, over `operation`'s request model (CreateModel,
    CreateTransformJob): what the API itself would refuse. Cross-field rules and the
    `Workbench:` section are the caller's (`spec/serving.py`)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}")
    walker = _Walker(target, Path(base_dir) if base_dir else None)
    walker.walk(data, request_model(operation).root, [])
    return walker.problems


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
