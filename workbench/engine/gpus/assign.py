"""Which of this machine's GPUs each host gets: a pure function of the hosts' instance
types, the GPUs present and `Workbench.Gpus`.

On SageMaker every instance has its own GPUs. Locally the hosts split the machine's GPUs
in order, each taking as many as its instance type has, so a script sees the device
count it will see in the cloud. Asking for more than exist is refused before anything
starts, unless the user chose GPUs explicitly (`all` or a list): then hosts share and
are warned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from workbench.engine.instance_types import InstanceType, instance_type, looks_accelerated
from workbench.errors import WorkbenchError


class HostLike(Protocol):
    name: str
    instance_type: str


@dataclass(frozen=True)
class HostGpus:
    host: str
    instance_type: str
    expected: int  # GPUs the instance type has on SageMaker
    gpus: tuple[int, ...] = ()  # this machine's GPU indexes the host gets


@dataclass(frozen=True)
class GpuAssignment:
    hosts: tuple[HostGpus, ...]
    notices: tuple[tuple[str, str], ...] = field(default=())  # (level, message)
    reason: str = ""  # why no host got a GPU, when none did and some host's type has GPUs

    def gpus_of(self, host: str) -> tuple[int, ...]:
        return next((h.gpus for h in self.hosts if h.host == host), ())

    @property
    def assigned(self) -> dict[int, tuple[str, ...]]:
        """GPU index -> the hosts it was given to."""
        out: dict[int, list[str]] = {}
        for host in self.hosts:
            for index in host.gpus:
                out.setdefault(index, []).append(host.host)
        return {index: tuple(hosts) for index, hosts in sorted(out.items())}

    @property
    def any(self) -> bool:
        return any(h.gpus for h in self.hosts)


def _indexes(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _needs(types: list[InstanceType]) -> str:
    """'2 x ml.g5.12xlarge with 4 NVIDIA A10Gs each' (in host order, grouped by type)."""
    groups: dict[str, list[InstanceType]] = {}
    for item in types:
        groups.setdefault(item.name, []).append(item)
    parts = []
    for name, items in groups.items():
        each = items[0].describe_gpus()
        parts.append(f"{len(items)} x {name} with {each} each" if len(items) > 1 else f"1 x {name} with {each}")
    return " + ".join(parts)


def _cpu_only_notices(types: dict[str, InstanceType]) -> list[tuple[str, str]]:
    notices = []
    for item in types.values():
        if item.neuron_devices:
            notices.append(("info", f"{item.name} has {item.accelerator} (Neuron) devices, not NVIDIA GPUs; "
                                    f"its hosts run on the CPU here"))
        elif not item.known:
            hint = " (on SageMaker it may have GPUs)" if looks_accelerated(item.name) else ""
            notices.append(("warning", f"{item.name} is not in sm-workbench's table of instance types{hint}; "
                                       f"its hosts get no GPU and no resource limits: update sm-workbench"))
    return notices


def assign_gpus(hosts: Sequence[HostLike], available: Sequence[int], setting: str | list = "auto",
                no_gpu_reason: str = "") -> GpuAssignment:
    """Each host's GPUs. `available` lists the machine's GPU indexes; `no_gpu_reason` says
    why it is empty. Raises WorkbenchError when the job cannot get the GPUs it asks for."""
    types = {h.instance_type: instance_type(h.instance_type) for h in hosts}
    notices = _cpu_only_notices(types)
    gpu_hosts = [h for h in hosts if types[h.instance_type].has_gpus]
    none_for_all = tuple(HostGpus(h.name, h.instance_type, types[h.instance_type].gpus) for h in hosts)
    example = types[gpu_hosts[0].instance_type] if gpu_hosts else None
    on_sagemaker = f"on SageMaker, {example.name} has {example.describe_gpus()}" if example else ""

    if not gpu_hosts:
        if setting != "auto" and setting != "none":
            notices.append(("warning", f"Workbench.Gpus is {setting!r} but no host has a GPU instance type "
                                       f"({', '.join(types)}); it has no effect. Give the hosts a GPU type "
                                       f"such as ml.g5.xlarge to give them GPUs"))
        return GpuAssignment(none_for_all, tuple(notices))

    if setting == "none":
        notices.append(("info", f"Workbench.Gpus is none: the job runs on the CPU ({on_sagemaker})"))
        return GpuAssignment(none_for_all, tuple(notices), reason="Workbench.Gpus is none")

    available = list(available)
    need = sum(types[h.instance_type].gpus for h in gpu_hosts)
    needs = _needs([types[h.instance_type] for h in gpu_hosts])
    have = f"GPUs {_indexes(available)}" if len(available) > 1 else f"GPU {_indexes(available)}"
    reason = no_gpu_reason or "no GPU found"

    if setting == "auto":
        if not available:
            notices.append(("warning", f"{reason}; the job runs on the CPU ({on_sagemaker})"))
            return GpuAssignment(none_for_all, tuple(notices), reason=reason)
        if need > len(available):
            raise WorkbenchError(
                f"The job needs {_plural(need, 'GPU')} ({needs}) but this machine has {len(available)} "
                f"({have}). Set Workbench.Gpus to all to let the hosts share them, to a list such as "
                f"[{_indexes(available)}] to choose which, or to none to run on the CPU"
            )
        assigned, position = [], 0
        for host in hosts:
            count = types[host.instance_type].gpus
            assigned.append(HostGpus(host.name, host.instance_type, count, tuple(available[position:position + count])))
            position += count
        return GpuAssignment(tuple(assigned), tuple(notices))

    if setting == "all":
        if not available:
            raise WorkbenchError(
                f"Workbench.Gpus is all, but this machine has no GPU ({reason}). Remove Workbench.Gpus "
                f"(or set it to auto) to run on the CPU with a notice"
            )
        pool, cycle = available, False
    elif isinstance(setting, list):
        missing = [i for i in setting if i not in available]
        if missing:
            has = f"its GPUs: {_indexes(available)}" if available else reason
            raise WorkbenchError(
                f"Workbench.Gpus names GPU {_indexes(missing)}, which this machine does not have ({has}); "
                f"fix the list, or remove Workbench.Gpus to assign GPUs by instance type"
            )
        pool, cycle = list(setting), True
    else:
        raise WorkbenchError(f"Workbench.Gpus must be auto, all, none or a list of GPU indexes, not {setting!r}")

    assigned, position = [], 0
    for host in hosts:
        count = types[host.instance_type].gpus
        if not count:
            assigned.append(HostGpus(host.name, host.instance_type, 0))
            continue
        if cycle:
            take = min(count, len(pool))
            gpus = tuple(pool[(position + k) % len(pool)] for k in range(take))
            position += take
        else:
            gpus = tuple(pool)
        assigned.append(HostGpus(host.name, host.instance_type, count, gpus))
        if len(gpus) < count:
            notices.append(("warning", f"{host.name} gets {_plural(len(gpus), 'GPU')}; {host.instance_type} has "
                                       f"{count} on SageMaker"))
        elif len(gpus) > count:
            notices.append(("info", f"{host.name} sees {_plural(len(gpus), 'GPU')}; {host.instance_type} has "
                                    f"{count} on SageMaker"))
    result = GpuAssignment(tuple(assigned), ())
    shared = {index: users for index, users in result.assigned.items() if len(users) > 1}
    if shared:
        detail = "; ".join(f"GPU {index}: {', '.join(users)}" for index, users in shared.items())
        notices.append(("warning", f"hosts share GPUs (Workbench.Gpus: {setting}): {detail}"))
    return GpuAssignment(tuple(assigned), tuple(notices))
