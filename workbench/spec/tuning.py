"""Tuning specs: a CreateHyperParameterTuningJob request in YAML, with the same local-only
`Workbench:` section as a training spec (plus the tuning's own settings).

Recognised by its keys (`is_tuning_spec`), validated by the same generic walk of
botocore's model as every spec (`validate.validate_request`), then by the API's
cross-field rules for tuning (objective among the metric definitions, Grid's categorical
ranges, Hyperband without early stopping, limits against parallelism...). Each training
job definition is also made into the training spec a trial runs (`trial_spec`) and that
spec is validated as any training spec is, its problems reported at the definition's
paths: what a trial would refuse is said before the first trial starts.

The `Workbench:` section holds the training settings every trial gets (a short
StopGracePeriodSeconds, FileSystems, ...) and `MaxLocalParallelTrainingJobs`, how many
trials this machine runs at a time.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from workbench.errors import SpecInvalid
from workbench.spec.document import read_spec_file
from workbench.spec.overrides import apply_overrides
from workbench.spec.paths import format_path, parse_path, value_at
from workbench.spec.resolve import _stringify_map, base_name_from_image, resolve
from workbench.spec.settings import WORKBENCH_KEY, setting_fields, setting_kind
from workbench.spec.validate import Problem, errors, suggest, validate, validate_request

TUNING_OPERATION = "CreateHyperParameterTuningJob"
TUNING_KEYS = ("HyperParameterTuningJobName", "HyperParameterTuningJobConfig", "TrainingJobDefinition",
               "TrainingJobDefinitions", "WarmStartConfig", "Autotune")
CONFIG = "HyperParameterTuningJobConfig"
OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")
MAX_NAME = 32
# The API's documented limits (docs/tuning.md gives the sources).
MAX_RANGES = 30
MAX_HYPERPARAMETERS = 100
MAX_GRID = 750
MAX_HYPERBAND_RESOURCE = 20_000
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")  # where Hyperband finds MaxResource
GIB = 1024 ** 3
MEMORY_PER_TRIAL = 2 * GIB


def is_tuning_spec(data: Any) -> bool:
    """A CreateHyperParameterTuningJob document, by its keys."""
    return isinstance(data, dict) and any(key in data for key in TUNING_KEYS)


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_local_parallelism() -> int:
    """How many trials this machine runs at once unless the spec says: one per CPU, and
    no more than one per 2 GiB of memory. On SageMaker each trial has instances of its
    own; here they share this machine, and more trials than CPUs only slice the same CPUs
    (every trial slower, its timings and MaxRuntimeInSeconds less like SageMaker's),
    while 2 GiB is what a small training job, its container and its runner need."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    memory = _memory_bytes()
    by_memory = max(1, memory // MEMORY_PER_TRIAL) if memory else cpus
    return max(1, min(cpus, by_memory))


def _setting(default: Any, help: str, minimum: int | None = None, maximum: int | None = None) -> Any:
    return field(default=default, metadata={"help": help, "minimum": minimum, "maximum": maximum, "kind": "int"})


@dataclass
class TuningSettings:
    """The tuning's own `Workbench:` settings (the training settings go to every trial)."""

    MaxLocalParallelTrainingJobs: int = _setting(
        0, "the most trials this machine runs at once, whatever MaxParallelTrainingJobs says (each trial is a "
        "container here, not instances of its own); 0: one per CPU, at most one per 2 GiB of memory", 0, 1000)
    PollSeconds: float = field(default=0.5, metadata={
        "help": "how often the tuner looks at its trials (their objective values, early stopping, ends)",
        "minimum": 0.05, "maximum": 60, "kind": "float"})

    @classmethod
    def from_spec(cls, data: dict | None) -> "TuningSettings":
        section = (data or {}).get(WORKBENCH_KEY) or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in section.items() if k in known}) if isinstance(section, dict) else cls()

    @property
    def local_parallelism(self) -> int:
        return self.MaxLocalParallelTrainingJobs or default_local_parallelism()

    def to_dict(self) -> dict:
        return asdict(self)


TUNING_SETTINGS = {f.name: f for f in fields(TuningSettings)}


def tuning_setting_kinds() -> dict[str, str]:
    """Setting name to the kind `--set Workbench.NAME=...` converts its value to: the
    training settings (for the trials) and the tuning's own."""
    kinds = {name: setting_kind(name) for name in setting_fields()}
    kinds.update({name: f.metadata["kind"] for name, f in TUNING_SETTINGS.items()})
    return kinds


