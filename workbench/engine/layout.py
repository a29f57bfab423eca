"""Each host's /opt/ml tree on the host machine, and the config files SageMaker writes.

The tree lives at <job>/hosts/<host>/opt_ml and is mounted at /opt/ml; every host has
its own, so hosts never share a model folder or each other's data. `hosts/` is ours
alone; inside, only the folders the container writes are open to its user
(container_user.py), the rest is readable. Every file here is written at Starting,
before any data is staged, as SageMaker writes them; the channels' manifests follow
once their data is staged (`write_manifest`).
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.engine.container_user import FolderAccess
from workbench.engine.plan import HostPlan, JobPlan, resource_config
from workbench.engine.platform_files import init_config, job_configs, manifest_text
from workbench.storage.uri import Location

CONTAINER_DATA = "/opt/ml/input/data"  # channels (File, FastFile) and Pipe FIFOs, as the container sees them
# The output folders real jobs show (metrics/sagemaker is SAGEMAKER_METRICS_DIRECTORY).
OUTPUTS = ("output/data", "output/metrics/sagemaker", "output/profiler", "output/tensorboard")
TREE = ("input/config", "input/data", "model", *OUTPUTS, "code")
WRITTEN = ("", "model", "output", *OUTPUTS, "output/metrics", "code")  # by the container; the rest it only reads


def write_host_tree(opt_ml: Path, spec: dict, plan: JobPlan, host: HostPlan, access: FolderAccess,
                    *, arn: str = "", attempt: int = 1) -> None:
    for folder in TREE:
        (opt_ml / folder).mkdir(parents=True, exist_ok=True)
    config = opt_ml / "input" / "config"
    hyperparameters = {k: str(v) for k, v in (spec.get("HyperParameters") or {}).items()}
    _write(config / "hyperparameters.json", hyperparameters)
    inputs = {c.name: c.input_config() for c in plan.channels_for(host.name)}
    _write(config / "inputdataconfig.json", inputs)
    _write(config / "resourceconfig.json", resource_config(plan, host))
    _write(config / "init-config.json", init_config(spec, plan, host, attempt))
    for name, content in job_configs(spec, arn).items():
        _write(config / name, content)
    for folder in ("input", "input/config", "input/data"):
        (opt_ml / folder).chmod(0o755)
    for folder in WRITTEN:
        access.writable(opt_ml / folder)


def write_manifest(opt_ml: Path, channel: str, source: Location, uris: list[str]) -> None:
    """/opt/ml/input/data/<channel>-manifest: what was staged for this host, once it is there."""
    path = data_dir(opt_ml) / f"{channel}-manifest"
    path.write_text(manifest_text(source, uris))
    path.chmod(0o644)


def data_dir(opt_ml: Path) -> Path:
    """A host tree's /opt/ml/input/data on this machine."""
    return opt_ml / "input" / "data"


def channel_dir(opt_ml: Path, channel: str) -> Path:
    """Where a channel's files are on this machine: /opt/ml/input/data/<channel> of a host tree."""
    return data_dir(opt_ml) / channel


def container_channel_path(channel: str) -> str:
    """/opt/ml/input/data/<channel>, where the container finds the channel."""
    return f"{CONTAINER_DATA}/{channel}"


def _write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data))
    path.chmod(0o644)  # whatever the umask: the container's user reads it
