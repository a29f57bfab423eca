"""What a capability (data channels, checkpoints, GPUs, ...) plugs into a job's run.

The runner calls each extension at fixed points of the SageMaker lifecycle; an
extension never drives the lifecycle itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from workbench.engine.container_user import FolderAccess
    from workbench.engine.docker_backend import DockerJob
    from workbench.engine.events import Event, LogLines
    from workbench.engine.plan import HostPlan, JobPlan
    from workbench.engine.store import JobPaths
    from workbench.spec.settings import WorkbenchSettings


@dataclass
class JobContext:
    name: str
    spec: dict
    plan: "JobPlan"
    paths: "JobPaths"
    settings: "WorkbenchSettings"
    emit: Callable[["Event"], None]
    docker: "DockerJob | None" = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    attempt: int = 1  # 2, 3, ... after spot interruptions and retries
    access: "FolderAccess | None" = None  # owner and mode of the folders the containers write

    def opt_ml(self, host: str) -> Path:
        return self.paths.opt_ml(host)

    def host_dir(self, host: str) -> Path:
        return self.paths.host(host)


class Extension:
    """Hooks, in call order. The defaults do nothing.

    One attempt runs prepare -> container_options/before_start (per host) -> started ->
    host_exited (per host) -> stopped. A spot interruption or a retry ends an attempt
    (stopped is called, its work drained) and starts the next one on fresh host trees
    (`ctx.attempt` counts them): prepare, ..., stopped again. `close` is called once, at
    the very end, also after errors, then `finished` with the job's outcome. Set `adoptable = False` when a new process cannot take over a
    running attempt (e.g. pipe feeders that lived in the dead process).
    `log_lines` gets every batch of the containers' output lines, as they are stored.
    """

    adoptable = True

    def prepare(self, ctx: JobContext) -> None:
        """Downloading: stage data, restore checkpoints (may check ctx.cancelled)."""

    def container_options(self, ctx: JobContext, host: "HostPlan") -> dict:
        """Extra docker options for a host: volumes, environment, device_requests, ..."""
        return {}

    def before_start(self, ctx: JobContext, host: "HostPlan") -> None:
        """The host's container exists but has not started (create FIFOs, feeders)."""

    def started(self, ctx: JobContext) -> None:
        """Every container runs: start watchers, samplers."""

    def host_exited(self, ctx: JobContext, host: str) -> None:
        """One host's container exited."""

    def log_lines(self, ctx: JobContext, event: "LogLines") -> None:
        """A batch of one host's output lines (stdout and stderr), just stored: every line
        of every host reaches here, in order per host, before `close`. Called from the log
        pump, off the containers' reading path; keep it quick (readers wait when it lags)."""

    def stopped(self, ctx: JobContext) -> None:
        """Every container exited; finish pending work before outputs are uploaded."""

    def close(self, ctx: JobContext) -> None:
        """Always called last, also after errors."""

    def finished(self, ctx: JobContext, status: str, failure: str) -> None:
        """The job's outcome is final (TrainingJobStatus, FailureReason), just before it is
        recorded; called once, after `close`, also for a job taken over."""


def merge_options(into: dict, extra: dict) -> dict:
    """Combine docker options from several extensions (volumes, environment and mounts add up)."""
    for key, value in extra.items():
        if key in ("volumes", "environment") and isinstance(value, dict):
            into.setdefault(key, {}).update(value)
        elif key in ("device_requests", "mounts"):
            into.setdefault(key, []).extend(value)
        else:
            into[key] = value
    return into
