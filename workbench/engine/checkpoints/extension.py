"""Synced folders in a job's lifecycle: restore in prepare, mount, live sync, drain.

One extension per synced folder (`synced.py`: checkpoints, TensorBoard, debugger,
profiler). Each host's copy is `<job>/hosts/<host>/<sync>`, mounted at its LocalPath.
Every attempt (a new job, each spot restart or retry) starts from fresh folders (the
checkpoints restored from S3) and syncs until its containers have exited; `stopped`
drains before outputs are uploaded, so a stopped, interrupted or failed attempt leaves
its files in S3 too. A process that takes over a running job resumes the sync from the
folders and the ledgers on disk.
"""

from __future__ import annotations

from pathlib import Path

from workbench.engine import events as ev
from workbench.engine.checkpoints.ledger import Ledger
from workbench.engine.checkpoints.remote import CheckpointStore
from workbench.engine.checkpoints.restore import fresh_folder, restore
from workbench.engine.checkpoints.sync import CheckpointSync
from workbench.engine.checkpoints.synced import SyncedFolder, check_local_paths, synced_folders
from workbench.engine.checkpoints.writers import WriterProbe
from workbench.engine.container_user import WIDE
from workbench.engine.extension import Extension, JobContext
from workbench.engine.labels import LABEL_HOST
from workbench.engine.layout import write_manifest
from workbench.storage.transfer import TransferCancelled

DEFAULT_DRAIN_SECONDS = 300


class FolderSync(Extension):
    """One synced folder on every host; `others` are the job's other synced folders (their
    LocalPaths must not overlap this one's)."""

    adoptable = True

    def __init__(self, folder: SyncedFolder, others: tuple[SyncedFolder, ...] = ()) -> None:
        self.folder_spec = folder
        self.others = others
        self.store = CheckpointStore.parse(folder.uri)
        self.local_path = folder.local_path
        self.sync = None

    def folder(self, ctx: JobContext, host: str) -> Path:
        return ctx.host_dir(host) / self.folder_spec.sync

    def ledger_path(self, ctx: JobContext, host: str) -> Path:
        return ctx.host_dir(host) / self.folder_spec.ledger

    def _check_local_path(self) -> None:
        check_local_paths([*self.others, self.folder_spec])

    # --- hooks -------------------------------------------------------------------------

    def prepare(self, ctx: JobContext) -> None:
        self._check_local_path()
        folders = {host: self.folder(ctx, host) for host in ctx.plan.host_names}
        if not self.folder_spec.restore:
            for folder in folders.values():
                fresh_folder(folder, ctx.access or WIDE)
            return
        prefix = self.folder_spec.prefix

        def shadowed(uris: list[str]) -> None:
            ctx.emit(ev.Notice("warning", prefix + f"not restored: {', '.join(uris[:5])}"
                               + (f" and {len(uris) - 5} more" if len(uris) > 5 else "")
                               + f"; a key under {self.store.base_key or 'the bucket'} has the same path "
                               "(S3Uri is a raw prefix, so it also matches these)"))

        try:
            restored = restore(self.store, folders, cancel=ctx.cancelled, on_shadowed=shadowed,
                               access=ctx.access or WIDE)
        except TransferCancelled:
            return  # the job is being stopped; the runner ends it
        channels = {c.name for c in ctx.plan.channels}
        for item in restored:
            Ledger(self.ledger_path(ctx, item.host), item.signatures).save()
            if "checkpoints" not in channels:  # SageMaker stages checkpoints as a hidden channel of that name
                write_manifest(ctx.opt_ml(item.host), "checkpoints", self.store.location, list(item.sources))
            ctx.emit(ev.CheckpointsRestored(item.host, item.files, item.bytes, item.seconds, self.store.uri,
                                            ctx.attempt))

    def container_options(self, ctx: JobContext, host) -> dict:
        return {"volumes": {str(self.folder(ctx, host.name)): {"bind": self.local_path, "mode": "rw"}}}

    def started(self, ctx: JobContext) -> None:
        if self.sync is not None:
            return
        hosts = [h for h in ctx.plan.host_names if self.folder(ctx, h).is_dir()]
        pids, exited = _containers(ctx)
        name = self.folder_spec.sync
        self.sync = CheckpointSync(
            self.store, {h: self.folder(ctx, h) for h in hosts},
            {h: Ledger.load(self.ledger_path(ctx, h)) for h in hosts}, ctx.emit,
            probe=WriterProbe(pids),
            final_hosts={h for h in hosts if h in exited}, mount=self.local_path,
            sync=name, prefix=self.folder_spec.prefix,
            what="checkpoint folder" if name == "checkpoints" else f"{self.folder_spec.label} folder",
            kept_in=f"hosts/<host>/{name}",
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


class Checkpoints(FolderSync):
    """CheckpointConfig: the synced folder that is also restored at every attempt's start."""

    def __init__(self, spec: dict) -> None:
        super().__init__(synced_folders({"CheckpointConfig": spec["CheckpointConfig"]})[0])


def folder_syncs(spec: dict) -> list[FolderSync]:
    """One extension per folder the job syncs (checkpoints, TensorBoard, debugger, profiler)."""
    folders = synced_folders(spec)
    return [FolderSync(folder, tuple(f for f in folders if f is not folder)) for folder in folders]


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
