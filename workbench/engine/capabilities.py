"""Which extensions a job needs, from its spec: one place to see every capability."""

from __future__ import annotations

from workbench.engine.extension import Extension
from workbench.engine.plan import JobPlan
from workbench.errors import WorkbenchError
from workbench.spec.settings import WorkbenchSettings


def extensions_for(spec: dict, plan: JobPlan, settings: WorkbenchSettings) -> list[Extension]:
    from workbench.engine.channels.file_mode import FileChannels, FileSystemChannels

    extensions: list[Extension] = hardware_extensions(plan, settings)
    file_channels, fs_channels = [], []
    for channel in plan.channels:
        if channel.data_type == "FileSystem":
            fs_channels.append(channel)
        elif channel.mode == "File" and channel.data_type == "S3Prefix":
            file_channels.append(channel)
        else:
            raise WorkbenchError(
                f"Channel {channel.name!r}: {channel.mode} mode with {channel.data_type} is not supported by this "
                f"version of sm-workbench; use File mode with S3Prefix"
            )
    if file_channels:
        extensions.append(FileChannels(file_channels))
    if fs_channels:
        extensions.append(FileSystemChannels(fs_channels, dict(settings.FileSystems)))
    if (spec.get("CheckpointConfig") or {}).get("S3Uri"):
        from workbench.engine.checkpoints.extension import Checkpoints

        extensions.append(Checkpoints(spec))
    return extensions


def hardware_extensions(plan: JobPlan, settings: WorkbenchSettings) -> list[Extension]:
    """GPUs and instance resource limits; first, so a job that cannot have its GPUs fails before staging data."""
    from workbench.engine.gpu_hosts import GpuHosts, needs_gpus
    from workbench.engine.instance_limits import InstanceLimits

    extensions: list[Extension] = []
    if needs_gpus(plan, settings):
        extensions.append(GpuHosts(settings))
    if settings.EmulateInstanceResources:
        extensions.append(InstanceLimits())
    return extensions


def preflight(spec: dict, client) -> None:
    """Checks that need the machine, before a job is created: raise WorkbenchError to refuse it."""
    from workbench.engine.gpu_hosts import check_gpus_ready

    check_gpus_ready(spec, client)
