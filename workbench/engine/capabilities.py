"""Which extensions a job needs, from its spec: one place to see every capability.

Each capability's module is imported only when a job needs it (`# deferred` below): a
File-mode job with no checkpoints never pays for Pipe feeders, FastFile views, the
checkpoint sync (watchfiles) or GPU sampling."""

from __future__ import annotations

from workbench.engine.checkpoints.synced import synced_folders
from workbench.engine.extension import Extension
from workbench.engine.plan import JobPlan
from workbench.engine.warm_pools.store import has_pools, keep_alive, match_key
from workbench.errors import WorkbenchError
from workbench.spec.metrics import metric_definitions
from workbench.spec.settings import WorkbenchSettings


def extensions_for(spec: dict, plan: JobPlan, settings: WorkbenchSettings) -> list[Extension]:
    from workbench.engine.channels.file_mode import FileChannels, FileSystemChannels  # deferred: per job

    extensions: list[Extension] = hardware_extensions(plan, settings)
    file_channels, fs_channels = [], []
    streamed: dict[str, list] = {"FastFile": [], "Pipe": []}  # input modes beyond File
    for channel in plan.channels:
        if channel.data_type == "FileSystem":
            fs_channels.append(channel)
        elif channel.mode == "File" and channel.data_type in ("S3Prefix", "ManifestFile"):
            file_channels.append(channel)
        elif channel.mode == "Pipe" or (channel.mode == "FastFile" and channel.data_type == "S3Prefix"):
            streamed[channel.mode].append(channel)
        else:  # validation refuses these first; a spec that bypassed it still gets a clear answer
            raise WorkbenchError(
                f"Channel {channel.name!r}: {channel.data_type} does not work in {channel.mode} mode; "
                "AugmentedManifestFile needs Pipe mode and FastFile needs S3Prefix"
            )
    if file_channels:
        extensions.append(FileChannels(file_channels))
    if fs_channels:
        extensions.append(FileSystemChannels(fs_channels, dict(settings.FileSystems)))
    extensions.extend(streamed_channel_extensions(streamed))
    if synced_folders(spec):  # checkpoints, TensorBoard, debugger and profiler output
        from workbench.engine.checkpoints.extension import folder_syncs  # deferred: per job

        extensions.extend(folder_syncs(spec))
    if match_key(spec) is not None and (keep_alive(spec) or has_pools()):  # it may keep or reuse a pool
        from workbench.engine.warm_pools.extension import WarmPool  # deferred: per job

        extensions.append(WarmPool())
    # --- metrics ---
    if metric_definitions(spec):
        from workbench.engine.metrics.extension import Metrics  # deferred: per job

        extensions.append(Metrics(spec))
    extensions.extend(inner_loop_extensions(settings))
    return extensions


def inner_loop_extensions(settings: WorkbenchSettings) -> list[Extension]:
    """Script mode's code, then the hold before training (last: everything else is staged)."""
    extensions: list[Extension] = []
    if settings.EntryPoint:
        from workbench.engine.script_code import ScriptCode  # deferred: per job

        extensions.append(ScriptCode())
    if settings.PauseBeforeTrain:
        from workbench.engine.pause import PauseBeforeTrain  # deferred: per job

        extensions.append(PauseBeforeTrain())
    return extensions


def streamed_channel_extensions(streamed: dict[str, list]) -> list[Extension]:
    """FastFile views and Pipe feeders (imported only for jobs that have such channels)."""
    extensions: list[Extension] = []
    if streamed["FastFile"]:
        from workbench.engine.channels.fastfile_mode import FastFileChannels  # deferred: per job

        extensions.append(FastFileChannels(streamed["FastFile"]))
    if streamed["Pipe"]:
        from workbench.engine.channels.pipe_mode import PipeChannels  # deferred: per job

        extensions.append(PipeChannels(streamed["Pipe"]))
    return extensions


def hardware_extensions(plan: JobPlan, settings: WorkbenchSettings) -> list[Extension]:
    """GPUs and instance resource limits; first, so a job that cannot have its GPUs fails before staging data."""
    from workbench.engine.gpus.extension import GpuHosts, needs_gpus  # deferred: per job
    from workbench.engine.instance_limits import InstanceLimits  # deferred: per job

    extensions: list[Extension] = []
    if needs_gpus(plan, settings):
        extensions.append(GpuHosts(settings))
    if settings.EmulateInstanceResources:
        extensions.append(InstanceLimits())
    return extensions


def preflight(spec: dict, client) -> None:
    """Checks that need the machine, before a job is created: raise WorkbenchError to refuse it."""
    from workbench.engine.gpus.extension import check_gpus_ready  # deferred: per job

    check_gpus_ready(spec, client)
