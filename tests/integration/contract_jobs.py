"""Helpers for tests of the files SageMaker writes: jobs running contract_probe/probe.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.integration.jobs import Ran, unique

PROBE = Path(__file__).parent / "contract_probe" / "probe.py"


def contract_spec(tmp_path: Path, hosts: int = 1, environment: dict | None = None, **extra) -> dict:
    """A job running the contract probe, with a `code` channel and a `train` channel of three files."""
    code, data = tmp_path / "code", tmp_path / "data"
    code.mkdir(exist_ok=True)
    data.mkdir(exist_ok=True)
    shutil.copy(PROBE, code / "probe.py")
    for name in ("a.txt", "b.txt", "c.txt"):
        (data / name).write_text(name)
    spec = {
        "TrainingJobName": unique("contract"),
        "AlgorithmSpecification": {"TrainingImage": "sm-workbench/python:latest", "TrainingInputMode": "File",
                                   "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/probe.py"]},
        "InputDataConfig": [
            {"ChannelName": "code", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                    "S3Uri": str(code) + "/"}}},
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(data) + "/",
                                                                     "S3DataDistributionType": "ShardedByS3Key"}}},
        ],
        "OutputDataConfig": {"S3OutputPath": str(tmp_path / "output")},
        "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": hosts},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        "Environment": dict(environment or {}),
        "Workbench": {"StopGracePeriodSeconds": 3, "CheckpointDrainTimeoutSeconds": 30},
    }
    spec.update(extra)
    return spec


def contract_report(ran: Ran, host: str = "algo-1") -> dict:
    """What the probe saw in the container: tree, configs, manifests, env."""
    return json.loads((ran.paths.opt_ml(host) / "output" / "data" / f"contract-{host}.json").read_text())
