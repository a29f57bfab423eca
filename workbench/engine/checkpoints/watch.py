"""Which paths in the checkpoint folders may have changed: watchfiles, made safe.

A recursive watch follows symlinks: a folder moved into a checkpoint folder holding a
link to `/` made it add watches over the whole machine (we measured 15,000 for /usr).
So every real folder is watched on its own, non-recursively; when folders come or go,
the watch set is rebuilt and a scan is requested to catch what changed meanwhile. Paths
are only reported, never trusted: the sync looks at each one itself.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from workbench.engine.container_files import is_real_folder, scan

STEP_MS, DEBOUNCE_MS, TIMEOUT_MS = 20, 200, 200
GIVE_UP_AFTER = 5  # failures in a row before the sync falls back to periodic scans

Key = tuple[str, str]  # (host, rel)


class FolderWatcher:
    def __init__(self, folders: dict[str, Path], on_paths: Callable[[list[Key]], None],
                 on_rescan: Callable[[], None], on_failure: Callable[[Exception], None]) -> None:
        self.folders = folders
        self.on_paths = on_paths
        self.on_rescan = on_rescan
        self.on_failure = on_failure
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ckpt-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import watchfiles  # deferred: watchfiles (a native extension), only for jobs that sync files

        failures = 0
        while not self.stopping.is_set():
            folders = self._real_folders()
            watched = set(folders)
            first = True
            try:
                for changes in watchfiles.watch(
                    *folders, watch_filter=None, recursive=False, debounce=DEBOUNCE_MS, step=STEP_MS,
                    stop_event=self.stopping, rust_timeout=TIMEOUT_MS, yield_on_timeout=True,
                    raise_interrupt=False, ignore_permission_denied=True,
                ):
                    failures = 0
                    if first:  # the watches are set: catch what changed while they were not
                        first = False
                        self.on_rescan()
                    if changes and self._report(changes, watched):
                        break  # a folder came or went: watch the new set
            except Exception as err:  # a folder vanished while being watched, inotify limits...
                failures += 1
                if failures >= GIVE_UP_AFTER:
                    self.on_failure(err)
                    return
                self.stopping.wait(0.1)

    def _real_folders(self) -> list[str]:
        folders = []
        for root in self.folders.values():
            if root.is_dir():
                folders.append(str(root))
                folders.extend(str(root / rel) for rel in scan(root)[1])
        return folders

    def _locate(self, path: str) -> Key | None:
        for host, root in self.folders.items():
            prefix = str(root) + os.sep
            if path.startswith(prefix):
                return host, path[len(prefix):].replace(os.sep, "/")
        return None

    def _report(self, changes, watched: set[str]) -> bool:
        """Pass the paths on; True when the set of folders to watch changed."""
        import watchfiles  # deferred: watchfiles (a native extension), only for jobs that sync files

        restart = False
        keys = []
        for change, path in changes:
            key = self._locate(path)
            if key is None:
                continue
            keys.append(key)
            host, rel = key
            if path in watched:
                restart = restart or not is_real_folder(self.folders[host], rel)
            elif change != watchfiles.Change.deleted and is_real_folder(self.folders[host], rel):
                restart = True
        self.on_paths(keys)
        return restart
