"""Helpers for the serving tests: a model trained by the python-code sample job, and
endpoints run in a thread through the engine's API."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import SAMPLES
from tests.integration.jobs import unique, wait_for
from workbench.engine import api
from workbench.engine import events as ev
from workbench.engine.record import record_status
from workbench.spec import load_job_spec

INFERENCE = "smw-test/inference:latest"


def train_sample(tmp_path: Path, image: str = INFERENCE) -> dict:
    """The python-code sample job (y = a*x + b), quickly, with `image` as its training image;
    returns its final record (Completed, ModelArtifacts -> model.tar.gz holding model.json)."""
    spec = load_job_spec(SAMPLES / "python-code" / "job.yaml", name=unique("fit"), overrides=[
        "HyperParameters.epochs=5", "HyperParameters.epoch_seconds=0", f"AlgorithmSpecification.TrainingImage={image}",
        "Workbench.StopGracePeriodSeconds=3", f"OutputDataConfig.S3OutputPath={tmp_path / 'output'}",
        f"CheckpointConfig.S3Uri={tmp_path / 'checkpoints'}"])
    record = api.launch(spec).run()
    assert record["TrainingJobStatus"] == "Completed", record.get("FailureReason")
    return record


@dataclass
class Serving:
    """An endpoint served in a thread of this process (as the foreground `serve` does)."""

    job: object
    events: list = field(default_factory=list)
    thread: threading.Thread | None = None
    record: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.job.name

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def stop(self) -> dict:
        self.job.stop()
        return self.wait()

    def wait(self, timeout: float = 120) -> dict:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the endpoint did not end"
        return self.record


def start_serving(model, **kwargs) -> Serving:
    serving = Serving(None)
    serving.job = api.serve(model, subscribers=[serving.events.append], **kwargs)

    def run() -> None:
        serving.record = serving.job.run()

    serving.thread = threading.Thread(target=run, daemon=True)
    serving.thread.start()
    return serving


def until_served(serving: Serving, timeout: float = 120) -> dict:
    """The record once the endpoint left Creating (InService, or Failed)."""
    return wait_for(lambda: (lambda r: r if record_status(r) != "Creating" else None)(api.describe_job(serving.name)),
                    timeout=timeout, what="the endpoint to leave Creating")


def serving_leftovers(client, name: str) -> list:
    return client.containers.list(all=True, filters={"label": f"sm-workbench.job={name}"})


def finished(serving: Serving) -> list:
    return serving.of(ev.JobFinished)
