"""Hosts, instance groups, and which channel goes to which host.

Hosts are numbered algo-1..algo-N across instance groups in the order the groups are
given. Lists of hosts in config files are sorted lexicographically, as SageMaker does
(algo-10 before algo-2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.errors import WorkbenchError
from workbench.spec.validate import NO_HOSTS, channel_input_mode
from workbench.storage.uri import Location, parse_location

HOMOGENEOUS_GROUP = "homogeneousCluster"
# S3 data types staged as another: Converse data is a prefix of conversation files, which a
# container of yours reads as it reads any prefix (SageMaker's own customization parses them).
STAGED_AS = {"Converse": "S3Prefix"}


@dataclass(frozen=True)
class HostPlan:
    name: str
    index: int  # 0-based across the whole job
    group: str
    instance_type: str


@dataclass(frozen=True)
class ChannelPlan:
    name: str
    mode: str  # File, FastFile or Pipe
    source: Location | None  # None for file system channels
    data_type: str  # S3Prefix, ManifestFile, AugmentedManifestFile, FileSystem
    distribution: str  # FullyReplicated or ShardedByS3Key
    hosts: tuple[str, ...]  # hosts that get this channel
    content_type: str | None = None
    compression: str = "None"
    record_wrapper: str = "None"
    shuffle_seed: int | None = None
    attribute_names: tuple[str, ...] = ()
    file_system: dict | None = None  # FileSystemDataSource
    s3_data_type: str = ""  # as the request says it (Converse is staged as S3Prefix)

    def input_config(self) -> dict:
        """This channel's entry in inputdataconfig.json."""
        entry: dict = {}
        if self.content_type:
            entry["ContentType"] = self.content_type
        entry["TrainingInputMode"] = self.mode
        entry["S3DistributionType"] = self.distribution
        entry["RecordWrapperType"] = self.record_wrapper
        return entry


@dataclass(frozen=True)
class InstanceGroupPlan:
    name: str
    instance_type: str
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class JobPlan:
    hosts: tuple[HostPlan, ...]
    groups: tuple[InstanceGroupPlan, ...]
    channels: tuple[ChannelPlan, ...] = field(default=())

    @property
    def host_names(self) -> list[str]:
        return [h.name for h in self.hosts]

    def host(self, name: str) -> HostPlan:
        return next(h for h in self.hosts if h.name == name)

    def channels_for(self, host: str) -> list[ChannelPlan]:
        return [c for c in self.channels if host in c.hosts]


def host_sort_key(name: str) -> str:
    """Lexicographic, as SageMaker sorts `hosts` (algo-10 before algo-2)."""
    return name


def natural_key(name: str) -> tuple:
    """Numeric order for display (algo-2 before algo-10)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def make_plan(spec: dict) -> JobPlan:
    resources = spec.get("ResourceConfig") or {}
    groups_spec = resources.get("InstanceGroups") or []
    hosts: list[HostPlan] = []
    groups: list[InstanceGroupPlan] = []
    if groups_spec:
        for group in groups_spec:
            members = []
            for _ in range(int(group["InstanceCount"])):
                host = HostPlan(f"algo-{len(hosts) + 1}", len(hosts), group["InstanceGroupName"], group["InstanceType"])
                hosts.append(host)
                members.append(host.name)
            groups.append(InstanceGroupPlan(group["InstanceGroupName"], group["InstanceType"], tuple(members)))
    else:
        instance_type, count = selected_instances(resources)
        hosts = [HostPlan(f"algo-{i + 1}", i, HOMOGENEOUS_GROUP, instance_type) for i in range(count)]
        groups = [InstanceGroupPlan(HOMOGENEOUS_GROUP, instance_type, tuple(h.name for h in hosts))]
    if not hosts:
        raise WorkbenchError(f"ResourceConfig.InstanceCount: {NO_HOSTS}")
    channels = tuple(_channel_plan(spec, channel, hosts) for channel in spec.get("InputDataConfig") or [])
    return JobPlan(tuple(hosts), tuple(groups), channels)


def selected_instances(resources: dict) -> tuple[str, int]:
    """The instance type and count a job without instance groups runs on. With
    InstancePreferences, the first preference: SageMaker takes the first type that has
    capacity, and this machine always has it (describe reports it as SelectedInstanceType)."""
    if resources.get("SelectedInstanceType"):  # described: the one SageMaker chose
        return resources["SelectedInstanceType"], int(resources.get("SelectedInstanceCount") or 1)
    preferences = resources.get("InstancePreferences") or []
    if preferences:
        first = preferences[0]
        return first["InstanceType"], int(first.get("InstanceCount", resources.get("InstanceCount", 1)))
    return resources.get("InstanceType", "ml.m5.large"), int(resources.get("InstanceCount", 1))


def _channel_plan(spec: dict, channel: dict, hosts: list[HostPlan]) -> ChannelPlan:
    source = channel.get("DataSource") or {}
    s3 = source.get("S3DataSource")
    fs = source.get("FileSystemDataSource")
    wanted_groups = (s3 or {}).get("InstanceGroupNames")
    members = tuple(h.name for h in hosts if not wanted_groups or h.group in wanted_groups)
    mode = channel_input_mode(spec, channel)
    shuffle = channel.get("ShuffleConfig") or {}
    common = dict(
        name=channel["ChannelName"], mode=mode, hosts=members,
        content_type=channel.get("ContentType"),
        compression=channel.get("CompressionType") or "None",
        record_wrapper=channel.get("RecordWrapperType") or "None",
        shuffle_seed=shuffle.get("Seed"),
    )
    if fs:
        return ChannelPlan(source=None, data_type="FileSystem", distribution="FullyReplicated", file_system=fs, **common)
    if not s3:  # validation refuses these first (DatasetSource); a spec that bypassed it gets a clear answer
        raise WorkbenchError(f"Channel {channel['ChannelName']!r} has no S3DataSource or FileSystemDataSource, so it "
                             "cannot be staged here (a DatasetSource is a SageMaker Hub dataset)")
    declared = s3.get("S3DataType", "S3Prefix")
    return ChannelPlan(
        source=parse_location(s3["S3Uri"]), data_type=STAGED_AS.get(declared, declared),
        distribution=s3.get("S3DataDistributionType") or "FullyReplicated",
        attribute_names=tuple(s3.get("AttributeNames") or ()), s3_data_type=declared, **common,
    )


def shard(items: list, host_position: int, host_count: int) -> list:
    """ShardedByS3Key: object i (in key order) goes to host i mod n; never split."""
    if host_count <= 1:
        return list(items)
    return [item for i, item in enumerate(items) if i % host_count == host_position]


def resource_config(plan: JobPlan, host: HostPlan, interface: str = "eth0") -> dict:
    """resourceconfig.json for one host."""
    return {
        "current_host": host.name,
        "current_instance_type": host.instance_type,
        "current_group_name": host.group,
        "hosts": sorted(plan.host_names, key=host_sort_key),
        "instance_groups": [
            {"instance_group_name": g.name, "instance_type": g.instance_type,
             "hosts": sorted(g.hosts, key=host_sort_key)}
            for g in plan.groups
        ],
        "network_interface_name": interface,
    }
