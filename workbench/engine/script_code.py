"""Script mode on this machine: the code put at each host's /opt/ml/code before it starts.

The same files the SDK packs into sourcedir.tar.gz (`spec.script_mode.code_entries`:
SourceDir's top-level entries, then each dependency folder under its own name; links
followed, as its tar does) are copied into each host's tree, so the container finds
them where the training toolkit looks (`sagemaker_submit_directory` is "/opt/ml/code"
locally, as SDK local mode rewrites it) and, since that folder is not empty, runs them
without downloading anything. A copy, not a mount of your folder: the container may
write there (the toolkit chmods a shell entry point) and never reaches your files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench.engine import events as ev
from workbench.engine.extension import Extension, JobContext
from workbench.spec.script_mode import code_entries, program
from workbench.units import human_bytes


class ScriptCode(Extension):
    def prepare(self, ctx: JobContext) -> None:
        entries = code_entries(ctx.settings)
        files = size = 0
        for host in ctx.plan.hosts:
            code = ctx.opt_ml(host.name) / "code"
            if code.exists():
                shutil.rmtree(code)
            code.mkdir()
            for entry in entries:
                target = code / entry.name
                if entry.is_dir():
                    shutil.copytree(entry, target, symlinks=False)
                else:
                    shutil.copy2(entry, target)
            files, size = _hand_over(code, ctx)
        listed = ", ".join(e.name + ("/" if e.is_dir() else "") for e in entries)
        ctx.emit(ev.Notice("info", f"Script mode: /opt/ml/code holds {listed} ({files} files, {human_bytes(size)}); "
                                   f"the training toolkit runs {program(ctx.settings)}"))


def _hand_over(code: Path, ctx: JobContext) -> tuple[int, int]:
    """The container's user owns the copy (readable whatever the umask); (files, bytes)."""
    files = size = 0
    access = ctx.access
    for root, folders, names in os.walk(code):
        if access is not None:
            access.writable(Path(root))
        for name in names:
            path = Path(root) / name
            path.chmod(path.stat().st_mode | 0o644)
            if access is not None:
                access.owned(path)
            files += 1
            size += path.stat().st_size
    return files, size
