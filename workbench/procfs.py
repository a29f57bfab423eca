"""Processes as /proc shows them, read in one place.

Pids are reused, so a process is known by its pid and its start time (clock ticks since
boot, /proc/<pid>/stat field 22): a job's owner, a cache lease's holder."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessStat:
    state: str  # R, S, D, Z (a zombie: ended, not yet reaped), ...
    start_ticks: int


def process_stat(pid: int) -> ProcessStat | None:
    """None when there is no such process (or /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()  # the name, in (), may hold spaces
        return ProcessStat(fields[0], int(fields[19]))
    except (OSError, IndexError, ValueError):
        return None


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    """The process runs (a zombie does not) and, when `start_ticks` is given, is the one
    that started then, not a later process with the same pid."""
    found = process_stat(pid)
    if found is None or found.state == "Z":
        return False
    return start_ticks is None or found.start_ticks == start_ticks