def training_settings(data: dict) -> dict:
    """The `Workbench:` settings every trial's spec gets."""
    section = data.get(WORKBENCH_KEY)
    if not isinstance(section, dict):
        return {}
    return {k: copy.deepcopy(v) for k, v in section.items() if k not in TUNING_SETTINGS}



# --- the training job definitions -------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """One training job definition, with where its objective and ranges were given."""

    index: int
    path: tuple  # ("TrainingJobDefinition",) or ("TrainingJobDefinitions", i)
    data: dict
    objective: dict  # {Type, MetricName}
    objective_path: tuple
    ranges: dict  # ParameterRanges
    ranges_path: tuple

    @property
    def name(self) -> str:
        value = self.data.get("DefinitionName")
        return value if isinstance(value, str) else ""

    @property
    def metric(self) -> str:
        value = self.objective.get("MetricName")
        return value if isinstance(value, str) else ""

    @property
    def maximize(self) -> bool:
        return self.objective.get("Type") == "Maximize"

    @property
    def static(self) -> dict:
        value = self.data.get("StaticHyperParameters")
        return value if isinstance(value, dict) else {}

    def range_items(self) -> list[tuple[str, int, dict]]:
        """(kind, index, range) of every well-formed range."""
        out = []
        for kind in RANGE_KINDS:
            items = self.ranges.get(kind)
            for index, item in enumerate(items if isinstance(items, list) else []):
                if isinstance(item, dict):
                    out.append((kind, index, item))
        return out

    def tuned_names(self) -> list[str]:
        return [str(item.get("Name")) for _, _, item in self.range_items() if isinstance(item.get("Name"), str)]


def definitions(data: dict) -> list[Definition]:
    """The spec's training job definitions (the single one, or each of the list), each
    with its objective and ranges: its own, else the tuning config's."""
    config = data.get(CONFIG) if isinstance(data.get(CONFIG), dict) else {}
    out = []
    holders: list[tuple[tuple, Any]] = []
    if "TrainingJobDefinitions" in data and isinstance(data["TrainingJobDefinitions"], list):
        holders = [(("TrainingJobDefinitions", i), d) for i, d in enumerate(data["TrainingJobDefinitions"])]
    elif isinstance(data.get("TrainingJobDefinition"), dict):
        holders = [(("TrainingJobDefinition",), data["TrainingJobDefinition"])]
    for index, (path, item) in enumerate(holders):
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("TuningObjective"), dict):
            objective, objective_path = item["TuningObjective"], (*path, "TuningObjective")
        else:
            objective = config.get("HyperParameterTuningJobObjective")
            objective = objective if isinstance(objective, dict) else {}
            objective_path = (CONFIG, "HyperParameterTuningJobObjective")
        if isinstance(item.get("HyperParameterRanges"), dict):
            ranges, ranges_path = item["HyperParameterRanges"], (*path, "HyperParameterRanges")
        else:
            ranges = config.get("ParameterRanges") if isinstance(config.get("ParameterRanges"), dict) else {}
            ranges_path = (CONFIG, "ParameterRanges")
        out.append(Definition(index, path, item, objective, objective_path, ranges, ranges_path))
    return out


# Members of a training job definition that a CreateTrainingJob request has too.
SHARED_MEMBERS = ("RoleArn", "InputDataConfig", "VpcConfig", "OutputDataConfig", "ResourceConfig", "StoppingCondition",
                  "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
                  "CheckpointConfig", "RetryStrategy", "Environment")
ALGORITHM_MEMBERS = ("TrainingImage", "TrainingInputMode", "AlgorithmName", "MetricDefinitions")


def _resources(definition: dict) -> dict | None:
    """ResourceConfig, or HyperParameterTuningResourceConfig as one (its first InstanceConfigs
    entry, when it lists several: a local run has one machine to offer)."""
    if isinstance(definition.get("ResourceConfig"), dict):
        return copy.deepcopy(definition["ResourceConfig"])
    tuning = definition.get("HyperParameterTuningResourceConfig")
    if not isinstance(tuning, dict):
        return None
    configs = tuning.get("InstanceConfigs")
    first = configs[0] if isinstance(configs, list) and configs and isinstance(configs[0], dict) else {}
    resources = {k: copy.deepcopy(tuning[k]) for k in ("InstanceType", "InstanceCount", "VolumeSizeInGB",
                                                       "VolumeKmsKeyId") if k in tuning}
    for key in ("InstanceType", "InstanceCount", "VolumeSizeInGB"):
        if key in first and key not in resources:
            resources[key] = first[key]
    return resources


