"""Helpers for checkpoint tests: jobs whose script (checkpoint_writer/writer.py) follows a list
of steps, run in a background thread so the test can act while they train."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

from workbench.engine import events as ev
from tests.integration.jobs import unique

WRITER = Path(__file__).parent / "checkpoint_writer" / "writer.py"


def writer_spec(tmp_path: Path, steps: list[dict], s3_uri: str, *, hosts: int = 1, local_path: str | None = None,
                **extra) -> dict:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    shutil.copy(WRITER, code / "writer.py")
    (code / "steps.json").write_text(json.dumps(steps))
    spec = {
        "TrainingJobName": unique("ckpt"),
        "AlgorithmSpecification": {
            "TrainingImage": "sm-workbench/python:latest", "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/writer.py"]},
        "InputDataConfig": [{"ChannelName": "code", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": str(code) + "/"}}}],
        "OutputDataConfig": {"S3OutputPath": str(tmp_path / "output")},
        "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": hosts},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        "CheckpointConfig": {"S3Uri": s3_uri, **({"LocalPath": local_path} if local_path else {})},
        "Environment": {"CHECKPOINT_DIR": local_path or "/opt/ml/checkpoints"},
        "Workbench": {"StopGracePeriodSeconds": 5, "CheckpointDrainTimeoutSeconds": 60},
    }
    spec.update(extra)
    return spec


def content(tag: str, host: str, size: int = 64) -> bytes:
    """What writer.py writes for a `write` step."""
    head = f"{tag}|{host}|".encode()
    return head + b"x" * max(0, size - len(head) - 3) + b"END"


class BackgroundJob:
    """A foreground job (this process runs it) in a thread, with every event it emitted."""

    def __init__(self, spec: dict, tmp_path: Path) -> None:
        from workbench.engine.api import launch
        from workbench.spec import check_spec

        self.seen: list[ev.Event] = []
        self.job = launch(check_spec(spec, source="test.yaml", base_dir=tmp_path), subscribers=[self.seen.append])
        self.name = spec["TrainingJobName"]
        self.paths = self.job.paths
        self.record: dict | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.record = self.job.run()

    def go(self, name: str, hosts: tuple[str, ...] = ("algo-1",)) -> None:
        """Let the writers past their `wait` step of that name."""
        for host in hosts:
            (self.paths.opt_ml(host) / "code" / name).write_text("go")

    def of(self, kind) -> list:
        return [e for e in list(self.seen) if isinstance(e, kind)]

    def states(self, path: str, host: str = "algo-1") -> list[str]:
        return [e.state for e in self.of(ev.CheckpointFileState) if e.path == path and e.host == host]

    def state(self, path: str, host: str = "algo-1") -> str:
        states = self.states(path, host)
        return states[-1] if states else ""

    def log(self, host: str = "algo-1") -> list[str]:
        return [text for e in self.of(ev.LogLines) if e.host == host for _, text in e.lines]

    def finish(self, timeout: float = 120.0) -> dict:
        self.thread.join(timeout)
        assert self.record is not None, "the job did not finish"
        return self.record


def keys(s3, bucket: str, prefix: str = "") -> dict[str, bytes]:
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found
