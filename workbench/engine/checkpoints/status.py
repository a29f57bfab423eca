"""Sync status as viewers see it: a table per synced folder, folded from the job's events.

Each sync emits one CheckpointFileState per change and a CheckpointSummary now and then,
both naming their folder (`sync`); any viewer (the `checkpoints` command, the TUI's
panels) folds the same stored events into a CheckpointView of one folder, so a finished
job shows what a live one showed. The record keeps the checkpoint restores and last
summary under Workbench.Checkpoints, and each other folder's under Workbench.Synced.<Label>.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.engine import events as ev
from workbench.engine.checkpoints.synced import LABELS, notice_prefix
from workbench.engine.plan import natural_key
from workbench.engine.times import iso

STATES = ("pending", "uploading", "synced", "retrying", "deleted")
UNSYNCED = ("pending", "uploading", "retrying")


@dataclass
class FileRow:
    host: str
    path: str
    state: str
    size: int
    lag: float | None
    error: str
    attempts: int
    time: float  # when it entered this state


@dataclass
class CheckpointView:
    """Per-file states, the last summary, restores and warnings, from events in order.

    A spot restart (AttemptStarted) starts a new table: the next attempt restores from
    S3 and writes its own files.
    """

    files: dict[tuple[str, str], FileRow] = field(default_factory=dict)
    summary: ev.CheckpointSummary | None = None
    restored: dict[str, ev.CheckpointsRestored] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    attempt: int = 1
    sync: str = "checkpoints"  # the synced folder this view shows

    @property
    def prefix(self) -> str:
        """Its notices start so."""
        return notice_prefix(self.sync)

    def apply(self, event: ev.Event) -> bool:
        """Fold one event in; True when it changed what a viewer shows."""
        if isinstance(event, (ev.CheckpointFileState, ev.CheckpointSummary)) and event.sync != self.sync:
            return False
        if isinstance(event, ev.CheckpointFileState):
            self.files[(event.host, event.path)] = FileRow(event.host, event.path, event.state, event.size,
                                                           event.lag, event.error, event.attempts, event.time)
        elif isinstance(event, ev.CheckpointSummary):
            self.summary = event
        elif isinstance(event, ev.CheckpointsRestored):
            self.restored[event.host] = event
        elif isinstance(event, ev.AttemptStarted):
            self.files.clear()
            self.restored.clear()
            self.summary = None
            self.attempt = event.attempt
        elif isinstance(event, ev.Notice) and event.message.startswith(self.prefix):
            self.warnings.append(event.message)
        else:
            return False
        return True

    def rows(self) -> list[FileRow]:
        return sorted(self.files.values(), key=lambda r: (natural_key(r.host), r.path))


NOTICE_PREFIX = notice_prefix("checkpoints")  # every Notice the checkpoint sync emits starts so


def synced_section(record: dict, sync: str) -> dict:
    """Workbench.Synced.<label>: a folder synced like checkpoints (TensorBoard, Debugger, Profiler)."""
    return record.setdefault("Workbench", {}).setdefault("Synced", {}).setdefault(LABELS.get(sync, sync), {})


def _section(record: dict) -> dict:
    return record.setdefault("Workbench", {}).setdefault("Checkpoints", {})


def fold_restored(record: dict, event: ev.CheckpointsRestored) -> None:
    section = _section(record)
    if section.get("Attempt") != event.attempt:
        section["Attempt"] = event.attempt
        section["Restored"] = {}
    section.setdefault("Restored", {})[event.host] = {
        "Files": event.files, "Bytes": event.bytes, "Seconds": round(event.seconds, 3), "Source": event.source}


def fold_summary(record: dict, event: ev.CheckpointSummary) -> None:
    section = _section(record) if event.sync == "checkpoints" else synced_section(record, event.sync)
    section["Summary"] = {
        "Files": event.files, "Bytes": event.bytes, "Synced": event.synced, "Pending": event.pending,
        "Retrying": event.retrying, "Deleted": event.deleted,
        "OldestUnsyncedAgeSeconds": None if event.oldest_unsynced_age is None else round(event.oldest_unsynced_age, 3),
        "Final": event.final, "Time": iso(event.time),
    }
