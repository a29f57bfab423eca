"""`Workbench.EmulateInstanceResources`: each container gets its instance type's CPUs and
memory, so a job that would run out of memory on an ml.c5.xlarge does so here too.

A type bigger than this machine is capped to what the machine has (Docker refuses more
CPUs than exist), with a notice. Containers get no swap: SageMaker instances have none.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.engine import events as ev
from workbench.engine.extension import Extension, JobContext
from workbench.engine.instance_types import InstanceType, instance_type
from workbench.engine.plan import HostPlan

GIB = 1024 ** 3


@dataclass(frozen=True)
class ResourceLimits:
    cpus: float
    memory_bytes: int | None  # None: the type's memory is not known; memory is not limited
    capped: tuple[str, ...] = ()  # what this machine could not give: "CPUs", "memory"

    def docker_options(self) -> dict:
        options: dict = {"nano_cpus": int(round(self.cpus * 1e9))}
        if self.memory_bytes is not None:
            options["mem_limit"] = self.memory_bytes
            options["memswap_limit"] = self.memory_bytes
        return options

    def describe(self) -> str:
        memory = f"{self.memory_bytes / GIB:.3g} GiB" if self.memory_bytes is not None else "unlimited memory"
        return f"{self.cpus:g} CPU{'s' if self.cpus != 1 else ''} and {memory}"


def limits_for(kind: InstanceType, machine_cpus: int, machine_memory: int) -> ResourceLimits | None:
    """The limits a host of this type gets on a machine with these CPUs and bytes of memory."""
    if not kind.known or kind.vcpus <= 0:
        return None
    capped = []
    cpus = float(kind.vcpus)
    if machine_cpus and cpus > machine_cpus:
        cpus, capped = float(machine_cpus), ["CPUs"]
    memory = int(kind.memory_gib * GIB) if kind.memory_gib else None
    if memory is not None and machine_memory and memory > machine_memory:
        memory = machine_memory
        capped.append("memory")
    return ResourceLimits(cpus, memory, tuple(capped))


def _figures(kind: InstanceType) -> str:
    memory = f"{kind.memory_gib:g} GiB" if kind.memory_gib else "memory not in sm-workbench's table"
    return f"{kind.vcpus} vCPUs and {memory}"


class InstanceLimits(Extension):
    """Caps each host's container to its instance type's vCPUs and memory."""

    def __init__(self, machine: tuple[int, int] | None = None) -> None:
        self.machine = machine  # (CPUs, bytes of memory); None: ask the Docker engine
        self.limits: dict[str, ResourceLimits | None] = {}

    def prepare(self, ctx: JobContext) -> None:
        if self.machine is None:
            info = ctx.docker.client.info()
            self.machine = (int(info.get("NCPU") or 0), int(info.get("MemTotal") or 0))
        cpus, memory = self.machine
        by_type: dict[str, list[str]] = {}
        for host in ctx.plan.hosts:
            by_type.setdefault(host.instance_type, []).append(host.name)
        for name, hosts in by_type.items():
            kind = instance_type(name)
            limits = limits_for(kind, cpus, memory)
            for host in hosts:
                self.limits[host] = limits
            who = f"{name} host{'s' if len(hosts) > 1 else ''} ({', '.join(hosts)})"
            if limits is None:
                ctx.emit(ev.Notice("warning", f"EmulateInstanceResources: {name} is not in sm-workbench's table of "
                                              f"instance types; its hosts ({', '.join(hosts)}) run without limits"))
            elif limits.capped:
                ctx.emit(ev.Notice("warning", f"EmulateInstanceResources: {name} has {_figures(kind)}, this machine "
                                              f"{cpus} CPUs and {memory / GIB:.3g} GiB: each {who} gets "
                                              f"{limits.describe()}"))
            else:
                ctx.emit(ev.Notice("info", f"EmulateInstanceResources: each {who} gets {limits.describe()}"))

    def container_options(self, ctx: JobContext, host: HostPlan) -> dict:
        limits = self.limits.get(host.name)
        return limits.docker_options() if limits is not None else {}
