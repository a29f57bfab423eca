"""Pipe mode: each host reads a channel from FIFOs `/opt/ml/input/data/<channel>_<epoch>`.

The FIFOs are made on this machine inside the host's /opt/ml tree (mounted into the
container). One feeder thread per (host, channel) opens `<channel>_0` for writing, which
waits for the reader, streams the host's share of the channel into it and closes it (EOF).
Once the reader has closed it too (at EOF, or early: the feeder sees EPIPE), the FIFO is
removed and `<channel>_1` appears, and so on for as many epochs as the reader opens. As
on SageMaker, a reader must wait for the next FIFO to appear.

Feeders live in the process running the job: a new process cannot resume them, so a
job with Pipe channels cannot be adopted. At the job's end every feeder is stopped,
also one whose reader never opened its FIFO (a blocked open is released by opening the
FIFO for reading ourselves).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
import time

from workbench.engine import events as ev
from workbench.engine.channels.ordering import host_share
from workbench.engine.channels.pipe_content import EpochCounts, FileRange, PipeContent
from workbench.engine.channels.sources import ChannelData, load_channel_data, outside_links_notice, require_data
from workbench.engine.extension import Extension, JobContext
from workbench.engine.layout import data_dir
from workbench.engine.plan import ChannelPlan
from workbench.errors import WorkbenchError
from workbench.storage.cache import ContentCache

PIPE_BUFFER = 1024 * 1024  # bigger than the default 64 KiB: fewer wake-ups per GiB
SPLICE_CHUNK = 1024 * 1024
STOP_TIMEOUT = 5.0


def make_fifo(folder: int, name: str) -> None:
    """A FIFO any user the image runs as may read, in the folder open as `folder`."""
    try:
        os.unlink(name, dir_fd=folder)  # a leftover of an earlier attempt
    except FileNotFoundError:
        pass
    os.mkfifo(name, 0o600, dir_fd=folder)
    fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW, dir_fd=folder)
    try:
        os.fchmod(fd, 0o666)  # mkfifo applies the umask; fchmod cannot be misled by a symlink
    finally:
        os.close(fd)


def _grow_pipe(fd: int) -> None:
    size = PIPE_BUFFER
    while size >= 65536:
        try:
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
            return
        except OSError:
            size //= 2


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def _splice_all(fd: int, piece: FileRange) -> int:
    """Move a file range into the pipe in the kernel (read/write where splice is not possible)."""
    offset, left = piece.offset, piece.length
    use_splice = hasattr(os, "splice")
    while left:
        if use_splice:
            try:
                moved = os.splice(piece.fd, fd, min(left, SPLICE_CHUNK), offset_src=offset)
            except OSError as err:
                if err.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    raise
                use_splice = False
                continue
        else:
            data = os.pread(piece.fd, min(left, SPLICE_CHUNK), offset)
            moved = _write_all(fd, data) if data else 0
        if moved == 0:
            raise WorkbenchError("a source file became shorter while it was read; run again")
        offset += moved
        left -= moved
    return piece.length


class PipeFeeder:
    """Feeds one channel's FIFOs on one host, epoch after epoch, until stopped.

    The host's data folder is opened once, before its container starts, and every FIFO
    is made and opened relative to it without following symlinks: a container that
    swaps the folder or a FIFO for a symlink cannot make us write outside it.
    """

    def __init__(self, ctx: JobContext, data: ChannelData, content: PipeContent, host: str) -> None:
        self.ctx = ctx
        self.data = data
        self.channel = data.channel
        self.content = content
        self.host = host
        self.folder_path = data_dir(ctx.opt_ml(host))
        self.folder = -1
        self.current = f"{self.channel.name}_0"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pipe-{host}-{self.channel.name}", daemon=True)

    def start(self) -> None:
        self.folder = os.open(self.folder_path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        make_fifo(self.folder, self.current)  # before the container starts: its reader may open it at once
        self._thread.start()

    def stop(self) -> None:
        """Stop feeding; returns once the thread has ended (or STOP_TIMEOUT passed)."""
        self._stop.set()
        deadline = time.monotonic() + STOP_TIMEOUT
        while self._thread.is_alive() and time.monotonic() < deadline:
            self._release_open(self.current)
            self._thread.join(0.05)
        if not self._thread.is_alive() and self.folder >= 0:
            os.close(self.folder)
            self.folder = -1

    def _release_open(self, name: str) -> None:
        """Wake a feeder blocked opening `name` for writing: be its reader for a moment."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW, dir_fd=self.folder)
        except OSError:
            return
        os.close(fd)

    # --- the feeder thread ------------------------------------------------------------

    def _run(self) -> None:
        epoch = 0
        try:
            while not self._stop.is_set():
                name = f"{self.channel.name}_{epoch}"
                if epoch:
                    make_fifo(self.folder, name)
                self.current = name
                fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW, dir_fd=self.folder)  # waits for the reader
                if self._stop.is_set():
                    os.close(fd)
                    break
                try:
                    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                        raise WorkbenchError(f"/opt/ml/input/data/{name} was replaced by something other than "
                                             "the FIFO; do not write into /opt/ml/input/data")
                    _grow_pipe(fd)
                    started = time.monotonic()
                    counts = EpochCounts()
                    written, closed_early = 0, False
                    try:
                        items = host_share(self.channel, self.data.items, self.host, epoch)
                        for piece in self.content.pieces(items, counts):
                            written += _write_all(fd, piece) if isinstance(piece, bytes) else _splice_all(fd, piece)
                            if self._stop.is_set():
                                break
                    except BrokenPipeError:
                        closed_early = True
                except Exception as err:
                    if not self._stop.is_set():  # end the reader while the FIFO is open: it must not see EOF
                        self._fail(err)
                    return
                finally:
                    os.close(fd)
                if not closed_early:
                    self._wait_until_reader_closes(name)
                self.ctx.emit(ev.PipeEpochFed(self.channel.name, self.host, epoch, counts.records, written,
                                              time.monotonic() - started, closed_early, counts.fetched))
                if counts.fetched:
                    self.content.cache.evict()  # what this epoch cached may have gone over the limit
                self._unlink(name)
                epoch += 1
        except Exception as err:  # a data error mid-stream: the job fails, as on SageMaker
            if not self._stop.is_set():
                self._fail(err)
        finally:
            self._unlink(self.current)

    def _wait_until_reader_closes(self, name: str) -> None:
        """After EOF: the next epoch's FIFO may only appear once the reader closed this one.

        A writer open that does not block succeeds only while a reader has it open.
        """
        pause = 0.001
        while not self._stop.is_set():
            try:
                probe = os.open(name, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW, dir_fd=self.folder)
            except OSError as err:
                if err.errno in (errno.ENXIO, errno.ENOENT):
                    return  # no reader any more
                raise
            os.close(probe)
            self._stop.wait(pause)
            pause = min(pause * 2, 0.05)

    def _unlink(self, name: str) -> None:
        try:
            if stat.S_ISFIFO(os.stat(name, dir_fd=self.folder, follow_symlinks=False).st_mode):
                os.unlink(name, dir_fd=self.folder)
        except OSError:
            pass

    def _fail(self, err: Exception) -> None:
        reason = (f"ClientError: Pipe channel {self.channel.name!r} on {self.host}: "
                  f"{err if isinstance(err, WorkbenchError) else f'{type(err).__name__}: {err}'}")
        self.ctx.emit(ev.Notice("error", reason, self.host))
        try:  # the FailureReason, unless the algorithm wrote one; never through a symlink
            folder = os.open(self.ctx.opt_ml(self.host) / "output", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                fd = os.open("failure", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
                with os.fdopen(fd, "w") as handle:
                    handle.write(reason + "\n")
            finally:
                os.close(folder)
        except OSError:
            pass
        docker = self.ctx.docker
        if docker is not None:  # the platform ends a host whose data cannot be delivered
            try:
                container = docker.client.containers.get(docker.container_name(self.host, "training"))
                container.kill()
                container.wait(timeout=10)
            except Exception:
                pass  # it has exited already


class PipeChannels(Extension):
    """Every Pipe channel: listed (or its manifest read) at Downloading, fed while training."""

    adoptable = False

    def __init__(self, channels: list[ChannelPlan]) -> None:
        self.channels = channels
        self.data: dict[str, ChannelData] = {}
        self.content: dict[str, PipeContent] = {}
        self.feeders: list[PipeFeeder] = []

    def prepare(self, ctx: JobContext) -> None:
        self._stop_feeders()  # a new attempt starts from epoch 0 on fresh host trees
        cache = ContentCache()
        lease = cache.lease()  # only while manifests are read: feeders pin nothing
        try:
            for channel in self.channels:
                if ctx.cancelled.is_set():
                    return
                self._prepare_channel(ctx, channel, cache, lease)
        finally:
            lease.release()

    def _prepare_channel(self, ctx: JobContext, channel: ChannelPlan, cache, lease) -> None:
        """List the channel (or read its manifest): errors show before training starts."""
        started = time.monotonic()
        data = load_channel_data(channel, lease)
        if notice := outside_links_notice(channel, data.links):
            ctx.emit(notice)
        require_data(ctx, channel, data.items)
        self.data[channel.name] = data
        self.content[channel.name] = PipeContent(channel, cache)
        for host in channel.hosts:  # nothing is staged: files count what one epoch will send
            share = host_share(channel, data.items, host, 0)
            ctx.emit(ev.ChannelStaged(channel.name, host, "Pipe", len(share), 0,
                                      time.monotonic() - started, channel.source.uri))

    def before_start(self, ctx: JobContext, host) -> None:
        for channel in self.channels:
            if host.name in channel.hosts and channel.name in self.data:
                feeder = PipeFeeder(ctx, self.data[channel.name], self.content[channel.name], host.name)
                feeder.start()
                self.feeders.append(feeder)

    def host_exited(self, ctx: JobContext, host: str) -> None:
        self._stop_feeders(host)

    def stopped(self, ctx: JobContext) -> None:
        self._stop_feeders()

    def close(self, ctx: JobContext) -> None:
        self._stop_feeders()

    def _stop_feeders(self, host: str | None = None) -> None:
        chosen = [f for f in self.feeders if host is None or f.host == host]
        threads = [threading.Thread(target=f.stop) for f in chosen]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.feeders = [f for f in self.feeders if f not in chosen]
