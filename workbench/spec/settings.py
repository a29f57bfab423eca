"""The `Workbench:` section of a spec: local-only settings, never sent to the cloud."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

WORKBENCH_KEY = "Workbench"
MAX_SECONDS = 28 * 24 * 3600  # SageMaker's longest training job: no wait or timer needs more
MAX_HOSTS = 1000  # one Docker bridge network holds at most 1023 containers


def _setting(default: Any, help: str, *, minimum: float | None = None, maximum: float | None = None,
             kind: str | None = None, internal: bool = False) -> Any:
    meta = {"help": help, "minimum": minimum, "maximum": maximum, "kind": kind, "internal": internal}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class WorkbenchSettings:
    """Typed view of `Workbench:`; the field metadata drives validation, --set and the TUI."""

    StopGracePeriodSeconds: int = _setting(
        120, "seconds between SIGTERM and SIGKILL when a job is stopped (SageMaker: 120)", minimum=0,
        maximum=MAX_SECONDS,
    )
    Region: str = _setting("us-east-1", "AWS region used in the job ARN")
    AccountId: str = _setting("000000000000", "AWS account id used in the job ARN and the placeholder role")
    ForwardAwsCredentials: bool = _setting(
        False, "pass this machine's AWS credentials, region and endpoint into the containers (SageMaker uses the job's role instead)"
    )
    SpotInterruptions: list = _setting(
        [], "simulated spot interruptions: seconds after training starts, one per attempt, e.g. [30, 45]",
        minimum=0, maximum=MAX_SECONDS, kind="numbers",
    )
    CheckpointDrainTimeoutSeconds: int = _setting(
        300, "seconds to wait, after the containers exit, for checkpoint files to reach CheckpointConfig.S3Uri "
        "(S3 unreachable: what is left stays in the job's folder)", minimum=0, maximum=MAX_SECONDS,
    )
    FileSystems: dict = _setting(
        {}, "local folders standing in for FileSystemDataSource ids: {fs-0123abcd: /data/efs}", kind="str_map"
    )
    Gpus: str | list = _setting(
        "auto", "which of this machine's GPUs the hosts get: auto (each host of a GPU instance type gets as many "
        "as its type has, in order), all (every GPU host sees every GPU; hosts share), none (run on the CPU), "
        "or GPU indexes to split among the hosts in that order, e.g. [2, 3]", kind="gpus"
    )
    EmulateInstanceResources: bool = _setting(
        False, "cap each container's CPUs and memory to its instance type's (at most what this machine has)"
    )
    MaxHosts: int = _setting(
        64, "the most hosts a local run may have: each host is a container on this machine (plus a 16 MB "
        f"holder when there are several); raise it if this machine can hold more (at most {MAX_HOSTS})",
        minimum=1, maximum=MAX_HOSTS,
    )
    # --- inner loop: build, script mode, pause ---
    Build: dict = _setting(
        {}, "build TrainingImage from a Dockerfile before each run (the engine's layer cache makes an unchanged "
        "image free): {Context: ., Dockerfile: Dockerfile, BuildArgs: {NAME: value}, Target: stage}; paths are "
        "relative to the spec file", kind="build"
    )
    SourceDir: str = _setting(
        "", "script mode, as the SageMaker SDK's source_dir: a local folder with your training code, put at "
        "/opt/ml/code (submit packs it as sourcedir.tar.gz); relative to the spec file"
    )
    EntryPoint: str = _setting(
        "", "script mode, as the SDK's entry_point: the script in SourceDir the framework image's training "
        "toolkit runs (the sagemaker_program hyperparameter), e.g. train.py"
    )
    Dependencies: list = _setting(
        [], "script mode, as the SDK's dependencies: more local folders put beside SourceDir's files in "
        "/opt/ml/code, each under its own name, e.g. [../common]", kind="paths"
    )
    PauseBeforeTrain: bool = _setting(
        False, "start each host with everything staged but hold its training command until "
        "`sm-workbench release JOB` (or g in the workbench's job monitor), to look inside or attach a debugger first"
    )
    # --- tuning ---
    TuningJob: str = _setting(
        "", "set by sm-workbench on the training jobs a tuning job launches: the tuning job's name (their record's "
        "TuningJobArn); not for specs", internal=True
    )

    @classmethod
    def from_spec(cls, data: dict | None) -> "WorkbenchSettings":
        section = (data or {}).get(WORKBENCH_KEY) or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in section.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


def setting_fields() -> dict[str, Any]:
    return {f.name: f for f in fields(WorkbenchSettings)}


def setting_default(name: str) -> Any:
    f = setting_fields()[name]
    if f.default is not MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def setting_kind(name: str) -> str:
    """One of int, float, bool, str, list, dict, or a custom kind named in the metadata."""
    f = setting_fields()[name]
    if f.metadata.get("kind"):
        return f.metadata["kind"]
    annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return annotation.split("[")[0].split("|")[0].strip()
