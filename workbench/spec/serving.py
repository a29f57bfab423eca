"""Serving specs: a CreateModel request (what an endpoint or a transform job serves) and a
CreateTransformJob request, in YAML, each with a local-only `Workbench:` section.

Both are validated by the same generic walk of botocore's model as training specs
(`validate.validate_request`, one model per operation), then by the few cross-field rules
the API states in words. A document is recognised by its keys (`spec_operation`), so
`validate`, `lint` and the commands that take a spec accept any of the three kinds.

A local run also accepts local paths where the API wants an s3:// URI (ModelDataUrl,
TransformInput's S3Uri, S3OutputPath), relative to the spec file's folder.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from workbench.errors import SpecInvalid
from workbench.paths import default_output_dir
from workbench.spec.document import read_spec_file
from workbench.spec.overrides import apply_overrides
from workbench.spec.paths import value_at
from workbench.spec.resolve import DEFAULT_INSTANCE_TYPE, _stringify_map, generate_job_name
from workbench.spec.settings import WORKBENCH_KEY
from workbench.spec.validate import Problem, errors, validate_request
from workbench.storage.uri import is_local, local_path

TRAINING_OPERATION = "CreateTrainingJob"
TUNING_OPERATION = "CreateHyperParameterTuningJob"
TUNING_KEYS = ("HyperParameterTuningJobName", "HyperParameterTuningJobConfig", "TrainingJobDefinition",
               "TrainingJobDefinitions", "WarmStartConfig", "Autotune")
MODEL_OPERATION = "CreateModel"
TRANSFORM_OPERATION = "CreateTransformJob"

# SageMaker hosting's own numbers (docs/serving.md gives their sources).
STARTUP_HEALTH_CHECK_SECONDS = 240  # "during the 4 minutes after startup"
HOSTING_STOP_GRACE = 30  # SIGTERM, then SIGKILL 30 s later
TRANSFORM_STOP_GRACE = 30
DATA_PROCESSING_TYPES = ("text/csv", "application/json", "application/jsonlines")


def spec_operation(data: Any) -> str:
    """The API operation a spec document is a request of, by its keys."""
    if not isinstance(data, dict):
        return TRAINING_OPERATION
    if any(key in data for key in TUNING_KEYS):  # --- tuning: spec/tuning.py ---
        return TUNING_OPERATION
    if any(key in data for key in ("TransformInput", "TransformOutput", "TransformJobName", "TransformResources")):
        return TRANSFORM_OPERATION
    if any(key in data for key in ("PrimaryContainer", "Containers", "ExecutionRoleArn")) or (
            "ModelName" in data and "AlgorithmSpecification" not in data):
        return MODEL_OPERATION
    return TRAINING_OPERATION


def _setting(default: Any, help: str, minimum: int | None = None, maximum: int | None = None, kind: str = "") -> Any:
    return field(default=default, metadata={"help": help, "minimum": minimum, "maximum": maximum, "kind": kind})


@dataclass
class ServingSettings:
    """`Workbench:` of a serving spec: what only a local endpoint or transform job needs."""

    Port: int = _setting(0, "the port of this machine (127.0.0.1) that reaches the container's 8080; 0: a free one",
                         0, 65535)
    StartupTimeoutSeconds: int = _setting(
        STARTUP_HEALTH_CHECK_SECONDS, "how long the container has to answer GET /ping with 200 after it starts "
        "(SageMaker: 4 minutes, or ContainerStartupHealthCheckTimeoutInSeconds, 60-3600)", 1, 3600)
    StopGracePeriodSeconds: int = _setting(HOSTING_STOP_GRACE, "seconds between SIGTERM and SIGKILL when it is "
                                           "stopped (SageMaker hosting: 30)", 0, 3600)
    Model: str = _setting("", "transform jobs: where the model comes from: a CreateModel spec file, a training "
                          "job's name, a model.tar.gz or a model folder (default: the job named ModelName)", kind="str")
    Image: str = _setting("", "the inference image, instead of the model's (for a model given as a job, a "
                          "model.tar.gz or a folder: instead of the training image)", kind="str")

    @classmethod
    def from_spec(cls, data: dict | None) -> "ServingSettings":
        section = (data or {}).get(WORKBENCH_KEY) or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in section.items() if k in known}) if isinstance(section, dict) else cls()

    def to_dict(self) -> dict:
        return asdict(self)


def serving_setting_kinds() -> dict[str, str]:
    """Setting name to the kind `--set Workbench.NAME=...` converts its value to."""
    return {f.name: f.metadata.get("kind") or "int" for f in fields(ServingSettings)}


def _check_settings(data: dict, add) -> None:
    section = data.get(WORKBENCH_KEY)
    if section is None:
        return
    if not isinstance(section, dict):
        add([WORKBENCH_KEY], "must be a mapping of local settings")
        return
    known = {f.name: f for f in fields(ServingSettings)}
    for key, value in section.items():
        spec_field = known.get(key)
        if spec_field is None:
            add([WORKBENCH_KEY, key], f"unknown Workbench setting for a serving spec; known: {', '.join(known)}")
            continue
        if spec_field.metadata.get("kind") == "str":
            if not isinstance(value, str):
                add([WORKBENCH_KEY, key], f"must be a string, not {value!r}")
            continue
        low, high = spec_field.metadata.get("minimum"), spec_field.metadata.get("maximum")
        if isinstance(value, bool) or not isinstance(value, int):
            add([WORKBENCH_KEY, key], f"must be a whole number, not {value!r}")
        elif low is not None and value < low or high is not None and value > high:
            add([WORKBENCH_KEY, key], f"{value} is out of range; allowed: {low} to {high}")


def _problems(data: dict, operation: str, target: str, base_dir: Path | None) -> list[Problem]:
    problems = validate_request(data, operation, target=target, base_dir=base_dir)

    def add(path: list, message: str, severity: str = "error") -> None:
        from workbench.spec.paths import format_path  # light: the path formatter

        problems.append(Problem(format_path(path), message, severity))

    _check_settings(data, add)
    if operation == MODEL_OPERATION:
        _model_rules(data, target, base_dir, add)
    else:
        _transform_rules(data, target, base_dir, add)
    return problems


def _model_rules(data: dict, target: str, base_dir: Path | None, add) -> None:
    container = data.get("PrimaryContainer")
    if data.get("Containers"):
        add(["Containers"], "inference pipelines and multi-container models are not run locally; give one "
                            "PrimaryContainer")
    if not isinstance(container, dict):
        if not data.get("Containers"):
            add(["PrimaryContainer"], "is required: give the inference Image and the ModelDataUrl (model.tar.gz)")
        return
    if not container.get("Image"):
        add(["PrimaryContainer", "Image"], "is required: the Docker image that serves the model (`serve` on port 8080)")
    url = container.get("ModelDataUrl")
    if isinstance(url, str) and url and is_local(url) and target == "local":
        path = local_path(url, base_dir)
        if not path.exists():
            add(["PrimaryContainer", "ModelDataUrl"], f"{url!r}: {path} does not exist; give the model.tar.gz a "
                                                      "training job wrote, or a model folder")
    if container.get("ModelDataSource") or container.get("AdditionalModelDataSources"):
        add(["PrimaryContainer", "ModelDataSource"], "is not run locally; give ModelDataUrl (a model.tar.gz or a "
                                                     "folder) instead")
    if container.get("Mode") == "MultiModel" or container.get("MultiModelConfig"):
        add(["PrimaryContainer", "Mode"], "multi-model endpoints are not run locally; use SingleModel")



def _transform_rules(data: dict, target: str, base_dir: Path | None, add) -> None:
    source = value_at(data, "TransformInput", "DataSource", "S3DataSource")
    data_type = value_at(source, "S3DataType")
    if data_type in ("AugmentedManifestFile", "Converse"):
        add(["TransformInput", "DataSource", "S3DataSource", "S3DataType"],
            f"{data_type} is not allowed for batch transform; use S3Prefix or ManifestFile")
    uri = value_at(source, "S3Uri")
    if isinstance(uri, str) and uri and is_local(uri) and target == "local":
        path = local_path(uri, base_dir)
        if not path.exists():
            add(["TransformInput", "DataSource", "S3DataSource", "S3Uri"], f"{uri!r}: {path} does not exist; "
                                                                           "create it or fix the path")
    payload, concurrency = data.get("MaxPayloadInMB"), data.get("MaxConcurrentTransforms")
    if isinstance(payload, int) and not isinstance(payload, bool):
        if payload > 100:
            add(["MaxPayloadInMB"], f"{payload} is more than 100, the most a transform job takes")
        elif payload == 0:
            add(["MaxPayloadInMB"], "0 asks for HTTP chunked streaming, which is not run locally; give 1 to 100")
        if isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency and payload and \
                concurrency * payload > 100:
            add(["MaxConcurrentTransforms"], f"MaxConcurrentTransforms × MaxPayloadInMB is {concurrency * payload} "
                                             "MB; the API allows at most 100")
    split = value_at(data, "TransformInput", "SplitType") or "None"
    if data.get("BatchStrategy") and split == "None":
        add(["BatchStrategy"], "needs TransformInput.SplitType Line, RecordIO or TFRecord: without splitting "
                               "each object is sent whole", "warning")
    processing = data.get("DataProcessing")
    if isinstance(processing, dict) and any(processing.get(k) not in (None, "$", "None") for k in
                                            ("InputFilter", "OutputFilter", "JoinSource")):
        content = value_at(data, "TransformInput", "ContentType")
        accept = value_at(data, "TransformOutput", "Accept")
        for path, value in ((["TransformInput", "ContentType"], content), (["TransformOutput", "Accept"], accept)):
            if value not in DATA_PROCESSING_TYPES:
                add(path, f"DataProcessing needs {' or '.join(DATA_PROCESSING_TYPES)} here, not {value!r}")
        assemble = value_at(data, "TransformOutput", "AssembleWith")
        if "text/csv" in (content, accept) and (split != "Line" or assemble != "Line"):
            add(["TransformInput", "SplitType"], "DataProcessing with text/csv needs SplitType: Line and "
                                                 "TransformOutput.AssembleWith: Line")
    count = value_at(data, "TransformResources", "InstanceCount")
    if isinstance(count, int) and not isinstance(count, bool) and count > 1:
        add(["TransformResources", "InstanceCount"], f"{count} instances run as one container here (every object "
                                                     "goes to it)", "warning")


def _absolute(holder: Any, key: str, base_dir: Path | None) -> None:
    value = holder.get(key) if isinstance(holder, dict) else None
    if isinstance(value, str) and value and is_local(value):
        path = local_path(value, base_dir)
        holder[key] = path.as_uri() + ("/" if value.endswith("/") and path != Path("/") else "")


@dataclass
class ModelSpec:
    """A valid CreateModel request (its `Workbench:` section included)."""

    data: dict
    source: Path | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data["ModelName"]

    @property
    def container(self) -> dict:
        return self.data.get("PrimaryContainer") or {}

    @property
    def image(self) -> str:
        return ServingSettings.from_spec(self.data).Image or self.container.get("Image", "")

    @property
    def model_data(self) -> str:
        return self.container.get("ModelDataUrl") or ""

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.container.get("Environment") or {})

    @property
    def settings(self) -> ServingSettings:
        return ServingSettings.from_spec(self.data)

    @property
    def request(self) -> dict:
        return {k: copy.deepcopy(v) for k, v in self.data.items() if k != WORKBENCH_KEY}


@dataclass
class TransformSpec:
    """A valid CreateTransformJob request (its `Workbench:` section included)."""

    data: dict
    source: Path | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data["TransformJobName"]

    @property
    def settings(self) -> ServingSettings:
        return ServingSettings.from_spec(self.data)

    @property
    def request(self) -> dict:
        return {k: copy.deepcopy(v) for k, v in self.data.items() if k != WORKBENCH_KEY}


def check_model_spec(data: dict, *, source: str = "model spec", base_dir: Path | str | None = None,
                     target: str = "local", name: str | None = None,
                     overrides: list[str] | tuple[str, ...] = ()) -> ModelSpec:
    """Override, resolve and validate a CreateModel document; SpecInvalid with every problem."""
    base = Path(base_dir).resolve() if base_dir else None
    document = apply_overrides(copy.deepcopy(data), overrides, MODEL_OPERATION, serving_setting_kinds())
    if name:
        document["ModelName"] = name
    container = document.get("PrimaryContainer")
    if not document.get("ModelName"):
        image = container.get("Image") if isinstance(container, dict) else ""
        document = {"ModelName": generate_job_name(image if isinstance(image, str) else "model"), **document}
    if isinstance(container, dict):
        if "Environment" in container:
            container["Environment"] = _stringify_map(container["Environment"])
        url = container.get("ModelDataUrl")
        missing = isinstance(url, str) and is_local(url) and not local_path(url, base).exists()
        if target == "local" and not missing:  # a missing one is reported as written
            _absolute(container, "ModelDataUrl", base)
    problems = _problems(document, MODEL_OPERATION, target, base)
    if errors(problems):
        raise SpecInvalid(problems, source)
    return ModelSpec(document, Path(source) if source else None, [p for p in problems if p.severity != "error"])


def check_transform_spec(data: dict, *, source: str = "transform spec", base_dir: Path | str | None = None,
                         target: str = "local", name: str | None = None,
                         overrides: list[str] | tuple[str, ...] = ()) -> TransformSpec:
    """Override, resolve (name, TransformResources, output path) and validate a
    CreateTransformJob document; SpecInvalid with every problem."""
    base = Path(base_dir).resolve() if base_dir else None
    document = apply_overrides(copy.deepcopy(data), overrides, TRANSFORM_OPERATION, serving_setting_kinds())
    if name:
        document["TransformJobName"] = name
    elif not document.get("TransformJobName"):
        model = document.get("ModelName") if isinstance(document.get("ModelName"), str) else ""
        document = {"TransformJobName": generate_job_name(model or "transform"), **document}
    if "Environment" in document:
        document["Environment"] = _stringify_map(document["Environment"])
    resources = document.setdefault("TransformResources", {})
    if isinstance(resources, dict):
        resources.setdefault("InstanceType", DEFAULT_INSTANCE_TYPE)
        resources.setdefault("InstanceCount", 1)
    if target == "local":
        output = document.get("TransformOutput")
        if output is None:
            output = document["TransformOutput"] = {}
        if isinstance(output, dict) and not output.get("S3OutputPath"):
            output["S3OutputPath"] = (default_output_dir() / document["TransformJobName"]).as_uri()
        source_section = value_at(document, "TransformInput", "DataSource", "S3DataSource")
        uri = value_at(source_section, "S3Uri")
        if not (isinstance(uri, str) and is_local(uri) and not local_path(uri, base).exists()):
            _absolute(source_section, "S3Uri", base)
        _absolute(output, "S3OutputPath", base)
    problems = _problems(document, TRANSFORM_OPERATION, target, base)
    if errors(problems):
        raise SpecInvalid(problems, source)
    return TransformSpec(document, Path(source) if source else None, [p for p in problems if p.severity != "error"])


def load_serving_spec(path: Path | str, *, target: str = "local", name: str | None = None,
                      overrides: list[str] | tuple[str, ...] = ()) -> ModelSpec | TransformSpec:
    """A CreateModel or CreateTransformJob spec file, checked (which one: by its keys)."""
    path = Path(path)
    data = read_spec_file(path)
    check = check_transform_spec if spec_operation(data) == TRANSFORM_OPERATION else check_model_spec
    return check(data, source=str(path), base_dir=path.resolve().parent, target=target, name=name,
                 overrides=overrides)
