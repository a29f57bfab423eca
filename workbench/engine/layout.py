"""Each host's /opt/ml tree on the host machine, and the config files SageMaker writes.

The tree lives at <job>/hosts/<host>/opt_ml and is mounted at /opt/ml; every host has
its own, so hosts never share a model folder or each other's data. `hosts/` is ours
alone; inside, only the folders the container writes are open to its user
(container_user.py), the rest is readable.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.engine.container_user import FolderAccess
from workbench.engine.plan import HostPlan, JobPlan, resource_config

DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
CONTAINER_DATA = "/opt/ml/input/data"  # channels (File, FastFile) and Pipe FIFOs, as the container sees them
TREE = ("input/config", "input/data", "model", "output/data", "code")
WRITTEN = ("", "model", "output", "output/data", "code")  # by the container; the rest it only reads


def write_host_tree(opt_ml: Path, spec: dict, plan: JobPlan, host: HostPlan, access: FolderAccess) -> None:
    for folder in TREE:
        (opt_ml / folder).mkdir(parents=True, exist_ok=True)
    config = opt_ml / "input" / "config"
    hyperparameters = {k: str(v) for k, v in (spec.get("HyperParameters") or {}).items()}
    _write(config / "hyperparameters.json", hyperparameters)
    inputs = {c.name: c.input_config() for c in plan.channels_for(host.name)}
    _write(config / "inputdataconfig.json", inputs)
    _write(config / "resourceconfig.json", resource_config(plan, host))
    for folder in ("input", "input/config", "input/data"):
        (opt_ml / folder).chmod(0o755)
    for folder in WRITTEN:
        access.writable(opt_ml / folder)


def data_dir(opt_ml: Path) -> Path:
    """A host tree's /opt/ml/input/data on this machine."""
    return opt_ml / "input" / "data"


def channel_dir(opt_ml: Path, channel: str) -> Path:
    """Where a channel's files are on this machine: /opt/ml/input/data/<channel> of a host tree."""
    return data_dir(opt_ml) / channel


def container_channel_path(channel: str) -> str:
    """/opt/ml/input/data/<channel>, where the container finds the channel."""
    return f"{CONTAINER_DATA}/{channel}"


def checkpoint_local_path(spec: dict) -> str | None:
    config = spec.get("CheckpointConfig")
    if not config:
        return None
    return (config.get("LocalPath") or DEFAULT_CHECKPOINT_PATH).rstrip("/") or "/"


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data))
    path.chmod(0o644)  # whatever the umask: the container's user reads it
