"""The kinds of jobs in the history, and the one place that tells them apart.

Every job has a folder with a describe.json; what differs is who runs it and so how it
is looked at and acted on. A local job is run by a runner process of ours (taken over
when that process dies); a SageMaker job by AWS (its record refreshed from
DescribeTrainingJob, its logs read from CloudWatch). The API reads a record's kind once
(`api.KINDS`) and calls the same method whatever the kind; a new kind (tuning jobs,
transform jobs, endpoints) is one more `JobKind` subclass in that table, not a branch.
"""

from __future__ import annotations

from typing import Callable, ClassVar, Iterator

from workbench.engine import events as ev
from workbench.engine.store import JobPaths
from workbench.errors import JobStateError


class JobKind:
    """How one kind of job is looked at and acted on. Records passed in are the job's
    describe.json as stored; every method returns or yields what viewers show."""

    name: ClassVar[str]

    def current(self, paths: JobPaths, record: dict) -> dict:
        """The record brought up to date, quietly (polls, waits, followers)."""
        return record

    def listed(self, paths: JobPaths, record: dict) -> dict:
        """As `current`, for the history: quick, never blocking on a network."""
        return self.current(paths, record)

    def after_listing(self, records: list[dict]) -> None:
        """Housekeeping once the history was read (the local kind removes leftovers)."""

    def describe(self, paths: JobPaths, record: dict) -> dict:
        """The record, as asked for by a user: errors are raised, not noted."""
        return self.current(paths, record)

    def hosts(self, paths: JobPaths, record: dict) -> list[str]:
        raise NotImplementedError

    def read_logs(self, paths: JobPaths, record: dict, host: str | None, follow: bool,
                  poll: float) -> Iterator[tuple[float, str, str]]:
        raise NotImplementedError

    def follow_events(self, paths: JobPaths, record: dict, poll: float, stop: Callable[[], bool] | None,
                      logs: bool) -> Iterator[ev.Event]:
        raise NotImplementedError

    def stop(self, paths: JobPaths, record: dict, kill: bool) -> dict:
        raise JobStateError(f"Job {paths.name} cannot be stopped from here")

    def interrupt(self, paths: JobPaths, record: dict) -> dict:
        raise JobStateError(f"Job {paths.name} cannot be interrupted")

    def remove(self, paths: JobPaths, record: dict) -> None:
        raise NotImplementedError

    # --- inner loop ---

    def request(self, paths: JobPaths, record: dict, action: str, **details) -> dict:
        """A request to the job's runner (signal one host, release held training)."""
        raise JobStateError(f"Job {paths.name} runs on {self.name}; only local jobs take this request")

    def training_container(self, paths: JobPaths, record: dict, host: str | None) -> tuple[str, str]:
        """(container id, host) of a running host, to run a command in."""
        raise JobStateError(f"Job {paths.name} runs on {self.name}; only local jobs' containers are on this machine")


    # --- metrics ---

    def metric_samples(self, paths: JobPaths, record: dict, follow: bool,
                       stop: Callable[[], bool] | None) -> Iterator[ev.Event]:
        """The job's metric samples as recorded (MetricSamples or MetricSample events, and a
        Notice when some cannot be read); `follow` keeps going until the job has ended."""
        return iter(())
