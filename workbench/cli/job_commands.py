"""Job commands (run, jobs, describe, logs, stop, ...) arrive with the runner engine."""

from __future__ import annotations


def register(commands) -> None:
    return None
