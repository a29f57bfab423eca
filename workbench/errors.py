"""Errors a user can cause. Each message says what went wrong and what to do about it.

The CLI prints these in one or two lines with exit code 2; the TUI shows them inline.
Anything else that escapes is a bug in sm-workbench.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """A problem the user can fix; `str(err)` is the whole message."""

    exit_code = 2


class SpecError(WorkbenchError):
    """A spec file that cannot be read or parsed (missing file, YAML syntax)."""


class SpecInvalid(WorkbenchError):
    """A spec that parsed but breaks the API model or a cross-field rule."""

    def __init__(self, problems: list, source: str = "spec") -> None:
        self.problems = list(problems)
        self.source = source
        lines = [p.format(source) for p in self.problems if p.severity == "error"]
        super().__init__("\n".join(lines) or f"{source}: invalid")


class DockerUnavailable(WorkbenchError):
    """No Docker engine answers."""


class ImageNotFound(WorkbenchError):
    """The training image is not present in the local engine."""


class StorageError(WorkbenchError):
    """An S3 or local location that cannot be read or written, or unsafe keys."""

    server_side = False  # S3 failed (a 5xx, or it could not be reached): not the request's fault


def server_side_storage_error(message: str) -> StorageError:
    """A StorageError S3 caused, not the request (a job's RetryStrategy retries those)."""
    error = StorageError(message)
    error.server_side = True
    return error


class JobNotFound(WorkbenchError):
    """No job of that name in the state directory."""


class RecordDamaged(WorkbenchError):
    """A job's describe.json that is not a usable record (not JSON, wrong shape)."""


class NameClash(WorkbenchError):
    """A job name that is already used."""


class JobStateError(WorkbenchError):
    """An action that does not fit the job's current state (stop a finished job, ...)."""


class CloudError(WorkbenchError):
    """An error reported by AWS, turned into one line."""


class InvocationError(WorkbenchError):
    """A request to an endpoint that InvokeEndpoint would refuse or give up on (a limit, a
    late answer, no container)."""
