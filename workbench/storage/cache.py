"""The shared content cache: S3 objects fetched once, kept in the state directory, reused by every job.

    <state>/cache/data/
        objects/ab/<sha256>   one entry per (bucket, key, ETag, size): the object's bytes, read-only
        leases/<pid>-<ticks>-<id>/<sha256>   a running job's hard links to the entries it uses
        lock                  held (flock) while entries are evicted or cleared

An entry's name is a hash of what identifies one version of an object, so a changed
object (new ETag) is a new entry and a stale one simply ages out. Least recently used
entries go first when the cache is over its limit (an entry's mtime is its last use).

A job hard-links the entries it stages into its lease folder (a FastFile view links them
too), and eviction only removes entries nothing else links to: an entry in use is never
evicted, and even one removed in a race stays readable through the link. A missing
object is downloaded into the lease (temp name, rename) and only then linked into place
as the entry, so it is held from the moment it exists, and jobs fetching the same object
at once each end with one whole file. Pipe feeders pin nothing: they read entries
through open files, which stay whole even when evicted meanwhile, and what they stream
from S3 becomes an entry once read to its end.

Local files are never cached: they are already on this machine.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Callable

from workbench.errors import StorageError
from workbench.paths import cache_dir
from workbench.procfs import process_alive, process_stat
from workbench.storage.localfiles import is_temp_name, remove_quietly, temp_path_for
from workbench.storage.objects import StoredObject, stat_object
from workbench.storage.transfer import BIG_OBJECT, TransferProgress, download_objects, open_object_stream

LIMIT_ENV = "SM_WORKBENCH_CACHE_SIZE"
DEFAULT_LIMIT = 20 * 1024**3
STALE_TEMP_SECONDS = 24 * 3600  # temp files older than this are leftovers of a crash

_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2, "MIB": 1024**2,
          "G": 1024**3, "GB": 1024**3, "GIB": 1024**3, "T": 1024**4, "TB": 1024**4, "TIB": 1024**4}


def parse_size(text: str) -> int:
    """Bytes from `20G`, `512MB`, `1.5GiB` or a plain number (units are powers of 1024)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match.group(2).upper() if match else None
    if not match or unit not in _UNITS:
        raise StorageError(f"{LIMIT_ENV}={text!r} is not a size; write it like 20G, 512M or 1.5GiB")
    return int(float(match.group(1)) * _UNITS[unit])


def configured_limit() -> int:
    """The machine-wide size limit: $SM_WORKBENCH_CACHE_SIZE, else 20 GiB."""
    value = os.environ.get(LIMIT_ENV)
    return parse_size(value) if value else DEFAULT_LIMIT


def cacheable(obj: StoredObject) -> bool:
    """S3 objects whose version we can name (an ETag); local files are read in place."""
    return obj.location.is_s3 and bool(obj.etag)


def cache_key(obj: StoredObject) -> str:
    """What names one version of an object: bucket, key, ETag and size (path and size+mtime locally)."""
    where = obj.location
    ident = f"s3\n{where.bucket}\n{where.key}" if where.is_s3 else f"file\n{where.path}"
    return hashlib.sha256(f"{ident}\n{obj.etag}\n{obj.size}".encode()).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    root: Path
    limit: int
    entries: int
    bytes: int
    in_use_entries: int  # linked by a running job (a lease or a FastFile view)
    in_use_bytes: int
    leases: int  # running jobs holding entries


@dataclass(frozen=True)
class CacheCleanup:
    removed: int
    removed_bytes: int
    kept: int  # in use, so kept
    kept_bytes: int


@dataclass
class FetchResult:
    """Where a job reads each object it fetched (its lease's links), and what the cache saved."""

    paths: dict[str, Path] = field(default_factory=dict)  # cache_key -> readable local file
    hits: int = 0
    hit_bytes: int = 0
    fetched: int = 0
    fetched_bytes: int = 0

    def path(self, obj: StoredObject) -> Path:
        return self.paths[cache_key(obj)]


@dataclass(frozen=True)
class _Entry:
    path: Path
    size: int
    used: float
    links: int


