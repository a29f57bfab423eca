"""What a channel's S3Uri names, by S3DataType: objects (S3Prefix, ManifestFile) or manifest lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.engine import events as ev
from workbench.engine.channels.manifests import AugmentedLine, augmented_lines, manifest_objects
from workbench.engine.extension import JobContext
from workbench.engine.plan import ChannelPlan
from workbench.errors import WorkbenchError
from workbench.storage.cache import Lease
from workbench.storage.objects import FolderLinks, StoredObject, list_objects


@dataclass
class ChannelData:
    channel: ChannelPlan
    objects: list[StoredObject] = field(default_factory=list)
    lines: list[AugmentedLine] = field(default_factory=list)
    links: FolderLinks = field(default_factory=FolderLinks)  # a local folder's symlinks

    @property
    def augmented(self) -> bool:
        return self.channel.data_type == "AugmentedManifestFile"

    @property
    def items(self) -> list:
        """What is shuffled and sharded: objects, or an augmented manifest's lines."""
        return self.lines if self.augmented else self.objects


def require_data(ctx: JobContext, channel: ChannelPlan, items: list) -> None:
    """A channel that names nothing fails the job at Downloading, with the words SageMaker's
    CreateTrainingJob refuses such a channel with."""
    if items:
        return
    source = channel.source
    assert source is not None
    if channel.data_type != "S3Prefix":
        what = "lines" if channel.data_type == "AugmentedManifestFile" else "entries"
        raise WorkbenchError(f"The {channel.data_type} {source.uri} of channel {channel.name!r} has no {what}; "
                             "list at least one object in it")
    if not source.is_s3:
        raise WorkbenchError(f"No files found under local path \"{source.path}\" given in input data source "
                             f"(channel {channel.name!r}). Please ensure that files exist under that path "
                             "(links leading out of it, FIFOs and sockets are not copied).")
    role = ctx.spec.get("RoleArn") or ""
    raise WorkbenchError(f"No S3 objects found under S3 URL \"{source.uri}\" given in input data source. Please "
                         f"ensure that the bucket exists in the selected region ({ctx.settings.Region}), that objects "
                         f"exist under that S3 prefix, and that the role \"{role}\" has \"s3:ListBucket\" "
                         f"permissions on bucket \"{source.bucket}\".")


def load_channel_data(channel: ChannelPlan, lease: Lease) -> ChannelData:
    """List the prefix or read the manifest (manifests go through the cache like any object)."""
    assert channel.source is not None
    if channel.data_type == "S3Prefix":
        links = FolderLinks()
        return ChannelData(channel, objects=list_objects(channel.source, links), links=links)
    if channel.data_type == "ManifestFile":
        return ChannelData(channel, objects=manifest_objects(channel.source, lease))
    if channel.data_type == "AugmentedManifestFile":
        return ChannelData(channel, lines=augmented_lines(channel.source, lease, channel.attribute_names))
    raise WorkbenchError(f"Channel {channel.name!r}: S3DataType {channel.data_type} is not supported; "
                         "use S3Prefix, ManifestFile or AugmentedManifestFile")


def outside_links_notice(channel: ChannelPlan, links: FolderLinks) -> ev.Notice | None:
    """The warning for symlinks that lead out of a local channel folder: every input mode
    leaves them out (a container never reaches this machine's other files)."""
    if not links.outside:
        return None
    names = sorted(links.outside)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    count = f"1 symlink in {channel.source.path} leads" if len(names) == 1 else \
        f"{len(names)} symlinks in {channel.source.path} lead"
    return ev.Notice("warning", f"Channel {channel.name}: {count} outside the folder and "
                                f"{'is' if len(names) == 1 else 'are'} left out: {shown}; "
                                "copy what they point to into the folder to use it")
