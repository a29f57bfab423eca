"""Helpers for integration tests that run real jobs on the real engine."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from workbench.engine import events as ev


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def probe_spec(tmp_path: Path, image: str = "smw-test/probe:latest", hosts: int = 1, **extra) -> dict:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "a.txt").write_text("alpha\n")
    spec = {
        "TrainingJobName": unique("probe"),
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": {"epochs": "3", "lr": "0.1"},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": str(data) + "/"}}}],
        "OutputDataConfig": {"S3OutputPath": str(tmp_path / "output")},
        "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": hosts},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Workbench": {"StopGracePeriodSeconds": 3},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key].update(value)
        else:
            spec[key] = value
    return spec


def shell_job(tmp_path: Path, images: dict, script: str, **extra) -> dict:
    """A job running `script` with busybox sh (delivered in its train channel: no length limit)."""
    spec = probe_spec(tmp_path, image=images["shell"], **extra)
    (tmp_path / "data" / "script.sh").write_text(script + "\n")
    spec["AlgorithmSpecification"]["ContainerEntrypoint"] = ["sh", "/opt/ml/input/data/train/script.sh"]
    return spec


@dataclass
class Ran:
    record: dict
    events: list[ev.Event] = field(default_factory=list)
    paths: object = None

    @property
    def name(self) -> str:
        return self.record["TrainingJobName"]

    def probe(self, host: str = "algo-1") -> dict:
        return json.loads((self.paths.opt_ml(host) / "output" / "data" / f"probe-{host}.json").read_text())

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def log(self, host: str = "algo-1") -> list[str]:
        return [text for e in self.of(ev.LogLines) if e.host == host for _, text in e.lines]


def run_spec(spec: dict, tmp_path: Path | None = None, **kwargs) -> Ran:
    """Run a spec dict in the foreground through the engine's public API."""
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    job_spec = check_spec(spec, source="test.yaml", base_dir=tmp_path, **kwargs)
    seen: list[ev.Event] = []
    job = launch(job_spec, subscribers=[seen.append])
    record = job.run()
    return Ran(record, seen, job.paths)


def leftovers(client, name: str) -> list:
    label = f"sm-workbench.job={name}"
    return client.containers.list(all=True, filters={"label": label}) + client.networks.list(filters={"label": label})


def wait_for(predicate, timeout: float = 30.0, what: str = "the condition"):
    """The predicate's first truthy value, polled until the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
