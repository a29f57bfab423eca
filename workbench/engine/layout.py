"""Each host's /opt/ml tree on the host machine, and the config files SageMaker writes.

The tree lives at <job>/hosts/<host>/opt_ml and is mounted at /opt/ml; every host has
its own, so hosts never share a model folder or each other's data.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.engine.plan import HostPlan, JobPlan, resource_config

DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
TREE = ("input/config", "input/data", "model", "output/data", "code")


def write_host_tree(opt_ml: Path, spec: dict, plan: JobPlan, host: HostPlan) -> None:
    for folder in TREE:
        (opt_ml / folder).mkdir(parents=True, exist_ok=True)
    config = opt_ml / "input" / "config"
    hyperparameters = {k: str(v) for k, v in (spec.get("HyperParameters") or {}).items()}
    _write(config / "hyperparameters.json", hyperparameters)
    inputs = {c.name: c.input_config() for c in plan.channels_for(host.name)}
    _write(config / "inputdataconfig.json", inputs)
    _write(config / "resourceconfig.json", resource_config(plan, host))
    # Writable by any user the image runs as; SageMaker's tree is writable too.
    for path in [opt_ml, *(opt_ml / f for f in TREE), opt_ml / "input", opt_ml / "output"]:
        path.chmod(0o777)


def checkpoint_local_path(spec: dict) -> str | None:
    config = spec.get("CheckpointConfig")
    if not config:
        return None
    return (config.get("LocalPath") or DEFAULT_CHECKPOINT_PATH).rstrip("/") or "/"


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data))
