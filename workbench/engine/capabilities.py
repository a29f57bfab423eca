"""Which extensions a job needs, from its spec: one place to see every capability."""

from __future__ import annotations

from workbench.engine.extension import Extension
from workbench.engine.plan import JobPlan
from workbench.errors import WorkbenchError
from workbench.spec.settings import WorkbenchSettings


def extensions_for(spec: dict, plan: JobPlan, settings: WorkbenchSettings) -> list[Extension]:
    from workbench.engine.channels.file_mode import FileChannels, FileSystemChannels

    extensions: list[Extension] = []
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
