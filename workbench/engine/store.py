"""Jobs on disk: one folder per job under the state directory.

    <state>/jobs/<name>/
        spec.yaml        the resolved spec the job ran with
        describe.json    DescribeTrainingJob-shaped record (atomic writes); an endpoint's is
                         DescribeEndpoint-, a transform job's DescribeTransformJob-shaped
        events.jsonl     every event but log lines, one JSON object per line
        logs/<host>.log  each host's output, one `<ISO time> <text>` per line
        owner.json       the process running the job (pid, start ticks)
        control/         stop / interrupt / kill requests from other processes
        hosts/<host>/    each host's /opt/ml tree (and checkpoint folder)
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from workbench.engine import events as ev
from workbench.engine.docker_client import connect
from workbench.engine.logs import LogBoundary, iso_micro
from workbench.engine.plan import host_sort_key
from workbench.engine.record import apply_event, epoch, name_field
from workbench.errors import JobNotFound, NameClash, RecordDamaged, WorkbenchError
from workbench.fileio import read_json, write_json_atomic
from workbench.paths import jobs_dir
from workbench.spec.model import request_model
from workbench.spec.validate import compiled_pattern


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
    try:
        record = read_json(paths.describe)
    except (OSError, ValueError, RecursionError) as err:
        raise RecordDamaged(damaged_message(paths, _unreadable(err))) from None
    if record is None:
        raise JobNotFound(f"No job named {paths.name!r}; `sm-workbench jobs` lists them")
    problem = record_problem(record, paths.name)
    if problem:
        raise RecordDamaged(damaged_message(paths, problem))
    return record


def damaged_message(paths: JobPaths, problem: str) -> str:
    return (f"{paths.describe} {problem}, so the job cannot be shown; restore the file, "
            f"or remove the job with `sm-workbench rm {paths.name}`")


def _unreadable(err: BaseException) -> str:
    if isinstance(err, RecursionError):
        return "is not a job record (JSON nested too deep)"
    if isinstance(err, UnicodeDecodeError):
        return "is not UTF-8 text"
    if isinstance(err, ValueError):
        return f"is not valid JSON ({err})"
    return f"cannot be read ({err.strerror or type(err).__name__})" if isinstance(err, OSError) else str(err)


_TEXT_FIELDS = ("TrainingJobStatus", "SecondaryStatus", "FailureReason", "TrainingJobArn",
                "EndpointStatus", "EndpointArn", "TransformJobStatus", "TransformJobArn",
                "HyperParameterTuningJobStatus", "HyperParameterTuningJobArn")  # --- tuning
_TIME_FIELDS = ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime",
                "TransformStartTime", "TransformEndTime", "HyperParameterTuningEndTime")  # --- tuning
_MAPPING_FIELDS = ("ResourceConfig", "StoppingCondition", "AlgorithmSpecification", "ModelArtifacts", "Workbench",
                   "TransformResources", "TransformInput", "TransformOutput")


def record_problem(record: Any, folder: str) -> str | None:
    """What makes a parsed describe.json unusable as the record of the job in `folder`
    (the fields the job list, describe and logs rely on), or None."""
    if not isinstance(record, dict):
        kind = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(record), "null")
        return f"holds a JSON {kind}, not a job record (a JSON object)"
    bench = record.get("Workbench")
    kind = bench.get("Kind") if isinstance(bench, dict) else None
    # TrainingJobName, or EndpointName / TransformJobName / HyperParameterTuningJobName for the other kinds
    key = name_field(record) if isinstance(kind, str) else "TrainingJobName"
    name = record.get(key)
    if not isinstance(name, str) or not name:
        return f"has no {key}"
    if name != folder:
        return f"names the job {name[:80]!r}, not {folder!r} as its folder does"
    for key in _TEXT_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], str):
            return f"has a {key} that is not text"
    for key in _TIME_FIELDS:
        value = record.get(key)
        try:
            if value is not None and not isinstance(value, str):
                raise ValueError(value)
            epoch(value)
        except (ValueError, OverflowError, OSError):
            return f"has a {key} that is not a time"
    for key in _MAPPING_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], dict):
            return f"has a {key} that is not a mapping"
    resources = record.get("ResourceConfig") or record.get("TransformResources") or {}
    groups = resources.get("InstanceGroups")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, dict) for g in groups)):
        return "has ResourceConfig.InstanceGroups that are not a list of groups"
    for holder in [resources, *(groups or [])]:
        count = holder.get("InstanceCount")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            return "has an InstanceCount that is not a whole number"
        for key in ("InstanceType", "InstanceGroupName"):
            if holder.get(key) is not None and not isinstance(holder[key], str):
                return f"has a {key} that is not text"
    kind = (record.get("Workbench") or {}).get("Kind")
    if kind is not None and not isinstance(kind, str):
        return "has a Workbench.Kind that is not text"
    return None


@dataclass(frozen=True)
class SkippedRecord:
    """A job folder left out of the history, and why."""

    folder: Path
    problem: str

    @property
    def message(self) -> str:
        return (f"skipped {self.folder}: describe.json {self.problem}; restore it, or remove the job "
                f"with `sm-workbench rm {self.folder.name}`")


class JobHistory:
    """Every job's record, re-reading only the describe.json files that changed.

    Records are replaced atomically (a new inode each write), so the same (inode, mtime,
    size) means the same record, once the read happened well after the write (file times
    are coarse, and a freed inode can come back: as git does, a record read within
    RACY_NS of its mtime is read again). A poll costs one stat per job instead of one JSON
    parse per job (the TUI lists jobs every second). Unchanged records come back as the
    same objects; callers must not change them.
    """

    RACY_NS = 1_000_000_000

    def __init__(self) -> None:
        self._root: Path | None = None
        self._known: dict[str, _Entry] = {}

    def read(self) -> tuple[list[dict], list[SkippedRecord]]:
        root = jobs_dir()
        if root != self._root:
            self._root, self._known = root, {}
        records: list[dict] = []
        skipped: list[SkippedRecord] = []
        known: dict[str, _Entry] = {}
        try:
            entries = list(os.scandir(root))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            path = os.path.join(entry.path, "describe.json")
            try:
                stat = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue  # not a job folder, or a job being created
            except OSError as err:
                found = _Entry((0, 0, 0), 0, None, _unreadable(err))
            else:
                key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
                cached = self._known.get(entry.name)
                if cached is not None and cached.key == key and cached.read_ns - stat.st_mtime_ns > self.RACY_NS:
                    found = cached
                else:
                    read_ns = time.time_ns()
                    found = _Entry(key, read_ns, *_read_record(path, entry.name))
            known[entry.name] = found
            if found.record is not None:
                records.append(found.record)
            else:
                skipped.append(SkippedRecord(Path(entry.path), found.problem or "is not a job record"))
        self._known = known
        records.sort(key=lambda r: r.get("CreationTime") or "", reverse=True)
        skipped.sort(key=lambda s: s.folder.name)
        return records, skipped


@dataclass(frozen=True)
class _Entry:
    key: tuple[int, int, int]  # inode, mtime_ns, size of describe.json when read
    read_ns: int
    record: dict | None
    problem: str | None


def _read_record(path: str, folder: str) -> tuple[dict | None, str | None]:
    try:
        record = read_json(path)
    except (OSError, ValueError, RecursionError) as err:
        return None, _unreadable(err)
    problem = record_problem(record, folder)
    return (None, problem) if problem else (record, None)


_history = JobHistory()


def read_history() -> tuple[list[dict], list[SkippedRecord]]:
    """Every job's record, newest first, and the job folders left out with the reason."""
    return _history.read()


