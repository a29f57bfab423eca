"""What a channel's S3Uri names, by S3DataType: objects (S3Prefix, ManifestFile) or manifest lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.engine import events as ev
from workbench.engine.channels.manifests import AugmentedLine, augmented_lines, manifest_objects
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