def trial_spec(definition: dict, name: str, hyperparameters: dict, *, objective: str, settings: dict,
               tuning_job: str = "", tags: Any = None) -> dict:
    """The CreateTrainingJob spec (with `Workbench:`) a trial runs, as SageMaker launches
    it: the definition's members, the static hyperparameters, the proposed ones as
    strings and `_tuning_objective_metric` (the bare metric name), the tuning job's tags."""
    algorithm = definition.get("AlgorithmSpecification")
    spec: dict = {"TrainingJobName": name}
    if isinstance(algorithm, dict):
        spec["AlgorithmSpecification"] = {k: copy.deepcopy(algorithm[k]) for k in ALGORITHM_MEMBERS if k in algorithm}
    else:
        spec["AlgorithmSpecification"] = copy.deepcopy(algorithm)
    static = definition.get("StaticHyperParameters")
    merged = dict(static) if isinstance(static, dict) else {}
    merged.update({k: str(v) for k, v in hyperparameters.items()})
    merged[OBJECTIVE_HYPERPARAMETER] = objective
    spec["HyperParameters"] = merged
    for key in SHARED_MEMBERS:
        if key in definition:
            spec[key] = copy.deepcopy(definition[key])
    resources = _resources(definition)
    if resources is not None:
        spec["ResourceConfig"] = resources
    if tags:
        spec["Tags"] = copy.deepcopy(tags)
    bench = dict(settings)
    if tuning_job:
        bench["TuningJob"] = tuning_job
    if bench:
        spec[WORKBENCH_KEY] = bench
    return spec


def placeholder_values(definition: Definition) -> dict[str, str]:
    """A value of each tuned hyperparameter, to check a trial's spec before any runs."""
    values = {}
    for kind, _, item in definition.range_items():
        name = item.get("Name")
        if not isinstance(name, str):
            continue
        if kind == "CategoricalParameterRanges":
            options = item.get("Values")
            values[name] = str(options[0]) if isinstance(options, list) and options else ""
        else:
            values[name] = str(item.get("MinValue", ""))
    return values


def trial_name(tuning: str, index: int, suffix: str) -> str:
    """`<tuning job>-<3-digit index>-<8 hex>`, as SageMaker names a tuning job's training jobs."""
    return f"{tuning}-{index:03d}-{suffix}"