class JobRecorder:
    """The store's subscriber: keeps the event log, the host logs and describe.json."""

    PROGRESS_WRITE_INTERVAL = 0.5
    # Frequent events: folded into the record at once, written to disk at most twice a second.
    FREQUENT = (ev.StagingProgress, ev.GpuSample, ev.CheckpointFileState, ev.CheckpointSummary,
                ev.TransformProgress, ev.MetricSamples, ev.MetricSample)  # --- metrics: the last ones are saved by JobFinished

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
        handle.write("".join(f"{iso_micro(t)} {text}\n" for t, text in event.lines))
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


def append_event(paths: JobPaths, event: ev.Event) -> None:
    """One event appended to a job's event log by a process that does not run the job (a
    request to an endpoint): one write on an O_APPEND descriptor, so a line is never
    interleaved with the runner's own."""
    line = (json.dumps(event.to_dict(), default=str) + "\n").encode("utf-8")
    fd = os.open(paths.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


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


class EventTail:
    """What was appended to a job's event log since the last read (whole lines only),
    for followers that replay a job and then keep up with it."""

    def __init__(self, paths: JobPaths) -> None:
        self.paths = paths
        self._handle = None
        self._partial = ""

    def read(self) -> list[ev.Event]:
        if self._handle is None:
            try:
                self._handle = open(self.paths.events, encoding="utf-8")
            except FileNotFoundError:
                return []
        lines = (self._partial + self._handle.read()).split("\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            try:
                event = ev.event_from_dict(json.loads(line)) if line else None
            except ValueError:
                continue
            if event is not None:
                out.append(event)
        return out

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def log_boundary(paths: JobPaths, host: str) -> LogBoundary | None:
    """Where a new follower picks up a host's log (see LogBoundary).

    A line the dead process left half-written is cut off the file: it is read again."""
    try:
        handle = open(paths.log(host), "rb+")
    except FileNotFoundError:
        return None
    stamp, stored = b"", 0
    with handle:
        lines = _lines_backwards(handle)
        for offset, line in lines:
            if line:  # no newline at the end
                handle.truncate(offset)
            break
        for _, line in lines:
            stamp = stamp or line[:27]
            if not line.startswith(stamp + b" "):
                break
            stored += 1
    moment, _ = parse_log_line(stamp.decode("ascii", errors="replace") + " ")
    return LogBoundary(moment, stamp.decode("ascii"), stored) if stored and moment else None


def _lines_backwards(handle, block: int = 65536) -> Iterator[tuple[int, bytes]]:
    """A file's lines from the end, as (offset, bytes without the newline); the first is
    what follows the last newline (b"" when the file ends with one)."""
    pos = handle.seek(0, os.SEEK_END)
    head = b""
    while pos > 0:
        start = max(0, pos - block)
        handle.seek(start)
        data = handle.read(pos - start) + head
        pieces = data.split(b"\n")
        offset = start + len(data)
        for piece in reversed(pieces[1:]):
            offset -= len(piece)
            yield offset, piece
            offset -= 1
        head, pos = pieces[0], start
        if len(head) > 1 << 20:  # not a log this module wrote
            return
    yield 0, head


def hosts_with_logs(paths: JobPaths) -> list[str]:
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
    try:
        record = load_record(paths)
        image = (record.get("AlgorithmSpecification") or {}).get("TrainingImage") or \
            ((record.get("Workbench") or {}).get("Model") or {}).get("Image")  # an endpoint's or a transform's
    except WorkbenchError:
        return  # a damaged record names no image to remove them with
    if not image or not isinstance(image, str):
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
