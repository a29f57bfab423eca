"""Which objects (or manifest lines) a host reads, in which order, in each epoch.

ShuffleConfig.Seed shuffles the whole list anew every epoch, the same way for the same
seed; ShardedByS3Key then deals it out (item i to host i mod n). So with both, as on
SageMaker in Pipe mode, a host may get other objects in its next epoch. File and
FastFile channels are staged once: they use epoch 0.
"""

from __future__ import annotations

import random
from typing import Sequence, TypeVar

from workbench.engine.plan import ChannelPlan, shard

T = TypeVar("T")


def epoch_order(items: Sequence[T], seed: int | None, epoch: int) -> list[T]:
    """`items` as listed, or shuffled by (seed, epoch): a string seed, so the order does not
    depend on PYTHONHASHSEED or the Python version."""
    ordered = list(items)
    if seed is not None:
        random.Random(f"sm-workbench:{seed}:{epoch}").shuffle(ordered)
    return ordered


def host_share(channel: ChannelPlan, items: Sequence[T], host: str, epoch: int = 0) -> list[T]:
    """What `host` reads of a channel's items in `epoch`."""
    ordered = epoch_order(items, channel.shuffle_seed, epoch)
    if channel.distribution == "ShardedByS3Key":
        return shard(ordered, channel.hosts.index(host), len(channel.hosts))
    return ordered


def pipe_only_settings(channel: ChannelPlan) -> str:
    """A notice for Pipe-only settings on a File or FastFile channel ('' when there are none).

    SageMaker reads CompressionType and RecordWrapperType in Pipe mode only; the files
    are placed as they are.
    """
    ignored = [f"{name}: {value}" for name, value in (("CompressionType", channel.compression),
                                                      ("RecordWrapperType", channel.record_wrapper))
               if value not in ("None", "", None)]
    if not ignored:
        return ""
    return (f"Channel {channel.name}: {' and '.join(ignored)} apply in Pipe mode only; in {channel.mode} mode "
            "the files are placed as they are (set them to None, or use Pipe mode)")