class ContentCache:
    """The cache of one state directory (thread- and process-safe)."""

    def __init__(self, root: Path | None = None, limit: int | None = None) -> None:
        if root is None:
            root = cache_dir() / "data"
        self.root = Path(root)
        self.limit = configured_limit() if limit is None else limit
        self.objects = self.root / "objects"
        self.leases = self.root / "leases"
        for folder in (self.objects, self.leases):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StorageError(f"Cannot create the data cache at {folder}: {err.strerror or err}; "
                                   "check the state directory's permissions (SM_WORKBENCH_HOME)") from None

    def entry_path(self, obj: StoredObject) -> Path:
        key = cache_key(obj)
        return self.objects / key[:2] / key

    def lease(self) -> "Lease":
        return Lease(self)

    def open_entry(self, obj: StoredObject) -> BinaryIO | None:
        """The cached bytes of `obj`, open; None when not cached. Nothing is pinned: an open
        file stays whole even if its entry is evicted while it is read."""
        if not cacheable(obj):
            return None
        entry = self.entry_path(obj)
        try:
            handle = open(entry, "rb")
        except FileNotFoundError:
            return None
        _touch(entry)
        return handle

    def stream(self, obj: StoredObject) -> BinaryIO:
        """`obj` streamed from S3, becoming a cache entry on the way when it is read to its end
        (and fits the limit at all); nothing is pinned, so data bigger than the cache streams through."""
        body = open_object_stream(obj)
        if not cacheable(obj) or obj.size > self.limit:
            return body
        return _CachingStream(body, obj, self)

    def _install_file(self, obj: StoredObject, tmp: Path) -> None:
        """A complete temp file in the objects folder becomes the entry for `obj`."""
        _make_read_only(tmp)
        os.replace(tmp, self.entry_path(obj))

    # --- eviction, statistics, clearing ------------------------------------------------

    def _locked(self):
        @contextlib.contextmanager
        def held():
            with open(self.root / "lock", "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

        return held()

    def _drop_stale_leases(self) -> int:
        """Lease folders of processes that died without releasing them; returns those alive."""
        alive = 0
        for folder in self.leases.iterdir() if self.leases.is_dir() else ():
            pid, _, rest = folder.name.partition("-")
            ticks = rest.partition("-")[0]
            if pid.isdigit() and ticks.isdigit() and process_alive(int(pid), int(ticks)):
                alive += 1
                continue
            shutil.rmtree(folder, ignore_errors=True)
        return alive

    def _scan(self) -> list[_Entry]:
        found: list[_Entry] = []
        now = time.time()
        for shard in os.scandir(self.objects):
            if not shard.is_dir(follow_symlinks=False):
                continue
            for item in os.scandir(shard.path):
                try:
                    info = item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if is_temp_name(item.name):
                    if now - info.st_mtime > STALE_TEMP_SECONDS:
                        remove_quietly(Path(item.path))
                    continue
                found.append(_Entry(Path(item.path), info.st_size, info.st_mtime, info.st_nlink))
        return found

    def evict(self, limit: int | None = None) -> CacheCleanup:
        """Remove least recently used entries no job uses until the cache fits `limit`."""
        limit = self.limit if limit is None else limit
        removed = removed_bytes = 0
        with self._locked():
            self._drop_stale_leases()
            entries = self._scan()
            total = sum(e.size for e in entries)
            for entry in sorted(entries, key=lambda e: e.used):
                if total <= limit:
                    break
                if entry.links > 1:
                    continue  # a running job links it
                remove_quietly(entry.path)
                total -= entry.size
                removed += 1
                removed_bytes += entry.size
            kept = [e for e in entries if e.links > 1]
        return CacheCleanup(removed, removed_bytes, len(kept), sum(e.size for e in kept))

    def clear(self) -> CacheCleanup:
        """Remove every entry no running job uses."""
        return self.evict(limit=-1)

    def stats(self) -> CacheStats:
        with self._locked():
            leases = self._drop_stale_leases()
            entries = self._scan()
        used = [e for e in entries if e.links > 1]
        return CacheStats(self.root, self.limit, len(entries), sum(e.size for e in entries), len(used),
                          sum(e.size for e in used), leases)


class Lease:
    """One job's hold on the entries it uses, from fetching them to `release()`.

    Everything a job reads from the cache it reads through its lease's links, so the
    data stays whole whatever other jobs evict meanwhile.
    """

    def __init__(self, cache: ContentCache) -> None:
        self.cache = cache
        self.folder = cache.leases / f"{os.getpid()}-{process_stat(os.getpid()).start_ticks}-{uuid.uuid4().hex[:8]}"
        self.folder.mkdir(parents=True)
        self._lock = threading.Lock()
        self._held: dict[str, Path] = {}

    def _hold(self, obj: StoredObject) -> Path | None:
        """Link the object's entry into the lease; None when the cache does not have it."""
        key = cache_key(obj)
        with self._lock:
            if key in self._held:
                return self._held[key]
        entry = self.cache.entry_path(obj)
        link = self.folder / key
        try:
            os.link(entry, link)
        except FileExistsError:
            pass
        except FileNotFoundError:
            return None
        except OSError as err:  # no hard links here (another file system, a limit): a copy will do
            if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise StorageError(f"Cannot use the data cache entry {entry}: {err.strerror or err}") from None
            try:
                shutil.copyfile(entry, link)
            except FileNotFoundError:
                return None
        _touch(entry)
        with self._lock:
            self._held[key] = link
        return link

    def local_path(self, obj: StoredObject) -> Path | None:
        """A local file holding the object without a download: a cached entry or the local file itself."""
        if not obj.location.is_s3:
            return obj.location.path
        return self._hold(obj) if cacheable(obj) else None

    def fetch(
        self,
        objects: list[StoredObject],
        *,
        workers: int = 16,
        cancel: threading.Event | None = None,
        on_progress: Callable[..., None] | None = None,
    ) -> FetchResult:
        """Every S3 object in the cache and held by this lease; downloads only what is missing.

        `on_progress` gets TransferProgress snapshots counting cache hits as done.
        """
        result = FetchResult()
        wanted = {cache_key(o): o for o in objects if o.location.is_s3}
        missing: list[StoredObject] = []
        for key, obj in wanted.items():
            held = self._hold(obj) if cacheable(obj) else None
            if held is None:
                missing.append(obj)
                continue
            result.paths[key] = held
            result.hits += 1
            result.hit_bytes += obj.size
        if not missing:
            return result
        total_files, total_bytes = len(wanted), sum(o.size for o in wanted.values())

        def report(p) -> None:
            if on_progress is not None:
                on_progress(TransferProgress(result.hits + p.files_done, total_files,
                                             result.hit_bytes + p.bytes_done, total_bytes))

        report(TransferProgress())
        # Into the lease first: an entry is linked by this job from the moment it exists.
        download_objects([replace(o, rel=cache_key(o)) for o in missing], self.folder, workers=workers,
                         cancel=cancel, on_progress=report)
        for obj in missing:
            key = cache_key(obj)
            path = self.folder / key
            with self._lock:
                self._held[key] = path
            result.paths[key] = path
            if cacheable(obj):
                self._check_version(obj, path)
                self._install(obj, path)
        result.fetched = len(missing)
        result.fetched_bytes = sum(o.size for o in missing)
        self.cache.evict()
        return result

    def _install(self, obj: StoredObject, path: Path) -> None:
        """Make a file this lease holds the cache's entry for `obj` (a link, renamed into place)."""
        _make_read_only(path)
        entry = self.cache.entry_path(obj)
        try:
            entry.parent.mkdir(exist_ok=True)
            tmp = temp_path_for(entry)
            try:
                os.link(path, tmp)
            except OSError as err:
                if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                shutil.copyfile(path, tmp)
                _make_read_only(tmp)
            os.replace(tmp, entry)
        except OSError:
            pass  # not cached this time; the job has its copy all the same

    @staticmethod
    def _check_version(obj: StoredObject, path: Path) -> None:
        """Big objects are fetched by a managed transfer that cannot ask for the listed ETag;
        an entry must never hold another version than its name says."""
        if obj.size < BIG_OBJECT:
            return  # fetched with If-Match on the listed ETag
        if stat_object(obj.location).etag != obj.etag:
            remove_quietly(path)
            raise StorageError(f"{obj.location.uri} changed while it was being fetched; run again")

    def open(self, obj: StoredObject) -> BinaryIO:
        """A stream over the object: from the cache or a local file, else from S3 while it is
        being cached (the entry appears once the stream was read to its end)."""
        path = self.local_path(obj)
        if path is None:
            return self.cache.stream(obj)
        try:
            return open(path, "rb")
        except OSError as err:
            raise StorageError(f"Cannot read {obj.location.uri}: {err.strerror or err}; check that it exists "
                               "and is readable") from None

    def release(self) -> None:
        """Let go of every entry (the job ended), then bring the cache back under its limit."""
        shutil.rmtree(self.folder, ignore_errors=True)
        with self._lock:
            self._held.clear()
        try:
            self.cache.evict()
        except OSError:
            pass  # the next job evicts


def _touch(entry: Path) -> None:
    """Mark an entry used now: its mtime orders least-recently-used eviction."""
    try:
        os.utime(entry)
    except OSError:
        pass


def _make_read_only(path: Path) -> None:
    try:
        os.chmod(path, 0o444)
    except OSError:
        pass


class _CachingStream:
    """An S3 body read through once, written to a cache temp file on the way (Pipe mode).

    Read to its end with the expected size, it becomes a cache entry; closed early or
    broken, the partial copy is dropped.
    """

    def __init__(self, body, obj: StoredObject, cache: ContentCache) -> None:
        self.body = body
        self.obj = obj
        self.cache = cache
        entry = cache.entry_path(obj)
        entry.parent.mkdir(exist_ok=True)
        self.tmp = temp_path_for(entry)
        self.out = open(self.tmp, "wb")
        self.seen = 0
        self.done = False

    def read(self, size: int = -1) -> bytes:
        data = self.body.read(size) if size is not None and size >= 0 else self.body.read()
        if self.out is not None:
            if data:
                self.out.write(data)
                self.seen += len(data)
            if not data or size is None or size < 0:
                self._finish()
        return data

    def _finish(self) -> None:
        out, self.out = self.out, None
        out.close()
        if self.seen == self.obj.size:
            try:
                self.cache._install_file(self.obj, self.tmp)
                return
            except OSError:
                pass
        remove_quietly(self.tmp)

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
            remove_quietly(self.tmp)
        self.body.close()

    def __enter__(self) -> "_CachingStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
