"""Jobs on disk: one folder per job under the state directory.

    <state>/jobs/<name>/
        spec.yaml        the resolved spec the job ran with
        describe.json    DescribeTrainingJob-shaped record (atomic writes)
        events.jsonl     every event but log lines, one JSON object per line
        logs/<host>.log  each host's output, one `<ISO time> <text>` per line
        owner.json       the process running the job (pid, start ticks)
        control/         stop / interrupt / kill requests from other processes
        hosts/<host>/    each host's /opt/ml tree (and checkpoint folder)
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from workbench.engine import events as ev
from workbench.engine.record import apply_event
from workbench.errors import JobNotFound, NameClash, WorkbenchError
from workbench.fileio import read_json, write_json_atomic
from workbench.paths import jobs_dir


@dataclass(frozen=True)
class JobPaths:
    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def spec(self) -> Path:
        return self.root / "spec.yaml"

    @property
    def describe(self) -> Path:
        return self.root / "describe.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, host: str) -> Path:
        return self.logs / f"{host}.log"

    @property
    def owner(self) -> Path:
        return self.root / "owner.json"

    @property
    def control(self) -> Path:
        return self.root / "control"

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"

    def host(self, host: str) -> Path:
        return self.root / "hosts" / host

    def opt_ml(self, host: str) -> Path:
        return self.host(host) / "opt_ml"


def check_job_name(name: str) -> str:
    """`name` when it is a TrainingJobName as the API allows it (so never a path); every
    command that takes a job comes through here (job_paths)."""
    from workbench.spec.model import request_model
    from workbench.spec.validate import compiled_pattern

    shape = request_model().shape("TrainingJobName")
    pattern = compiled_pattern(shape.pattern) if shape.pattern else None
    if not isinstance(name, str) or not (shape.min or 1) <= len(name) <= (shape.max or 63) or \
            (pattern is not None and not pattern.fullmatch(name)):
        raise JobNotFound(f"{name!r} is not a job name: job names are 1-{shape.max or 63} letters, digits and "
                          "hyphens (TrainingJobName); `sm-workbench jobs` lists them")
    return name


def job_paths(name: str) -> JobPaths:
    return JobPaths(jobs_dir() / check_job_name(name))


def create_job_dir(name: str) -> JobPaths:
    """Reserve a job name: the folder is created atomically, so a used name is refused."""
    paths = job_paths(name)
    try:
        paths.root.mkdir(mode=0o700, parents=False)  # logs, spec and host trees are this user's alone
    except FileExistsError:
        raise NameClash(
            f"A job named {name!r} already exists; pick another name (--name), "
            f"or remove the old one with `sm-workbench rm {name}`"
        ) from None
    paths.logs.mkdir()
    paths.control.mkdir()
    return paths


def existing_job(name: str) -> JobPaths:
    paths = job_paths(name)
    if not paths.describe.exists():
        known = [p.name for p in jobs_dir().iterdir() if (p / "describe.json").exists()]
        close = [k for k in known if name in k]
        hint = f"; did you mean {close[0]}?" if close else "; `sm-workbench jobs` lists them"
        raise JobNotFound(f"No job named {name!r}{hint}")
    return paths


def load_record(paths: JobPaths) -> dict:
    record = read_json(paths.describe)
    if record is None:
        raise JobNotFound(f"No job named {paths.name!r}; `sm-workbench jobs` lists them")
    return record


def all_records() -> list[dict]:
    """Every job's record, newest first."""
    records = []
    for folder in jobs_dir().iterdir():
        try:
            record = read_json(folder / "describe.json")
        except (OSError, ValueError):
            continue
        if record:
            records.append(record)
    records.sort(key=lambda r: r.get("CreationTime", ""), reverse=True)
    return records


