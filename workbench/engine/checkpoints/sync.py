"""Live sync: every host's copy of one synced folder to S3 while the containers run.

One mechanism for every folder SageMaker uploads during training (checkpoints,
TensorBoard output, debugger tensors, profiler output: `synced.py` says which); each
sync's events carry its name, so viewers keep one table per folder.

A watcher (watch.py) reports paths that may have changed. One loop thread owns every
file's state: it waits until a file has stopped changing (and, when /proc tells, until
no container process holds it open for writing), then hands it to a pool of workers that
take a consistent snapshot (snapshot.py) and upload it. Only the loop emits events, so a
file's states arrive in order. Periodic scans catch anything the watcher missed.
"""

from __future__ import annotations

import heapq
import itertools
import random
import stat
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench.engine import events as ev
from workbench.engine.checkpoints import snapshot
from workbench.engine.checkpoints.ledger import Ledger, Signature
from workbench.engine.checkpoints.remote import CheckpointStore
from workbench.engine.checkpoints.status import NOTICE_PREFIX, UNSYNCED
from workbench.engine.checkpoints.watch import FolderWatcher
from workbench.engine.checkpoints.writers import WriterProbe
from workbench.engine.container_files import Outside, link_target, lstat_inside, scan
from workbench.engine.plan import natural_key
from workbench.errors import StorageError

QUIET_SECONDS = 0.25  # a file must stay unchanged this long before it is uploaded
HELD_OPEN_LIMIT = 30.0  # unchanged this long while held open for writing: uploaded anyway
PROBE_INTERVAL = 0.2  # how often a file held open for writing is looked at again
PROBE_GAP = 0.1  # at most one /proc probe this often; files ready meanwhile wait for the next
SCAN_INTERVAL = 5.0  # full scans, in case the watcher missed something
POLL_INTERVAL = 0.5  # full scans when no watcher can run (inotify limits)
SUMMARY_INTERVAL = 1.0  # a summary at least this often while something is unsynced
SUMMARY_MIN_GAP = 0.5
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 5.0
WORKERS = 8
BIG_SLOTS = 2  # files over snapshot.IN_MEMORY going up at once, each sending 8 parts in parallel

Key = tuple[str, str]  # (host, rel)


@dataclass
class Tracked:
    """One file of one host's folder, as the loop sees it."""

    host: str
    rel: str
    state: str = ""  # "" until shown; then pending, uploading, synced, retrying, deleted
    sig: Signature | None = None  # the version last seen (None: not in the folder)
    dev: int = 0
    size: int = 0
    since: float = 0.0  # monotonic time `sig` was first seen
    mtime: float = 0.0  # wall time of its last write
    source: str = ""  # what is read: rel itself, or a symlink's target inside the folder
    busy: bool = False  # an upload or delete is in flight
    again: bool = False  # touched while busy
    error: str = ""
    attempts: int = 0
    retry_at: float = 0.0
    lag: float | None = None
    written: bool = False  # changed by its host (not just restored)
    due: float | None = None


@dataclass(frozen=True)
class Outcome:
    key: Key
    action: str  # put or delete
    sig: Signature | None
    ok: bool
    changed: bool = False  # the file changed while it was read: look again
    error: str = ""
    at: float = 0.0  # wall time it finished


