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
    return extensions


def streamed_channel_extensions(streamed: dict[str, list]) -> list[Extension]:
    """FastFile views and Pipe feeders (imported only for jobs that have such channels)."""
    extensions: list[Extension] = []
    if streamed["FastFile"]:
        from workbench.engine.channels.fastfile_mode import FastFileChannels

        extensions.append(FastFileChannels(streamed["FastFile"]))
    if streamed["Pipe"]:
        from workbench.engine.channels.pipe_mode import PipeChannels

        extensions.append(PipeChannels(streamed["Pipe"]))
    return extensions
