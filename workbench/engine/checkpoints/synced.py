"""Which folders of a job are synced to S3 while it trains: one mechanism, four instances.

SageMaker uploads four kinds of folder during training, not at its end: the checkpoint
folder (restored at start, kept in step both ways), TensorBoard output, the debugger's
tensors and the profiler's output. Each is a local path in the container mapped to an S3
prefix; every host's copy lives in `<job>/hosts/<host>/<sync>` and is mounted there, so
a container can empty it but never swap it for a link.

Where the last three land is the SageMaker Python SDK's own reading of the platform
(`Estimator.latest_job_tensorboard_artifacts_path` and its debugger and profiler
siblings): `<S3OutputPath>/<job>/tensorboard-output`, `.../debug-output`,
`.../profiler-output`. Checkpoints go to `CheckpointConfig.S3Uri` itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from workbench.errors import WorkbenchError

DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
DEFAULT_TENSORBOARD_PATH = "/opt/ml/output/tensorboard"
DEFAULT_TENSORS_PATH = "/opt/ml/output/tensors"
DEFAULT_PROFILER_PATH = "/opt/ml/output/profiler"
# How viewers title each folder; the record keeps the others' status under Workbench.Synced.<label>.
LABELS = {"checkpoints": "Checkpoints", "tensorboard": "TensorBoard", "debugger": "Debugger", "profiler": "Profiler"}


@dataclass(frozen=True)
class SyncedFolder:
    sync: str  # its name in events and on disk: checkpoints, tensorboard, debugger, profiler
    member: str  # the request member that asks for it
    local_path: str  # in the container
    uri: str  # where its files go (S3, or a local folder for local runs)
    restore: bool = False  # copied in from `uri` before the containers start (checkpoints)

    @property
    def label(self) -> str:
        return LABELS[self.sync]

    @property
    def prefix(self) -> str:
        """Every notice about this folder starts so."""
        return notice_prefix(self.sync)

    @property
    def ledger(self) -> str:
        """Its ledger's file name, beside the host's folder."""
        return "checkpoint-ledger.json" if self.sync == "checkpoints" else f"{self.sync}-ledger.json"


def notice_prefix(sync: str) -> str:
    return f"{LABELS.get(sync, sync)}: "


def local_path(path: str | None, default: str) -> str:
    return (path or default).rstrip("/") or "/"


def checkpoint_local_path(spec: dict) -> str | None:
    config = spec.get("CheckpointConfig")
    if not config:
        return None
    return local_path(config.get("LocalPath"), DEFAULT_CHECKPOINT_PATH)


def _under(base: str, job: str, leaf: str) -> str:
    return f"{base.rstrip('/')}/{job}/{leaf}"


def profiler_local_path(config: dict) -> str:
    """Where smdebug writes the profiler's files: ProfilingParameters.LocalPath, as it reads it."""
    return local_path((config.get("ProfilingParameters") or {}).get("LocalPath"), DEFAULT_PROFILER_PATH)


def synced_folders(spec: dict) -> list[SyncedFolder]:
    """The folders this job syncs, checkpoints first."""
    job = spec.get("TrainingJobName", "")
    found = []
    checkpoint = spec.get("CheckpointConfig") or {}
    if checkpoint.get("S3Uri"):
        found.append(SyncedFolder("checkpoints", "CheckpointConfig", checkpoint_local_path(spec) or "",
                                  checkpoint["S3Uri"], restore=True))
    tensorboard = spec.get("TensorBoardOutputConfig") or {}
    if tensorboard.get("S3OutputPath"):
        found.append(SyncedFolder("tensorboard", "TensorBoardOutputConfig",
                                  local_path(tensorboard.get("LocalPath"), DEFAULT_TENSORBOARD_PATH),
                                  _under(tensorboard["S3OutputPath"], job, "tensorboard-output")))
    hook = spec.get("DebugHookConfig") or {}
    if hook.get("S3OutputPath"):
        found.append(SyncedFolder("debugger", "DebugHookConfig",
                                  local_path(hook.get("LocalPath"), DEFAULT_TENSORS_PATH),
                                  _under(hook["S3OutputPath"], job, "debug-output")))
    profiler = spec.get("ProfilerConfig") or {}
    base = profiler.get("S3OutputPath") or (spec.get("OutputDataConfig") or {}).get("S3OutputPath")
    if profiler and profiler.get("DisableProfiler") is not True and base:
        found.append(SyncedFolder("profiler", "ProfilerConfig", profiler_local_path(profiler),
                                  _under(base, job, "profiler-output")))
    return found


def check_local_paths(folders: list[SyncedFolder]) -> None:
    """Each folder is mounted at its LocalPath: absolute, not hiding /opt/ml, and apart from the others."""
    for folder in folders:
        path = folder.local_path
        if not posixpath.isabs(path):
            raise WorkbenchError(f"{folder.member}.LocalPath {path!r} must be an absolute path in the container "
                                 f"(the default is fine: leave it out)")
        normal = posixpath.normpath(path)
        if normal == "/" or "/opt/ml".startswith(normal.rstrip("/") + "/") or normal == "/opt/ml":
            raise WorkbenchError(f"{folder.member}.LocalPath {path!r} would hide /opt/ml; use a folder of its "
                                 "own such as /opt/ml/checkpoints")
    for index, folder in enumerate(folders):
        for other in folders[:index]:
            a, b = posixpath.normpath(folder.local_path), posixpath.normpath(other.local_path)
            if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
                raise WorkbenchError(f"{folder.member}.LocalPath {folder.local_path!r} overlaps "
                                     f"{other.member}.LocalPath {other.local_path!r}: each is synced to its own "
                                     "S3 location, so give each a folder of its own")
