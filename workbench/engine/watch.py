"""`run --watch`: what a job's code comes from, watched, and the names of its rounds.

A round is a job of its own (same spec, next name: `<name>`, `<name>-w2`, `<name>-w3`...),
so the history and comparisons keep every round. What is watched: the spec file, the
Workbench.Build context, the script-mode folders (SourceDir, Dependencies, or the
entry point alone) and every local channel folder (a channel is often how code reaches
a job). Changes are grouped (debounced) by watchfiles; files a job writes itself (a
local S3OutputPath or checkpoint folder inside a watched folder) and the usual noise
(.git, __pycache__, editor swap files) do not count.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Callable, Iterable

from workbench.spec.settings import WorkbenchSettings
from workbench.storage.uri import is_local, local_path

DEBOUNCE_MS = 1600  # the longest a burst of changes is grouped over
QUIET_MS = 200  # a burst ends after this long without changes
MAX_NAME = 63


def watched_paths(spec) -> list[Path]:
    """The files and folders a rerun should follow (existing ones, without repeats)."""
    data, settings = spec.data, WorkbenchSettings.from_spec(spec.data)
    found: list[Path] = []
    if spec.source:
        found.append(Path(spec.source).resolve())
    if settings.Build and settings.Build.get("Context"):
        found.append(Path(settings.Build["Context"]))
    if settings.SourceDir:
        found.append(Path(settings.SourceDir))
    elif settings.EntryPoint:
        found.append(Path(settings.EntryPoint))
    found += [Path(dependency) for dependency in settings.Dependencies or []]
    for channel in data.get("InputDataConfig") or []:
        uri = ((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri") or ""
        if uri and is_local(uri):
            found.append(local_path(uri))
    unique: list[Path] = []
    for path in found:
        if path.exists() and path not in unique:
            unique.append(path)
    return unique


def written_by_jobs(spec) -> list[Path]:
    """Local folders the job itself writes: changes there never start a round."""
    from workbench.paths import state_dir

    out = [state_dir()]
    for section, key in (("OutputDataConfig", "S3OutputPath"), ("CheckpointConfig", "S3Uri")):
        uri = (spec.data.get(section) or {}).get(key) or ""
        if uri and is_local(uri):
            out.append(local_path(uri))
    return out


def next_round_name(name: str) -> str:
    """`job` -> `job-w2` -> `job-w3`: the next round's name (at most 63 characters)."""
    match = re.match(r"^(.*)-w(\d+)$", name)
    base, number = (match.group(1), int(match.group(2)) + 1) if match else (name, 2)
    suffix = f"-w{number}"
    return base[: MAX_NAME - len(suffix)].rstrip("-") + suffix


class ChangeWatcher:
    """watchfiles over `paths` in a thread; `on_change(changed paths)` after each burst.

    A file is watched through its folder (an editor that saves by renaming a new file
    over the old one would end a watch on the file itself); only that file's changes count."""

    def __init__(self, paths: Iterable[Path], on_change: Callable[[list[str]], None],
                 ignore: Iterable[Path] = ()) -> None:
        self.folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
        self.files = [Path(p).resolve() for p in paths if not Path(p).is_dir()]
        roots = self.folders + [f.parent for f in self.files]
        self.roots = sorted({r for r in roots if not any(o != r and o in r.parents for o in roots)})
        self.ignore = [Path(p).resolve() for p in ignore]
        self.on_change = on_change
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="watch", daemon=True)

    def start(self) -> "ChangeWatcher":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def counts(self, path: str) -> bool:
        changed = Path(path)
        if any(changed == folder or folder in changed.parents for folder in self.ignore):
            return False
        return changed in self.files or any(changed == f or f in changed.parents for f in self.folders)

    def _run(self) -> None:
        from watchfiles import DefaultFilter, watch  # deferred: watchfiles, only for --watch

        noise = DefaultFilter(ignore_entity_patterns=(*DefaultFilter.ignore_entity_patterns, r"^\..*\.tmp$"))
        for changes in watch(*self.roots, watch_filter=noise, debounce=DEBOUNCE_MS, step=QUIET_MS,
                             stop_event=self.stopped, yield_on_timeout=False, raise_interrupt=False):
            changed = sorted({path for _, path in changes if self.counts(path)})
            if changed and not self.stopped.is_set():
                self.on_change(changed)