def generate_tuning_name(image: str, now: float | None = None) -> str:
    """`<image name>-<yymmdd-HHMMSS>`, at most 32 characters (the API's limit for tuning jobs)."""
    stamp = time.strftime("%y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    base = base_name_from_image(image)[: MAX_NAME - len(stamp) - 1].rstrip("-") or "tuning"
    return f"{base}-{stamp}"


# --- resolving ---------------------------------------------------------------------------


def _write_back(definition: dict, resolved: dict) -> None:
    """What `resolve` filled into a trial's spec, put back into its definition."""
    algorithm = resolved.get("AlgorithmSpecification")
    if isinstance(algorithm, dict) and isinstance(definition.get("AlgorithmSpecification"), dict):
        for key in ALGORITHM_MEMBERS:
            if key in algorithm:
                definition["AlgorithmSpecification"][key] = algorithm[key]
    for key in SHARED_MEMBERS:
        if key == "ResourceConfig" and "HyperParameterTuningResourceConfig" in definition:
            continue  # the API refuses both
        if key in resolved:
            definition[key] = resolved[key]
    hyperparameters = dict(resolved.get("HyperParameters") or {})
    hyperparameters.pop(OBJECTIVE_HYPERPARAMETER, None)
    if hyperparameters or "StaticHyperParameters" in definition:
        definition["StaticHyperParameters"] = hyperparameters


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _stringify_ranges(ranges: dict) -> None:
    """YAML numbers in ranges as the strings the API takes (`MinValue: 0.1`, `Values: [1, 2]`),
    as the static hyperparameters are, and as the SDK sends its parameter ranges."""
    for kind in RANGE_KINDS:
        items = ranges.get(kind)
        for entry in items if isinstance(items, list) else []:
            if not isinstance(entry, dict):
                continue
            for key in ("MinValue", "MaxValue"):
                if key in entry:
                    entry[key] = _as_text(entry[key])
            if isinstance(entry.get("Values"), list):
                entry["Values"] = [_as_text(v) for v in entry["Values"]]


def resolve_tuning(data: dict, *, target: str = "local", base_dir: Path | str | None = None,
                   name: str | None = None) -> dict:
    """The spec with what each trial needs filled in (as a training spec is resolved:
    role, output path, instance, local paths made absolute), and a name."""
    spec = copy.deepcopy(data)
    first = value_at(spec, "TrainingJobDefinition", "AlgorithmSpecification", "TrainingImage") or value_at(
        spec, "TrainingJobDefinitions", 0, "AlgorithmSpecification", "TrainingImage")
    if name:
        spec["HyperParameterTuningJobName"] = name
    elif not spec.get("HyperParameterTuningJobName"):
        spec = {"HyperParameterTuningJobName": generate_tuning_name(first if isinstance(first, str) else ""), **spec}
    tuning = spec["HyperParameterTuningJobName"]
    settings = training_settings(spec)
    base = Path(base_dir) if base_dir else None
    for item in definitions(spec):
        _stringify_ranges(item.ranges)
        if not isinstance(item.data.get("AlgorithmSpecification"), dict):
            continue  # validation says why; nothing to fill
        if "StaticHyperParameters" in item.data:
            item.data["StaticHyperParameters"] = _stringify_map(item.data["StaticHyperParameters"])
        placeholder = trial_name(str(tuning)[:MAX_NAME], 1, "0" * 8)
        template = trial_spec(item.data, placeholder, {}, objective=item.metric, settings=settings)
        template.pop("Tags", None)
        resolved = resolve(template, target=target, base_dir=base, name=placeholder)
        _write_back(item.data, resolved)
        if isinstance(resolved.get(WORKBENCH_KEY), dict) and isinstance(spec.get(WORKBENCH_KEY), dict):
            spec[WORKBENCH_KEY].update({k: v for k, v in resolved[WORKBENCH_KEY].items() if k in settings})
    return spec


# --- validating --------------------------------------------------------------------------


def _number(text: Any, integer: bool) -> float | int | None:
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return None
    try:
        value = int(str(text).strip()) if integer else float(str(text).strip())
    except ValueError:
        return None
    return value if integer or math.isfinite(value) else None


class _Checker:
    def __init__(self, data: dict, target: str) -> None:
        self.data = data
        self.target = target
        self.problems: list[Problem] = []

    def add(self, path: Any, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(format_path(list(path)), message, severity))

    # --- the Workbench section ---

    def workbench(self) -> None:
        section = self.data.get(WORKBENCH_KEY)
        if section is None:
            return
        if not isinstance(section, dict):
            self.add([WORKBENCH_KEY], "must be a mapping of local settings")
            return
        known = [name for name in setting_fields() if name != "TuningJob"] + list(TUNING_SETTINGS)
        for key, value in section.items():
            if key in TUNING_SETTINGS:
                spec_field = TUNING_SETTINGS[key]
                low, high = spec_field.metadata["minimum"], spec_field.metadata["maximum"]
                kind = spec_field.metadata["kind"]
                if isinstance(value, bool) or not isinstance(value, int if kind == "int" else (int, float)):
                    self.add([WORKBENCH_KEY, key], f"must be {'a whole number' if kind == 'int' else 'a number'}, "
                                                   f"not {value!r}")
                elif value < low or value > high:
                    self.add([WORKBENCH_KEY, key], f"{value} is out of range; allowed: {low} to {high}")
            elif key == "TuningJob":
                self.add([WORKBENCH_KEY, key], "is set by the tuning job on each trial; remove it")
            elif key not in setting_fields():
                close = suggest(str(key), known)
                hint = f"did you mean {close}? " if close else ""
                self.add([WORKBENCH_KEY, key], f"unknown Workbench setting; {hint}known: {', '.join(known)}")

    # --- the rules the API states in words ---

    def rules(self, items: list[Definition]) -> None:
        data, config = self.data, self.data.get(CONFIG)
        single, several = "TrainingJobDefinition" in data, "TrainingJobDefinitions" in data
        if single and several:
            self.add(["TrainingJobDefinitions"], "give TrainingJobDefinition or TrainingJobDefinitions, not both")
        elif not single and not several:
            self.add(["TrainingJobDefinition"], "is required: the training job each trial runs (image, metric "
                                                "definitions, static hyperparameters, resources...)")
        if data.get("Autotune") is not None and self.target == "local":
            self.add(["Autotune"], "SageMaker chooses the ranges and the strategy itself; that cannot run locally: "
                                   "give the strategy and ranges, or submit it with `sm-workbench submit`")
        if not isinstance(config, dict):
            return
        strategy = config.get("Strategy")
        self._ranges_placement(items, config, several)
        for item in items:
            self._objective(item)
            self._ranges(item, strategy)
            self._resources(item)
        if several and len({i.objective.get("Type") for i in items if i.objective}) > 1:
            self.add(["TrainingJobDefinitions"], "every definition's TuningObjective needs the same Type (Maximize or "
                                                 "Minimize): the best training job is chosen among all of them")
        self._strategy(items, config, strategy)
        self._limits(items, config, strategy)
        criteria = config.get("TuningJobCompletionCriteria")
        if isinstance(criteria, dict) and value_at(criteria, "ConvergenceDetected", "CompleteOnConvergence") == "Enabled" \
                and self.target == "local":
            self.add([CONFIG, "TuningJobCompletionCriteria", "ConvergenceDetected"],
                     "is not emulated: SageMaker's convergence detection is its own; a local run ends on the other "
                     "criteria and the limits", "warning")

    def _ranges_placement(self, items: list[Definition], config: dict, several: bool) -> None:
        shared = config.get("ParameterRanges")
        if several:
            if shared is not None:
                self.add([CONFIG, "ParameterRanges"], "with TrainingJobDefinitions, give each definition its own "
                                                      "HyperParameterRanges instead")
            if config.get("HyperParameterTuningJobObjective") is not None:
                self.add([CONFIG, "HyperParameterTuningJobObjective"], "with TrainingJobDefinitions, give each "
                                                                       "definition its own TuningObjective instead")
            for item in items:
                for member in ("TuningObjective", "HyperParameterRanges"):
                    if item.data.get(member) is None:
                        self.add([*item.path, member], "is required in each of TrainingJobDefinitions")
            return
        for item in items:
            if item.data.get("HyperParameterRanges") is not None and shared is not None:
                self.add([*item.path, "HyperParameterRanges"], f"the ranges are also in {CONFIG}.ParameterRanges; "
                                                               "give them in one place")
            if item.data.get("TuningObjective") is None and config.get("HyperParameterTuningJobObjective") is None:
                self.add([CONFIG, "HyperParameterTuningJobObjective"],
                         "is required: the metric to optimise, e.g. {Type: Maximize, MetricName: validation:accuracy}")

    def _objective(self, item: Definition) -> None:
        metric = item.metric
        algorithm = item.data.get("AlgorithmSpecification")
        if not metric or not isinstance(algorithm, dict) or algorithm.get("AlgorithmName"):
            return  # missing: the walk says so; a built-in algorithm defines its own metrics
        defined = [d.get("Name") for d in algorithm.get("MetricDefinitions") or [] if isinstance(d, dict)]
        if metric not in defined:
            where = f"; defined: {', '.join(map(str, defined))}" if defined else ""
            self.add([*item.objective_path, "MetricName"],
                     f"{metric!r}: a metric is required for this hyperparameter tuning job objective. Provide a metric "
                     f"in the metric definitions ({format_path([*item.path, 'AlgorithmSpecification', 'MetricDefinitions'])}"
                     f"{where})")

    def _ranges(self, item: Definition, strategy: Any) -> None:
        path = item.ranges_path
        if item.ranges.get("AutoParameters") and self.target == "local":
            self.add([*path, "AutoParameters"], "SageMaker infers these ranges itself (Autotune); give Integer, "
                                                "Continuous or Categorical ranges to run locally")
        seen: dict[str, str] = {}
        static = item.static
        total = 0
        for kind, index, entry in item.range_items():
            total += 1
            where = [*path, kind, index]
            name = entry.get("Name")
            if isinstance(name, str):
                if name in seen:
                    self.add([*where, "Name"], f"{name!r} is tuned twice (also in {seen[name]}); tune it in one range")
                seen.setdefault(name, format_path([*path, kind, index]))
                if name in static:
                    self.add([*where, "Name"], f"{name!r} is also a static hyperparameter; remove it from "
                                               "StaticHyperParameters or from the ranges")
                if name.startswith("_tuning"):
                    self.add([*where, "Name"], f"{name!r}: names starting with _tuning are SageMaker's own")
            if kind == "CategoricalParameterRanges":
                values = entry.get("Values")
                if isinstance(values, list):
                    repeated = sorted({str(v) for v in values if values.count(v) > 1})
                    if repeated:
                        self.add([*where, "Values"], f"{repeated[0]!r} is listed twice; list each value once")
                continue
            if strategy == "Grid":
                self.add(where, "the Grid strategy takes categorical ranges only; make it a CategoricalParameterRange "
                                "or choose Random, Bayesian or Hyperband")
            self._numeric_range(entry, where, integer=kind == "IntegerParameterRanges")
        if total > MAX_RANGES:
            self.add(path, f"{total} hyperparameters are tuned; at most {MAX_RANGES} (over the three kinds of ranges)")
        count = len(set(static) | set(seen)) + 1
        if count > MAX_HYPERPARAMETERS:
            self.add([*item.path, "StaticHyperParameters"],
                     f"{count} hyperparameters with the tuned ones and {OBJECTIVE_HYPERPARAMETER}; a training job takes "
                     f"at most {MAX_HYPERPARAMETERS}")

    def _numeric_range(self, entry: dict, where: list, integer: bool) -> None:
        low, high = (_number(entry.get(key), integer) for key in ("MinValue", "MaxValue"))
        what = "a whole number" if integer else "a number"
        for key, value in (("MinValue", low), ("MaxValue", high)):
            if entry.get(key) is not None and value is None:
                self.add([*where, key], f"{entry.get(key)!r} is not {what} (the API takes it as a string, e.g. \"0.1\")")
        scaling = entry.get("ScalingType", "Auto")
        if scaling == "ReverseLogarithmic" and integer:
            self.add([*where, "ScalingType"], "ReverseLogarithmic is for continuous ranges only; use Linear or "
                                              "Logarithmic for an integer range")
        if low is None or high is None:
            return
        if low > high:
            self.add([*where, "MinValue"], f"{entry['MinValue']} is more than MaxValue ({entry['MaxValue']})")
        if scaling == "Logarithmic" and low <= 0:
            self.add([*where, "MinValue"], "Logarithmic scaling works only for values greater than 0; raise MinValue "
                                           "or use Linear")
        if scaling == "ReverseLogarithmic" and not integer and not (0 <= low and high < 1):
            self.add([*where, "MinValue" if low < 0 else "MaxValue"],
                     "ReverseLogarithmic scaling works only within 0 <= x < 1; use it for values close to 1 "
                     "(momentum), or Linear")

    def _resources(self, item: Definition) -> None:
        if item.data.get("ResourceConfig") is not None and item.data.get("HyperParameterTuningResourceConfig") is not None:
            self.add([*item.path, "HyperParameterTuningResourceConfig"], "cannot be combined with ResourceConfig; keep "
                                                                         "one of them")
        configs = value_at(item.data, "HyperParameterTuningResourceConfig", "InstanceConfigs")
        if isinstance(configs, list) and len(configs) > 1 and self.target == "local":
            self.add([*item.path, "HyperParameterTuningResourceConfig", "InstanceConfigs"],
                     "a local run uses the first instance configuration for every trial (SageMaker may use the "
                     "others when it lacks capacity)", "warning")

    def _strategy(self, items: list[Definition], config: dict, strategy: Any) -> None:
        hyperband = config.get("StrategyConfig")
        early = config.get("TrainingJobEarlyStoppingType", "Off")
        if hyperband is not None and strategy != "Hyperband":
            self.add([CONFIG, "StrategyConfig"], "is only for the Hyperband strategy; remove it or choose Hyperband")
        if strategy != "Hyperband":
            return
        if early == "Auto":
            self.add([CONFIG, "TrainingJobEarlyStoppingType"], "must be Off with Hyperband, which stops training jobs "
                                                               "early by its own rule")
        band = value_at(config, "StrategyConfig", "HyperbandStrategyConfig") or {}
        low, high = band.get("MinResource"), band.get("MaxResource")
        where = [CONFIG, "StrategyConfig", "HyperbandStrategyConfig"]
        if high is None:
            for item in items:
                if inferred_max_resource(item.static) is None:
                    self.add([*where, "MaxResource"], "is required: Hyperband found none of "
                                                      f"{', '.join(EPOCH_KEYS)} in "
                                                      f"{format_path([*item.path, 'StaticHyperParameters'])} to "
                                                      "infer it from")
        elif isinstance(high, int) and high > MAX_HYPERBAND_RESOURCE:
            self.add([*where, "MaxResource"], f"{high} is more than {MAX_HYPERBAND_RESOURCE:,}, the most Hyperband "
                                              "takes")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.add([*where, "MinResource"], f"{low} is more than MaxResource ({high})")

    def _limits(self, items: list[Definition], config: dict, strategy: Any) -> None:
        limits = config.get("ResourceLimits")
        if not isinstance(limits, dict):
            return
        most, parallel = limits.get("MaxNumberOfTrainingJobs"), limits.get("MaxParallelTrainingJobs")
        path = [CONFIG, "ResourceLimits"]
        if strategy == "Grid":
            for item in items:
                size = grid_size(item)
                if size > MAX_GRID:
                    self.add(item.ranges_path, f"the grid has {size:,} combinations; Grid runs at most {MAX_GRID}")
                elif isinstance(most, int) and most != size and len(items) == 1:
                    self.add([*path, "MaxNumberOfTrainingJobs"],
                             f"must equal the number of combinations of the categorical values ({size}) with Grid, "
                             "or be left out")
        elif most is None and self.target == "local":
            self.add([*path, "MaxNumberOfTrainingJobs"], f"is required with {strategy or 'this strategy'}: how many "
                                                         "training jobs the tuning job runs at most")
        total = most if isinstance(most, int) else (
            sum(grid_size(item) for item in items) if strategy == "Grid" else None)
        if isinstance(parallel, int) and isinstance(total, int) and parallel > total:
            self.add([*path, "MaxParallelTrainingJobs"], f"{parallel} is more than the {total} training jobs the tuning "
                                                         "job runs (MaxNumberOfTrainingJobs); lower it")
        local = TuningSettings.from_spec(self.data)
        if self.target == "local" and isinstance(parallel, int) and isinstance(local.MaxLocalParallelTrainingJobs, int) \
                and parallel > local.local_parallelism:
            self.add([*path, "MaxParallelTrainingJobs"],
                     f"this machine runs at most {local.local_parallelism} trials at once "
                     "(Workbench.MaxLocalParallelTrainingJobs; SageMaker gives each its own instances)", "warning")


def inferred_max_resource(static: dict) -> int | None:
    """Hyperband's MaxResource from the static hyperparameters, as SageMaker infers it."""
    for key in EPOCH_KEYS:
        value = _number(static.get(key), True)
        if isinstance(value, int) and value >= 1:
            return value
    return None


def grid_size(item: Definition) -> int:
    size = 1
    for kind, _, entry in item.range_items():
        if kind == "CategoricalParameterRanges" and isinstance(entry.get("Values"), list):
            size *= max(len(entry["Values"]), 1)
    return size


def _map_trial_path(path: str, item: Definition, tuned: set[str]) -> list | None:
    """Where a problem of the trial's spec is in the tuning spec (None: not the user's)."""
    try:
        parts = parse_path(path) if path else []
    except Exception:
        return list(item.path)
    if not parts:
        return list(item.path)
    head = parts[0]
    if head == "TrainingJobName" or parts == ["HyperParameters"]:
        return None
    if head == WORKBENCH_KEY and len(parts) > 1 and parts[1] not in setting_fields():
        return None  # an unknown setting: `_Checker.workbench` says so once, with the tuning's own settings
    if head == WORKBENCH_KEY or head == "Tags":
        return parts
    if head == "HyperParameters":
        key = parts[1] if len(parts) > 1 else None
        if key == OBJECTIVE_HYPERPARAMETER:
            return [*item.objective_path, "MetricName"]
        if key in tuned:
            return list(item.ranges_path)
        return [*item.path, "StaticHyperParameters", *parts[1:]]
    if head == "ResourceConfig" and "HyperParameterTuningResourceConfig" in item.data:
        return [*item.path, "HyperParameterTuningResourceConfig", *parts[1:]]
    return [*item.path, *parts]


def _trial_problems(data: dict, items: list[Definition], target: str, base_dir: Path | None) -> list[Problem]:
    """Each definition made into the training spec its trials run, validated as one."""
    out = []
    name = data.get("HyperParameterTuningJobName")
    placeholder = trial_name(name[:MAX_NAME] if isinstance(name, str) and name else "tuning", 1, "0" * 8)
    settings = training_settings(data)
    for item in items:
        if not isinstance(item.data.get("AlgorithmSpecification"), dict):
            continue
        spec = trial_spec(item.data, placeholder, placeholder_values(item), objective=item.metric or "objective",
                          settings=settings, tags=data.get("Tags"))
        tuned = set(item.tuned_names())
        for problem in validate(spec, target=target, base_dir=base_dir):
            where = _map_trial_path(problem.path, item, tuned)
            if where is not None:
                out.append(Problem(format_path(where), problem.message, problem.severity, problem.not_emulated))
    return out


def validate_tuning(data: dict, *, target: str = "local", base_dir: Path | str | None = None) -> list[Problem]:
    """All problems of a resolved tuning spec for `target` ("local" or "sagemaker")."""
    base = Path(base_dir) if base_dir else None
    problems = validate_request(data, TUNING_OPERATION, target=target, base_dir=base)
    checker = _Checker(data, target)
    checker.workbench()
    items = definitions(data)
    checker.rules(items)
    problems += checker.problems
    problems += _trial_problems(data, items, target, base)
    unique: dict[tuple, Problem] = {}
    for problem in problems:
        unique.setdefault((problem.path, problem.message, problem.severity), problem)
    return list(unique.values())


# --- the spec ----------------------------------------------------------------------------


@dataclass
class TuningSpec:
    """A resolved, valid CreateHyperParameterTuningJob request (`Workbench:` included)."""

    data: dict
    source: Path | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data["HyperParameterTuningJobName"]

    @property
    def config(self) -> dict:
        return self.data[CONFIG]

    @property
    def strategy(self) -> str:
        return self.config.get("Strategy", "Bayesian")

    @property
    def settings(self) -> TuningSettings:
        return TuningSettings.from_spec(self.data)

    @property
    def training_settings(self) -> dict:
        return training_settings(self.data)

    @property
    def definitions(self) -> list[Definition]:
        return definitions(self.data)

    @property
    def image(self) -> str:
        return str(value_at(self.definitions[0].data, "AlgorithmSpecification", "TrainingImage") or "")

    @property
    def request(self) -> dict:
        """The CreateHyperParameterTuningJob request: the spec without `Workbench:`."""
        return {k: copy.deepcopy(v) for k, v in self.data.items() if k != WORKBENCH_KEY}


def check_tuning_spec(data: dict, *, source: str = "tuning spec", base_dir: Path | str | None = None,
                      target: str = "local", name: str | None = None,
                      overrides: list[str] | tuple[str, ...] = ()) -> TuningSpec:
    """Override, resolve and validate a tuning spec; raises SpecInvalid with every problem."""
    base = Path(base_dir).resolve() if base_dir else None
    document = apply_overrides(copy.deepcopy(data), overrides, TUNING_OPERATION, tuning_setting_kinds())
    resolved = resolve_tuning(document, target=target, base_dir=base, name=name)
    problems = validate_tuning(resolved, target=target, base_dir=base)
    if errors(problems):
        raise SpecInvalid(problems, source)
    return TuningSpec(resolved, Path(source) if source else None, [p for p in problems if p.severity != "error"])


def load_tuning_spec(path: Path | str, *, target: str = "local", name: str | None = None,
                     overrides: list[str] | tuple[str, ...] = ()) -> TuningSpec:
    path = Path(path)
    return check_tuning_spec(read_spec_file(path), source=str(path), base_dir=path.resolve().parent, target=target,
                             name=name, overrides=overrides)


__all__ = ["TUNING_OPERATION", "TuningSpec", "TuningSettings", "Definition", "check_tuning_spec", "load_tuning_spec",
           "is_tuning_spec", "trial_spec", "trial_name", "definitions", "validate_tuning", "resolve_tuning",
           "default_local_parallelism", "inferred_max_resource", "grid_size"]
