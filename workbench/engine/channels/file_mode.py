"""File mode: each host gets its own copy of its channels before its container starts.

S3 objects are downloaded once (in parallel) into the shared data cache, and only when
the cache does not hold them yet; each host then gets its own copy. A host never shares
a file with the source, the cache or another host, so a container can never change the
user's data.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

from workbench.engine import events as ev
from workbench.engine.channels.ordering import host_share, pipe_only_settings
from workbench.engine.channels.sources import load_channel_data, outside_links_notice, require_data
from workbench.engine.extension import Extension, JobContext
from workbench.engine.layout import channel_dir, container_channel_path, write_manifest
from workbench.engine.plan import ChannelPlan
from workbench.errors import WorkbenchError
from workbench.storage.cache import ContentCache
from workbench.storage.transfer import TransferCancelled, download_objects
from workbench.storage.uri import Location


def host_objects(channel: ChannelPlan, objects: list, host: str) -> list:
    """The objects a host gets: all of them, or its shard under ShardedByS3Key (after ShuffleConfig)."""
    return host_share(channel, objects, host)


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


class FileChannels(Extension):
    """Stages every File-mode channel (S3Prefix or ManifestFile; S3 or local) into each host's tree.

    S3 objects are fetched once per job into the shared data cache (only those missing
    from it), then each host gets its own copy from there; local files are copied
    straight from their source.
    """

    def __init__(self, channels: list[ChannelPlan]) -> None:
        self.channels = channels

    def prepare(self, ctx: JobContext) -> None:
        lease = None
        try:
            for channel in self.channels:
                if ctx.cancelled.is_set():
                    return
                started = time.monotonic()
                if pipe_only_settings(channel):
                    ctx.emit(ev.Notice("warning", pipe_only_settings(channel)))
                if lease is None and (channel.source.is_s3 or channel.data_type != "S3Prefix"):
                    lease = ContentCache().lease()
                data = load_channel_data(channel, lease)
                if notice := outside_links_notice(channel, data.links):
                    ctx.emit(notice)
                objects = data.objects
                require_data(ctx, channel, objects)
                per_host = {host: host_objects(channel, objects, host) for host in channel.hosts}
                local_copy = self._fetch(ctx, channel, per_host, lease)
                for host, chosen in per_host.items():
                    dest = channel_dir(ctx.opt_ml(host), channel.name)
                    dest.mkdir(parents=True, exist_ok=True)
                    report = ProgressReporter(ctx, channel.name, host, len(chosen), sum(o.size for o in chosen))
                    download_objects([local_copy(o) for o in chosen], dest, cancel=ctx.cancelled, readable=True,
                                     on_progress=lambda p, r=report: r.set(p.files_done, p.bytes_done))
                    write_manifest(ctx.opt_ml(host), channel.name, channel.source, [o.location.uri for o in chosen])
                    ctx.emit(ev.ChannelStaged(channel.name, host, channel.mode, len(chosen),
                                              sum(o.size for o in chosen), time.monotonic() - started,
                                              channel.source.uri))
        except TransferCancelled:
            if not ctx.cancelled.is_set():
                raise
            # stopped mid-transfer: the runner sees the stop request and ends the job Stopped
        finally:
            if lease is not None:
                lease.release()

    @staticmethod
    def _fetch(ctx: JobContext, channel: ChannelPlan, per_host: dict, lease):
        """Every S3 object some host needs, in the cache; returns where to copy each object from."""
        needed = list({o.location: o for chosen in per_host.values() for o in chosen if o.location.is_s3}.values())
        if not needed:
            return lambda obj: obj
        total = ProgressReporter(ctx, channel.name, "", len(needed), sum(o.size for o in needed))
        fetched = lease.fetch(needed, cancel=ctx.cancelled, on_progress=lambda p: total.set(p.files_done, p.bytes_done))
        ctx.emit(ev.CacheUsed(channel.name, fetched.hits, fetched.hit_bytes, fetched.fetched, fetched.fetched_bytes))
        return lambda obj: replace(obj, location=Location("file", path=fetched.path(obj))) if obj.location.is_s3 else obj


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
                channel_dir(ctx.opt_ml(host), channel.name).mkdir(parents=True, exist_ok=True)
                ctx.emit(ev.ChannelStaged(channel.name, host, "File", 0, 0, 0.0, str(folder)))

    def container_options(self, ctx: JobContext, host) -> dict:
        volumes = {}
        for channel in self.channels:
            if host.name in channel.hosts:
                mode = "ro" if (channel.file_system or {}).get("FileSystemAccessMode") == "ro" else "rw"
                volumes[str(self._folder(channel))] = {"bind": container_channel_path(channel.name), "mode": mode}
        return {"volumes": volumes} if volumes else {}
