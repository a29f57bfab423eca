"""CheckpointConfig in a job's lifecycle: restore in prepare, mount, live sync, drain.

Each host's folder is `<job>/hosts/<host>/checkpoints`, mounted at LocalPath. Every
attempt (a new job, each spot restart) restores from S3 into fresh folders and syncs
until its containers have exited; `stopped` drains before outputs are uploaded, so a
stopped, interrupted or failed attempt leaves its checkpoints in S3 too. A process that
takes over a running job resumes the sync from the folders and the ledgers on disk.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from workbench.engine import events as ev
from workbench.engine.checkpoints.ledger import Ledger
from workbench.engine.checkpoints.remote import CheckpointStore
from workbench.engine.checkpoints.restore import restore
from workbench.engine.checkpoints.status import NOTICE_PREFIX
from workbench.engine.checkpoints.sync import CheckpointSync
from workbench.engine.checkpoints.writers import WriterProbe
from workbench.engine.container_user import WIDE
from workbench.engine.extension import Extension, JobContext
from workbench.engine.labels import LABEL_HOST
from workbench.engine.layout import checkpoint_local_path
from workbench.errors import WorkbenchError
from workbench.storage.transfer import TransferCancelled

DEFAULT_DRAIN_SECONDS = 300


class Checkpoints(Extension):
    adoptable = True

    def __init__(self, spec: dict) -> None:
        self.store = CheckpointStore.parse(spec["CheckpointConfig"]["S3Uri"])
        self.local_path = checkpoint_local_path(spec) or ""
        self.sync = None

    @staticmethod
    def folder(ctx: JobContext, host: str) -> Path:
        return ctx.host_dir(host) / "checkpoints"

    @staticmethod
    def ledger_path(ctx: JobContext, host: str) -> Path:
        return ctx.host_dir(host) / "checkpoint-ledger.json"

    def _check_local_path(self) -> None:
        path = self.local_path
        if not posixpath.isabs(path):
            raise WorkbenchError(f"CheckpointConfig.LocalPath {path!r} must be an absolute path in the container "
                                 "(default /opt/ml/checkpoints)")
        normal = posixpath.normpath(path)
        if normal == "/" or "/opt/ml".startswith(normal.rstrip("/") + "/") or normal == "/opt/ml":
            raise WorkbenchError(f"CheckpointConfig.LocalPath {path!r} would hide /opt/ml; use a folder of its "
                                 "own such as /opt/ml/checkpoints")

    # --- hooks -------------------------------------------------------------------------

    def prepare(self, ctx: JobContext) -> None:
        self._check_local_path()
        folders = {host: self.folder(ctx, host) for host in ctx.plan.host_names}

        def shadowed(uris: list[str]) -> None:
            ctx.emit(ev.Notice("warning", NOTICE_PREFIX + f"not restored: {', '.join(uris[:5])}"
                               + (f" and {len(uris) - 5} more" if len(uris) > 5 else "")
                               + f"; a key under {self.store.base_key or 'the bucket'} has the same path "
                               "(S3Uri is a raw prefix, so it also matches these)"))

        try:
            restored = restore(self.store, folders, cancel=ctx.cancelled, on_shadowed=shadowed,
                               access=ctx.access or WIDE)
        except TransferCancelled:
            return  # the job is being stopped; the runner ends it
        for item in restored:
            Ledger(self.ledger_path(ctx, item.host), item.signatures).save()
            ctx.emit(ev.CheckpointsRestored(item.host, item.files, item.bytes, item.seconds, self.store.uri,
                                            ctx.attempt))

    def container_options(self, ctx: JobContext, host) -> dict:
        return {"volumes": {str(self.folder(ctx, host.name)): {"bind": self.local_path, "mode": "rw"}}}

    def started(self, ctx: JobContext) -> None:
        if self.sync is not None:
            return
        hosts = [h for h in ctx.plan.host_names if self.folder(ctx, h).is_dir()]
        pids, exited = _containers(ctx)
        self.sync = CheckpointSync(
            self.store, {h: self.folder(ctx, h) for h in hosts},
            {h: Ledger.load(self.ledger_path(ctx, h)) for h in hosts}, ctx.emit,
            probe=WriterProbe(pids),
            final_hosts={h for h in hosts if h in exited}, mount=self.local_path,
        )
        self.sync.start()

    def host_exited(self, ctx: JobContext, host: str) -> None:
        if self.sync is not None:
            self.sync.host_final(host)

    def stopped(self, ctx: JobContext) -> None:
        self._drain(ctx)

    def close(self, ctx: JobContext) -> None:
        self._drain(ctx)  # after an error the containers are gone: what they wrote still goes up

    def _drain(self, ctx: JobContext) -> None:
        sync, self.sync = self.sync, None
        if sync is None:
            return
        seconds = getattr(ctx.settings, "CheckpointDrainTimeoutSeconds", DEFAULT_DRAIN_SECONDS)
        try:
            sync.drain(float(seconds))
        finally:
            sync.close()


def _containers(ctx: JobContext) -> tuple[list[int], set[str]]:
    """The training containers' init pids (for the writer probe) and the hosts already exited."""
    pids: list[int] = []
    exited: set[str] = set()
    if ctx.docker is None:
        return pids, exited
    try:
        for container in ctx.docker.find(role="training"):
            container.reload()
            state = container.attrs.get("State") or {}
            host = (container.labels or {}).get(LABEL_HOST, "")
            if state.get("Running") and state.get("Pid"):
                pids.append(int(state["Pid"]))
            elif host:
                exited.add(host)
    except Exception:  # the probe is an extra; the quiet period alone still works
        return [], set()
    return pids, exited