class CheckpointSync:
    def __init__(self, store: CheckpointStore, folders: dict[str, Path], ledgers: dict[str, Ledger],
                 emit: Callable[[ev.Event], None], *, probe: WriterProbe | None = None,
                 final_hosts: set[str] | frozenset[str] = frozenset(), quiet: float = QUIET_SECONDS,
                 mount: str | None = None, sync: str = "checkpoints", prefix: str = NOTICE_PREFIX,
                 what: str = "checkpoint folder", kept_in: str = "hosts/<host>/checkpoints") -> None:
        self.store = store
        self.sync = sync  # which synced folder: every event says so
        self.prefix = prefix  # every notice starts so
        self.what = what  # how notices name one host's folder
        self.kept_in = kept_in  # where unsynced files stay, in the job's folder
        self.mount = mount  # where the folders are mounted in the containers (absolute symlinks)
        self.folders = dict(folders)
        self.ledgers = ledgers
        self.emit = emit
        self.probe = probe
        self.quiet = quiet
        self._cond = threading.Condition()
        # inputs, guarded by _cond
        self._touched: set[Key] = set()
        self._outcomes: list[Outcome] = []
        self._scan_hosts: set[str] = set(folders)
        self._final: set[str] = set(final_hosts)
        self._newly_final: set[str] = set(final_hosts)
        self._draining = False
        self._stop_loop = False
        self._poll_only = False
        # owned by the loop thread
        self._entries: dict[Key, Tracked] = {}
        self._heap: list[tuple[float, int, Key]] = []
        self._seq = itertools.count()
        self._busy_keys: set[str] = set()
        self._key_waiters: dict[str, set[Key]] = {}
        self._retrying: set[Key] = set()
        self._writers: dict[str, set[str]] = {}
        self._warned: set[str] = set()
        self._changed = False
        self._last_summary = 0.0
        self._last_probe = -PROBE_GAP
        self._next_scan = 0.0
        # threads
        self._big_slots = threading.BoundedSemaphore(BIG_SLOTS)
        self._settled = threading.Event()
        self._watcher = FolderWatcher(self.folders, self._paths_changed, lambda: self._request_scan(set(self.folders)),
                                      self._watch_failed)
        self._pool: ThreadPoolExecutor | None = None
        self._loop_thread: threading.Thread | None = None
        self.failure = ""  # a bug in the loop, reported once
        for host, ledger in ledgers.items():  # after a takeover: what the attempt changed before it
            for rel in ledger.changed:
                sig = ledger.get(rel)
                self._entries[(host, rel)] = Tracked(host, rel, "synced" if sig else "deleted", sig,
                                                     size=sig.size if sig else 0, written=True)
                self._writers.setdefault(rel, set()).add(host)

    # --- control (any thread) ------------------------------------------------------

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ckpt-upload")
        self._loop_thread = threading.Thread(target=self._run, name="ckpt-sync", daemon=True)
        self._loop_thread.start()
        self._watcher.start()

    def host_final(self, host: str) -> None:
        """The host's container has exited: its files cannot change any more."""
        with self._cond:
            if host in self.folders and host not in self._final:
                self._final.add(host)
                self._newly_final.add(host)
                self._scan_hosts.add(host)
                self._cond.notify()

    def drain(self, timeout: float) -> bool:
        """Every host is final: sync what is left, then stop. True when nothing was left behind."""
        self._watcher.stopping.set()
        with self._cond:
            self._newly_final |= set(self.folders) - self._final
            self._final |= set(self.folders)
            self._scan_hosts |= set(self.folders)
            self._draining = True
            self._cond.notify()
        deadline = time.monotonic() + timeout
        settled = self._settled.wait(min(1.0, timeout))
        if not settled and not self.failure:
            count = self._count_unsynced()
            if count:
                self._notice("info", f"waiting for {count} file{'s' if count != 1 else ''} to reach {self.store.uri}")
            settled = self._settled.wait(max(0.0, deadline - time.monotonic()))
        self._shutdown(wait=settled)
        left = [e for e in self._entries.values() if e.state in UNSYNCED or e.busy]
        if left:
            errors = [e.error for e in left if e.error]
            self._notice("error", f"{len(left)} file{'s' if len(left) != 1 else ''} did not reach {self.store.uri} "
                                  f"within {timeout:.0f} s" + (f" (last error: {errors[-1]})" if errors else "")
                                  + f"; they are kept in the job's {self.kept_in} folders")
        self.emit(self._summary(final=True))
        return not left

    def close(self) -> None:
        """Stop without waiting for anything (after an error)."""
        self._shutdown(wait=False)

    def _shutdown(self, wait: bool) -> None:
        with self._cond:
            self._stop_loop = True
            self._cond.notify()
        self._watcher.stop()
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
        for ledger in self.ledgers.values():
            try:
                ledger.save()
            except OSError:
                pass

    def _count_unsynced(self) -> int:
        for _ in range(5):  # the loop thread may be changing the table; a count is all we need
            try:
                return sum(1 for e in list(self._entries.values()) if e.state in UNSYNCED or e.busy)
            except RuntimeError:
                continue
        return 0

    # --- what the watcher reports (its thread) ------------------------------------------

    def _paths_changed(self, keys: list[Key]) -> None:
        with self._cond:
            self._touched.update(keys)
            self._cond.notify()

    def _request_scan(self, hosts: set[str]) -> None:
        with self._cond:
            self._scan_hosts |= hosts
            self._cond.notify()

    def _watch_failed(self, err: Exception) -> None:
        self._notice("warning", f"cannot watch the {self.what}s ({err}); scanning them every "
                                f"{POLL_INTERVAL} s instead")
        with self._cond:
            self._poll_only = True

    # --- the loop thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                now = time.monotonic()
                wait = 0.25
                if self._heap:
                    wait = max(0.0, min(wait, self._heap[0][0] - now))
                with self._cond:
                    if not (self._touched or self._outcomes or self._scan_hosts or self._newly_final
                            or self._stop_loop):
                        self._cond.wait(wait)
                    touched, self._touched = self._touched, set()
                    outcomes, self._outcomes = self._outcomes, []
                    scans, self._scan_hosts = self._scan_hosts, set()
                    newly_final, self._newly_final = self._newly_final, set()
                    final = frozenset(self._final)
                    draining, stop, poll_only = self._draining, self._stop_loop, self._poll_only
                if stop:
                    return
                now = time.monotonic()
                for outcome in outcomes:
                    self._apply(outcome, now)
                if now >= self._next_scan:
                    scans |= set(self.folders)
                    self._next_scan = now + (POLL_INTERVAL if poll_only else SCAN_INTERVAL)
                for host in scans:
                    self._scan(host, now)
                for key in touched:
                    self._touch(key, now)
                for host in newly_final:
                    for entry in self._entries.values():
                        if entry.host == host and not entry.busy and entry.due is not None:
                            self._schedule(entry, now)
                self._run_due(now, final)
                self._periodic(now)
                if draining and self._is_settled():
                    self._settled.set()
        except Exception as err:  # a bug: say so, and let drain() return instead of waiting

            self.failure = f"{type(err).__name__}: {err}"
            self._notice("error", f"the sync stopped: {self.failure}\n{traceback.format_exc()}")
            self._settled.set()

    def _is_settled(self) -> bool:
        if self._touched or self._scan_hosts:
            return False
        return not any(e.busy or e.state in UNSYNCED for e in self._entries.values())

    def _schedule(self, entry: Tracked, at: float) -> None:
        entry.due = at
        heapq.heappush(self._heap, (at, next(self._seq), (entry.host, entry.rel)))

    def _touch(self, key: Key, now: float) -> None:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = Tracked(*key)
        if entry.busy:
            entry.again = True
        else:
            self._schedule(entry, now)

    def _scan(self, host: str, now: float) -> None:
        root = self.folders[host]
        if not root.is_dir():  # never read a missing folder as "every file was deleted"
            return
        ledger = self.ledgers[host]
        files, _ = scan(root)
        for rel, info in files.items():
            entry = self._entries.get((host, rel))
            known = entry.sig if entry is not None else ledger.get(rel)
            if stat.S_ISLNK(info.st_mode) or known is None or Signature.of(info) != known:
                self._touch((host, rel), now)
        for (owner, rel), entry in list(self._entries.items()):
            if owner == host and rel not in files and (entry.sig is not None or entry.state in UNSYNCED):
                self._touch((host, rel), now)
        for rel in list(ledger.entries):  # synced earlier, removed while nobody watched
            if rel not in files and (host, rel) not in self._entries:
                self._touch((host, rel), now)

    def _run_due(self, now: float, final: frozenset[str]) -> None:
        ready: list[Tracked] = []
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is None or entry.due != due or entry.busy:
                continue
            entry.due = None
            self._look(entry, now, entry.host in final, ready)
        if ready:
            self._start_ready(ready, now, final)

    def _look(self, entry: Tracked, now: float, final: bool, ready: list[Tracked]) -> None:
        root = self.folders[entry.host]
        info = lstat_inside(root, entry.rel)
        source = entry.rel
        if info is not None and stat.S_ISLNK(info.st_mode):
            try:
                source = link_target(root, entry.rel, self.mount)
            except Outside:
                self._warn_once(f"link:{entry.host}:{entry.rel}", f"{entry.rel} is a symlink leading out of the "
                                f"{self.what}; it is not followed and not uploaded", entry.host)
                info = None
            else:
                info = lstat_inside(root, source)
        if info is None or not stat.S_ISREG(info.st_mode):
            self._gone(entry, now)
            return
        sig = Signature.of(info)
        stored = self.ledgers[entry.host].get(entry.rel)
        if sig != entry.sig:
            entry.sig, entry.dev, entry.size, entry.since = sig, info.st_dev, info.st_size, now
            entry.mtime, entry.source = info.st_mtime, source
            if sig == stored:  # what S3 has already: restored, or synced before a takeover
                self._already_synced(entry)
                return
            self._wrote(entry)
            if entry.state != "retrying":
                self._set(entry, "pending")
            self._schedule(entry, now if final else now + self.quiet)
            return
        if sig == stored:
            self._already_synced(entry)
            return
        if not final and now - entry.since < self.quiet:
            self._schedule(entry, entry.since + self.quiet)
        elif entry.state == "retrying" and now < entry.retry_at:
            self._schedule(entry, entry.retry_at)
        elif entry.rel in self._busy_keys:
            self._key_waiters.setdefault(entry.rel, set()).add((entry.host, entry.rel))
        else:
            ready.append(entry)

    def _already_synced(self, entry: Tracked) -> None:
        if entry.state not in ("", "synced"):
            self._retrying.discard((entry.host, entry.rel))
            entry.error, entry.attempts = "", 0
            entry.lag = max(0.0, time.time() - entry.mtime) if entry.written else None
            self._set(entry, "synced")

    def _start_ready(self, ready: list[Tracked], now: float, final: frozenset[str]) -> None:
        held: set[tuple[int, int]] = set()
        live = [e for e in ready if e.host not in final and e.sig is not None]
        if live and self.probe is not None and self.probe.usable:
            if now - self._last_probe < PROBE_GAP:  # batch: one probe for every file ready by then
                for entry in live:
                    self._schedule(entry, self._last_probe + PROBE_GAP)
                ready = [e for e in ready if e not in live]
            else:
                self._last_probe = now
                held = self.probe.held_for_writing({(e.dev, e.sig.ino) for e in live if e.sig}) or set()
        for entry in ready:
            assert entry.sig is not None
            if ((entry.dev, entry.sig.ino) in held and entry.host not in final
                    and now - entry.since < HELD_OPEN_LIMIT):
                self._schedule(entry, now + PROBE_INTERVAL)  # still being written
            elif entry.rel in self._busy_keys:  # another host's version of the same key is in flight
                self._key_waiters.setdefault(entry.rel, set()).add((entry.host, entry.rel))
            else:
                self._start(entry, "put")

    def _gone(self, entry: Tracked, now: float) -> None:
        entry.sig = None
        if self.ledgers[entry.host].get(entry.rel) is None:  # never reached S3 from here: nothing to delete
            if entry.state == "":
                del self._entries[(entry.host, entry.rel)]
            elif entry.state != "deleted":
                self._retrying.discard((entry.host, entry.rel))
                entry.error, entry.attempts = "", 0
                self._set(entry, "deleted")
            return
        if entry.state == "retrying" and now < entry.retry_at:
            self._schedule(entry, entry.retry_at)
        elif entry.rel in self._busy_keys:
            self._key_waiters.setdefault(entry.rel, set()).add((entry.host, entry.rel))
        else:
            self._start(entry, "delete")

    def _start(self, entry: Tracked, action: str) -> None:
        assert self._pool is not None
        entry.busy = True
        self._busy_keys.add(entry.rel)
        if action == "put" and entry.state != "retrying":
            self._set(entry, "uploading")
        self._pool.submit(self._work, (entry.host, entry.rel), action, entry.source, entry.sig)

    def _apply(self, outcome: Outcome, now: float) -> None:
        entry = self._entries[outcome.key]
        host, rel = outcome.key
        entry.busy = False
        self._busy_keys.discard(rel)
        for waiter in self._key_waiters.pop(rel, ()):
            other = self._entries.get(waiter)
            if other is not None and not other.busy:
                self._schedule(other, now)
        again, entry.again = entry.again, False
        if not outcome.ok and not outcome.changed:
            entry.attempts += 1
            entry.error = outcome.error
            entry.retry_at = now + min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (entry.attempts - 1)) * random.uniform(0.8, 1.2)
            self._retrying.add(outcome.key)
            self._set(entry, "retrying", force=True)
            self._schedule(entry, entry.retry_at)
            return
        if outcome.ok:
            self._retrying.discard(outcome.key)
            entry.error, entry.attempts = "", 0
            self._kick_retries(now)  # the endpoint answers again: no need to wait for the backoff
            if outcome.action == "put":
                assert outcome.sig is not None
                self.ledgers[host].set(rel, outcome.sig)
                if entry.sig == outcome.sig and not again:
                    entry.lag = max(0.0, outcome.at - entry.mtime)
                    self._set(entry, "synced", at=outcome.at)
                    return
            else:
                self.ledgers[host].drop(rel)
                if entry.sig is None and not again:
                    self._set(entry, "deleted", at=outcome.at)
                    return
        self._schedule(entry, now)

    def _kick_retries(self, now: float) -> None:
        for key in list(self._retrying):
            entry = self._entries.get(key)
            if entry is None or entry.busy or entry.state != "retrying":
                self._retrying.discard(key)
                continue
            if entry.retry_at > now:
                entry.retry_at = now
                self._schedule(entry, now)

    def _wrote(self, entry: Tracked) -> None:
        if entry.written:
            return
        entry.written = True
        hosts = self._writers.setdefault(entry.rel, set())
        hosts.add(entry.host)
        if len(hosts) > 1:
            names = sorted(hosts, key=natural_key)
            self._warn_once(f"collision:{entry.rel}", f"{', '.join(names[:-1])} and {names[-1]} both wrote "
                            f"{entry.rel}; they share one S3 key ({self.store.where(entry.rel).uri}), so on "
                            "SageMaker one overwrites the other: give each host its own file name")

    def _periodic(self, now: float) -> None:
        since = now - self._last_summary
        if (self._changed and since >= SUMMARY_MIN_GAP) or (
                since >= SUMMARY_INTERVAL and any(e.state in UNSYNCED for e in self._entries.values())):
            self._changed = False
            self._last_summary = now
            self.emit(self._summary())

    # --- events ------------------------------------------------------------------------

    def _set(self, entry: Tracked, state: str, *, at: float | None = None, force: bool = False) -> None:
        if entry.state == state and not force:
            return
        entry.state = state
        self._changed = True
        self.emit(ev.CheckpointFileState(
            entry.host, entry.rel, state, entry.size, entry.lag if state == "synced" else None,
            entry.error if state == "retrying" else "", entry.attempts, sync=self.sync, time=at or time.time()))

    def _warn_once(self, key: str, message: str, host: str = "") -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._notice("warning", message, host)

    def _notice(self, level: str, message: str, host: str = "") -> None:
        self.emit(ev.Notice(level, self.prefix + message, host))

    def _summary(self, final: bool = False) -> ev.CheckpointSummary:
        files = size = pending = synced = retrying = deleted = 0
        oldest: float | None = None
        wall = time.time()
        for entry in list(self._entries.values()):
            if entry.state == "deleted":
                deleted += 1
                continue
            if not entry.state:
                continue
            files += 1
            size += entry.size
            if entry.state == "synced":
                synced += 1
                continue
            pending += 1
            retrying += entry.state == "retrying"
            age = max(0.0, wall - entry.mtime)
            oldest = age if oldest is None else max(oldest, age)
        return ev.CheckpointSummary(files, size, pending, oldest, synced, retrying, deleted, final, sync=self.sync)

    # --- the workers ---------------------------------------------------------------------

    def _work(self, key: Key, action: str, source: str, sig: Signature | None) -> None:
        try:
            if action == "delete":
                self.store.delete(key[1])
                outcome = Outcome(key, action, None, True, at=time.time())
            else:
                assert sig is not None
                outcome = self._upload(key, source, sig)
        except StorageError as err:
            outcome = Outcome(key, action, sig, False, error=str(err))
        except Exception as err:
            outcome = Outcome(key, action, sig, False, error=f"{type(err).__name__}: {err}")
        with self._cond:
            self._outcomes.append(outcome)
            self._cond.notify()

    def _upload(self, key: Key, source: str, sig: Signature) -> Outcome:
        """Upload the version that was seen, consistently (or report that it changed)."""
        host, rel = key
        changed = Outcome(key, "put", sig, False, changed=True)
        version = snapshot.open_version(self.folders[host], source, sig)
        if version is None:
            return changed
        try:
            if sig.size <= snapshot.IN_MEMORY:
                data = version.read_all()
                if data is None:
                    return changed
                self.store.put_bytes(rel, data)
            else:
                with self._big_slots:
                    if not self.store.put_parts(rel, version.fd, sig.size, version.unchanged):
                        return changed
        except OSError as err:
            raise StorageError(f"Cannot read {source}: {err.strerror or err}") from None
        finally:
            version.close()
        return Outcome(key, "put", sig, True, at=time.time())
