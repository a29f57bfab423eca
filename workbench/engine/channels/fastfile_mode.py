"""FastFile mode: a read-only view of the channel at /opt/ml/input/data/<channel>.

A local folder is mounted read-only as it is: nothing is copied, so it is instant
whatever its size, and a write from the container fails (EROFS). S3 objects come from
the shared data cache: missing ones are fetched before the container starts, then a
folder of hard links to the cache entries (no copy either) is mounted read-only. A
host's share of a sharded channel, a single local file, or a folder whose symlinks lead
outside it (left out, as in every mode) or would not resolve at the mount point, is
such a folder of links too.

SageMaker instead streams FastFile reads from S3 on demand through a FUSE mount. Doing
that here would need FUSE in the container (privileges, which containers never get) or
on this machine, so the view is complete before training starts: the first run of a
big S3 channel waits for its download, later runs find it in the cache.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from workbench.engine import events as ev
from workbench.engine.channels.file_mode import ProgressReporter
from workbench.engine.channels.ordering import host_share, pipe_only_settings
from workbench.engine.channels.sources import outside_links_notice, require_data
from workbench.engine.extension import Extension, JobContext
from workbench.engine.layout import channel_dir, container_channel_path
from workbench.engine.plan import ChannelPlan
from workbench.errors import StorageError
from workbench.storage.cache import ContentCache
from workbench.storage.localfiles import SafeFolder, copy_file_atomic
from workbench.storage.objects import FolderLinks, StoredObject, list_objects, safe_relpath
from workbench.storage.transfer import TransferCancelled
from workbench.storage.uri import Location


def fastfile_objects(location: Location) -> list[StoredObject]:
    """The objects of the folder an S3Uri names, with paths relative to that folder.

    FastFile shows one folder: `s3://b/train` means `train/`, and is refused when the raw
    prefix would also match `train-01/...` (a trailing slash is recommended).
    """
    objects = list_objects(location)
    key = location.key
    if not key or key.endswith("/"):
        return objects
    folder = key + "/"
    inside = [o for o in objects if o.location.key.startswith(folder)]
    exact = [o for o in objects if o.location.key == key]
    others = [o for o in objects if o not in inside and o not in exact]
    if others:
        raise StorageError(
            f"FastFile channel {location.uri} also matches {others[0].location.uri}: FastFile shows one folder, "
            f"not a raw prefix; write {location.uri}/ (with the trailing slash)"
        )
    if exact and inside:
        raise StorageError(f"FastFile channel {location.uri} names both an object and a folder; "
                           f"write {location.uri}/ for the folder")
    if exact:
        return exact
    return [replace(o, rel=safe_relpath(o.location.key[len(folder):], o.location.uri)) for o in inside]


def link_view(view: Path, files: list[tuple[str, Path]]) -> int:
    """A folder of hard links (`rel` -> the file); copies where links are impossible. Returns copies."""
    shutil.rmtree(view, ignore_errors=True)
    folder = SafeFolder(view, 0o755)  # the container's user may not be us
    copies = 0
    for rel, source in files:
        target = folder.path_for(rel)
        try:
            os.link(os.path.realpath(source), target)  # link() takes a symlink as it is: link its file
        except OSError as err:
            if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise StorageError(f"Cannot build the FastFile view {view}: {err.strerror or err}") from None
            copy_file_atomic(source, target, 0o644)
            copies += 1
    return copies


class FastFileChannels(Extension):
    """Every FastFile channel: a read-only mount per host, of the source folder or a view."""

    def __init__(self, channels: list[ChannelPlan]) -> None:
        self.channels = channels
        self.mounts: dict[tuple[str, str], Path] = {}  # (channel, host) -> folder mounted read-only
        self._shown: dict[tuple[str, str], list[StoredObject]] = {}  # what each host sees
        self.lease = None

    def _views(self, ctx: JobContext) -> Path:
        return ctx.paths.root / "fastfile"

    def prepare(self, ctx: JobContext) -> None:
        shutil.rmtree(self._views(ctx), ignore_errors=True)  # a new attempt builds them again
        self.mounts.clear()
        self._shown.clear()
        for channel in self.channels:
            if ctx.cancelled.is_set():
                return
            started = time.monotonic()
            assert channel.source is not None
            if pipe_only_settings(channel):
                ctx.emit(ev.Notice("warning", pipe_only_settings(channel)))
            if channel.source.is_s3:
                try:
                    self._from_s3(ctx, channel)
                except TransferCancelled:
                    if ctx.cancelled.is_set():
                        return  # stopped mid-transfer: the runner ends the job Stopped
                    raise
            else:
                self._from_local(ctx, channel)
            for host in channel.hosts:
                channel_dir(ctx.opt_ml(host), channel.name).mkdir(parents=True, exist_ok=True)
                shown = self._shown[(channel.name, host)]
                ctx.emit(ev.ChannelStaged(channel.name, host, "FastFile", len(shown), sum(o.size for o in shown),
                                          time.monotonic() - started, channel.source.uri))

    def _from_local(self, ctx: JobContext, channel: ChannelPlan) -> None:
        assert channel.source is not None and channel.source.path is not None
        source = channel.source.path
        links = FolderLinks()
        objects = list_objects(channel.source, links)  # also says clearly when the path is missing
        if notice := outside_links_notice(channel, links):
            ctx.emit(notice)
        require_data(ctx, channel, objects)
        # As it is only when every link in it resolves the same in the container; else a
        # view without the links that lead out (as File and Pipe leave them out).
        whole = (source.is_dir() and (channel.distribution != "ShardedByS3Key" or len(channel.hosts) == 1)
                 and not links.outside and links.portable)
        for host in channel.hosts:
            share = host_share(channel, objects, host)
            self._shown[(channel.name, host)] = share
            if whole:
                self.mounts[(channel.name, host)] = source  # mounted as it is: no copy at all
                continue
            view = self._views(ctx) / channel.name / host
            copies = link_view(view, [(o.rel, o.location.path) for o in share])
            self._note_copies(ctx, channel, copies, source)
            self.mounts[(channel.name, host)] = view

    def _from_s3(self, ctx: JobContext, channel: ChannelPlan) -> None:
        assert channel.source is not None
        objects = fastfile_objects(channel.source)
        require_data(ctx, channel, objects)
        shares = {host: host_share(channel, objects, host) for host in channel.hosts}
        needed = list({o.location: o for share in shares.values() for o in share}.values())
        if self.lease is None:
            self.lease = ContentCache().lease()
        total = ProgressReporter(ctx, channel.name, "", len(needed), sum(o.size for o in needed))
        fetched = self.lease.fetch(needed, cancel=ctx.cancelled,
                                   on_progress=lambda p: total.set(p.files_done, p.bytes_done))
        ctx.emit(ev.CacheUsed(channel.name, fetched.hits, fetched.hit_bytes, fetched.fetched, fetched.fetched_bytes))
        shared = channel.distribution != "ShardedByS3Key" or len(channel.hosts) == 1
        for host, share in shares.items():
            self._shown[(channel.name, host)] = share
            view = self._views(ctx) / channel.name / ("all" if shared else host)
            if not shared or host == channel.hosts[0]:  # read-only, so hosts may share one view
                copies = link_view(view, [(o.rel, fetched.path(o)) for o in share])
                self._note_copies(ctx, channel, copies, self.lease.cache.root)
            self.mounts[(channel.name, host)] = view

    @staticmethod
    def _note_copies(ctx: JobContext, channel: ChannelPlan, copies: int, source: Path) -> None:
        if copies:
            ctx.emit(ev.Notice("warning", f"FastFile channel {channel.name}: {copies} files were copied, not "
                                          f"linked: {source} and the job folder are on different file systems"))

    def container_options(self, ctx: JobContext, host) -> dict:
        """Bind mounts, not `volumes`: two channels may show the same local folder."""
        from docker.types import Mount  # deferred: the Docker SDK (~0.25 s to import)

        mounts = [Mount(container_channel_path(channel), str(folder), type="bind", read_only=True)
                  for (channel, name), folder in sorted(self.mounts.items()) if name == host.name]
        return {"mounts": mounts} if mounts else {}

    def close(self, ctx: JobContext) -> None:
        shutil.rmtree(self._views(ctx), ignore_errors=True)  # its links keep cache entries in use
        if self.lease is not None:
            self.lease.release()
            self.lease = None
