"""File mode: each host gets its own copy of its channels before its container starts.

S3 objects are downloaded once per job (in parallel) and then copied to each host that
gets them; a host never shares a file with the source or with another host, so a
container can never change the user's data.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from workbench.engine import events as ev
from workbench.engine.extension import Extension, JobContext
from workbench.engine.plan import ChannelPlan, shard
from workbench.errors import WorkbenchError


def host_objects(channel: ChannelPlan, objects: list, host: str) -> list:
    """The objects a host gets: all of them, or its shard under ShardedByS3Key."""
    if channel.distribution == "ShardedByS3Key":
        return shard(objects, channel.hosts.index(host), len(channel.hosts))
    return list(objects)


class ProgressReporter:
    """Thread-safe StagingProgress events, at most every 0.2 s per (channel, host)."""

    def __init__(self, ctx: JobContext, channel: str, host: str, files_total: int, bytes_total: int) -> None:
        self.ctx, self.channel, self.host = ctx, channel, host
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files = self.bytes = 0
        self._last = 0.0
        self._lock = threading.Lock()

    def add(self, files: int, size: int) -> None:
        with self._lock:
            self.files += files
            self.bytes += size
            now = time.monotonic()
            if now - self._last < 0.2 and self.files < self.files_total:
                return
            self._last = now
            event = ev.StagingProgress(self.channel, self.host, self.files, self.files_total, self.bytes, self.bytes_total)
        self.ctx.emit(event)

    def set(self, files: int, size: int) -> None:
        self.add(files - self.files, size - self.bytes)


def copy_tree_subset(objects: list, source_root: Path, dest: Path, report: ProgressReporter,
                     cancelled: threading.Event) -> None:
    """Copy some downloaded files to a host that shares them with later hosts."""
    from workbench.storage.localfiles import copy_file_atomic

    for obj in objects:
        if cancelled.is_set():
            raise WorkbenchError("staging cancelled: the job was stopped")
        target = dest / obj.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_file_atomic(source_root / obj.rel, target)
        report.add(1, obj.size)


def _move_into(objects: list, source_root: Path, dest: Path, report: ProgressReporter) -> None:
    """Hand a downloaded file to the last host that needs it (no copy)."""
    for obj in objects:
        target = dest / obj.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source_root / obj.rel, target)
        report.add(1, obj.size)


class FileChannels(Extension):
    """Stages every File-mode S3Prefix channel (S3 or local) into each host's tree."""

    def __init__(self, channels: list[ChannelPlan]) -> None:
        self.channels = channels

    def prepare(self, ctx: JobContext) -> None:
        from workbench.storage.objects import list_objects
        from workbench.storage.transfer import download_objects

        for channel in self.channels:
            if ctx.cancelled.is_set():
                return
            started = time.monotonic()
            objects = list_objects(channel.source)
            if channel.source.is_s3:
                self._from_s3(ctx, channel, objects, started)
                continue
            for host in channel.hosts:  # local sources: a fresh copy straight into each host
                chosen = host_objects(channel, objects, host)
                report = ProgressReporter(ctx, channel.name, host, len(chosen), sum(o.size for o in chosen))
                dest = ctx.opt_ml(host) / "input" / "data" / channel.name
                dest.mkdir(parents=True, exist_ok=True)
                download_objects(chosen, dest, cancel=ctx.cancelled,
                                 on_progress=lambda p, r=report: r.set(p.files_done, p.bytes_done))
                ctx.emit(ev.ChannelStaged(channel.name, host, channel.mode, len(chosen),
                                          sum(o.size for o in chosen), time.monotonic() - started,
                                          channel.source.uri))

    def _from_s3(self, ctx: JobContext, channel: ChannelPlan, objects: list, started: float) -> None:
        from workbench.storage.transfer import download_objects

        per_host = {host: host_objects(channel, objects, host) for host in channel.hosts}
        needed = {o.rel: o for chosen in per_host.values() for o in chosen}
        shared = ctx.paths.root / "staging" / channel.name
        total = ProgressReporter(ctx, channel.name, "", len(needed), sum(o.size for o in needed.values()))
        download_objects(list(needed.values()), shared, cancel=ctx.cancelled,
                         on_progress=lambda p: total.set(p.files_done, p.bytes_done))
        uses: dict[str, int] = {}
        for chosen in per_host.values():
            for obj in chosen:
                uses[obj.rel] = uses.get(obj.rel, 0) + 1
        for host, chosen in per_host.items():
            dest = ctx.opt_ml(host) / "input" / "data" / channel.name
            dest.mkdir(parents=True, exist_ok=True)
            report = ProgressReporter(ctx, channel.name, host, len(chosen), sum(o.size for o in chosen))
            last_users = [o for o in chosen if uses[o.rel] == 1]
            copies = [o for o in chosen if uses[o.rel] > 1]
            copy_tree_subset(copies, shared, dest, report, ctx.cancelled)
            _move_into(last_users, shared, dest, report)
            for obj in chosen:
                uses[obj.rel] -= 1
            ctx.emit(ev.ChannelStaged(channel.name, host, channel.mode, report.files, report.bytes,
                                      time.monotonic() - started, channel.source.uri))
        shutil.rmtree(shared, ignore_errors=True)


class FileSystemChannels(Extension):
    """FileSystemDataSource channels: a local folder (Workbench.FileSystems) mounted in place."""

    def __init__(self, channels: list[ChannelPlan], file_systems: dict[str, str]) -> None:
        self.channels = channels
        self.file_systems = file_systems

    def _folder(self, channel: ChannelPlan) -> Path:
        fs = channel.file_system or {}
        root = self.file_systems.get(fs.get("FileSystemId", ""))
        if not root:
            raise WorkbenchError(
                f"Channel {channel.name!r} reads file system {fs.get('FileSystemId')!r}; map it to a local "
                f"folder with Workbench.FileSystems: {{{fs.get('FileSystemId')}: /path/to/folder}}"
            )
        folder = Path(root) / str(fs.get("DirectoryPath", "")).lstrip("/")
        if not folder.is_dir():
            raise WorkbenchError(f"Channel {channel.name!r}: {folder} is not a folder; fix Workbench.FileSystems")
        return folder

    def prepare(self, ctx: JobContext) -> None:
        for channel in self.channels:
            folder = self._folder(channel)
            for host in channel.hosts:
                (ctx.opt_ml(host) / "input" / "data" / channel.name).mkdir(parents=True, exist_ok=True)
                ctx.emit(ev.ChannelStaged(channel.name, host, "File", 0, 0, 0.0, str(folder)))

    def container_options(self, ctx: JobContext, host) -> dict:
        volumes = {}
        for channel in self.channels:
            if host.name in channel.hosts:
                mode = "ro" if (channel.file_system or {}).get("FileSystemAccessMode") == "ro" else "rw"
                volumes[str(self._folder(channel))] = {"bind": f"/opt/ml/input/data/{channel.name}", "mode": mode}
        return {"volumes": volumes} if volumes else {}