def _iso_micro(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JobRecorder:
    """The store's subscriber: keeps the event log, the host logs and describe.json."""

    PROGRESS_WRITE_INTERVAL = 0.5
    # Frequent events: folded into the record at once, written to disk at most twice a second.
    FREQUENT = (ev.StagingProgress, ev.GpuSample, ev.CheckpointFileState, ev.CheckpointSummary)

    def __init__(self, paths: JobPaths, record: dict) -> None:
        self.paths = paths
        self.record = record
        self._logs: dict[str, object] = {}
        self._events = open(paths.events, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._last_progress_write = 0.0
        write_json_atomic(paths.describe, record)

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            if isinstance(event, ev.LogLines):
                self._write_lines(event)
                return
            self._events.write(json.dumps(event.to_dict(), default=str) + "\n")
            self._events.flush()
            apply_event(self.record, event)
            if isinstance(event, self.FREQUENT):
                now = time.monotonic()
                if now - self._last_progress_write < self.PROGRESS_WRITE_INTERVAL:
                    return
                self._last_progress_write = now
            write_json_atomic(self.paths.describe, self.record)

    def _write_lines(self, event: ev.LogLines) -> None:
        handle = self._logs.get(event.host)
        if handle is None:
            handle = self._logs[event.host] = open(self.paths.log(event.host), "a", encoding="utf-8")
        handle.write("".join(f"{_iso_micro(t)} {text}\n" for t, text in event.lines))
        handle.flush()

    def update(self, mutate) -> None:
        """Change the record outside of events (e.g. the owner), then save it."""
        with self._lock:
            mutate(self.record)
            write_json_atomic(self.paths.describe, self.record)

    def close(self) -> None:
        with self._lock:
            for handle in self._logs.values():
                handle.close()
            self._logs.clear()
            self._events.close()


def read_events(paths: JobPaths) -> Iterator[ev.Event]:
    """The stored events in order (log lines live in the host logs)."""
    try:
        handle = open(paths.events, encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            if not line.endswith("\n"):
                break  # a line still being written
            try:
                event = ev.event_from_dict(json.loads(line))
            except ValueError:
                continue
            if event is not None:
                yield event


def parse_log_line(line: str) -> tuple[float, str]:
    stamp, _, text = line.rstrip("\n").partition(" ")
    try:
        if len(stamp) == 27 and stamp[19] == "." and stamp[26] == "Z":  # ours: 18x faster, same value
            moment = datetime.fromisoformat(stamp[:26] + "+00:00").timestamp()
        else:
            moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return 0.0, line.rstrip("\n")
    return moment, text


class LogTail:
    """What was appended to a job's host logs since the last read (whole lines only).

    Reads are bounded (`limit` characters per host per call, or line by line in
    `merged`), so replaying a long log never holds all of it in memory.
    """

    def __init__(self, paths: JobPaths, host: str | None = None) -> None:
        self.paths = paths
        self.host = host
        self._handles: dict[str, object] = {}
        self._partial: dict[str, str] = {}

    def _open_new(self) -> None:
        for log in sorted(self.paths.logs.glob("*.log")):
            if log.stem not in self._handles and (self.host is None or log.stem == self.host):
                self._handles[log.stem] = open(log, encoding="utf-8", errors="replace")

    def read(self, limit: int = 4 * 1024 * 1024) -> dict[str, list[tuple[float, str]]]:
        self._open_new()
        found: dict[str, list[tuple[float, str]]] = {}
        for host, handle in self._handles.items():
            data = self._partial.pop(host, "") + handle.read(limit)
            if not data:
                continue
            lines = data.split("\n")
            if lines[-1]:
                self._partial[host] = lines[-1]
            if len(lines) > 1:
                found[host] = [parse_log_line(line) for line in lines[:-1]]
        return found

    def merged(self) -> Iterator[tuple[float, str, str]]:
        """Every host's lines so far as (time, host, text), in time order, streaming."""
        import heapq

        self._open_new()

        def lines(host: str, handle) -> Iterator[tuple[float, str, str]]:
            partial = self._partial.pop(host, "")
            for line in handle:
                if not line.endswith("\n"):  # still being written: the next read finishes it
                    self._partial[host] = partial + line
                    return
                moment, text = parse_log_line(partial + line)
                partial = ""
                yield moment, host, text
            if partial:
                self._partial[host] = partial

        yield from heapq.merge(*(lines(h, f) for h, f in self._handles.items()), key=lambda item: item[0])

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def last_log_time(paths: JobPaths, host: str) -> float | None:
    """Time of the last line stored for a host (where a new follower picks up)."""
    path = paths.log(host)
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            tail = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    lines = [line for line in tail.split("\n") if line]
    for line in reversed(lines):
        moment, _ = parse_log_line(line)
        if moment:
            return moment
    return None


def hosts_with_logs(paths: JobPaths) -> list[str]:
    from workbench.engine.plan import host_sort_key

    return sorted((p.stem for p in paths.logs.glob("*.log")), key=host_sort_key)


def remove_job_files(paths: JobPaths) -> None:
    """Remove a job's folder, root-owned files from its containers included."""
    try:
        shutil.rmtree(paths.root)
        return
    except PermissionError:
        pass
    # Files written by root in a container; we are not root: let a container remove them.
    remove_hosts_in_container(paths)
    try:
        shutil.rmtree(paths.root)
    except PermissionError as err:
        raise WorkbenchError(f"Cannot remove {paths.root}: {err}; remove it as root (sudo rm -rf {paths.root})") from None


def remove_hosts_in_container(paths: JobPaths) -> None:
    """Remove the job's host folders from inside a container of its own image, as root there.

    Best effort: an image without `rm` (or no engine) leaves them, and the caller says so."""
    from workbench.engine.docker_client import connect

    image = (read_json(paths.describe) or {}).get("AlgorithmSpecification", {}).get("TrainingImage")
    if not image:
        return
    try:
        connect().containers.run(image, ["rm", "-rf", "/job/hosts"], entrypoint=[], remove=True,
                                 volumes={str(paths.root): {"bind": "/job", "mode": "rw"}}, network_mode="none")
    except Exception:
        pass


def fail_unstarted_job(paths: JobPaths, reason: str) -> None:
    """End a job that never got a runner (no engine, unreadable spec) as Failed."""
    record = load_record(paths)
    recorder = JobRecorder(paths, record)
    try:
        recorder(ev.JobFinished("Failed", "Failed", reason[:1024]))
    finally:
        recorder.close()
