"""The GPU capability: each host gets its GPUs through Docker device requests, and the
GPUs are sampled while the job runs.

Whether a job can have the GPUs it asks for is checked twice: before the job is created
(`check_gpus_ready`, so a refused run leaves nothing behind) and again when it prepares
(a detached worker or a rerun may find another machine state).
"""

from __future__ import annotations

from pathlib import Path

from workbench.engine import events as ev
from workbench.engine.extension import Extension, JobContext
from workbench.engine.gpus.assign import GpuAssignment, assign_gpus
from workbench.engine.gpus.docker_support import HOW_TO_FIX, DockerGpuSupport, docker_gpu_support
from workbench.engine.gpus.inventory import GpuInventory, probe
from workbench.engine.gpus.sampler import ContainerProcesses, GpuSampler, docker_top
from workbench.engine.instance_types import instance_type
from workbench.engine.labels import LABEL_HOST
from workbench.engine.plan import HostPlan, JobPlan, make_plan
from workbench.errors import WorkbenchError
from workbench.spec.settings import WorkbenchSettings


def needs_gpus(plan: JobPlan, settings: WorkbenchSettings) -> bool:
    """Whether GPUs concern this job at all (a CPU job with no GPU setting costs nothing)."""
    return settings.Gpus != "auto" or any(instance_type(h.instance_type).has_gpus for h in plan.hosts)


def plan_gpus(plan: JobPlan, settings: WorkbenchSettings, inventory: GpuInventory) -> GpuAssignment:
    return assign_gpus(plan.hosts, [g.index for g in inventory.gpus], settings.Gpus, inventory.reason)


def require_docker_support(inventory: GpuInventory, support: DockerGpuSupport) -> None:
    if not support.available:
        raise WorkbenchError(
            f"This machine has {len(inventory.gpus)} GPU{'s' if len(inventory.gpus) != 1 else ''} but Docker "
            f"cannot hand them to containers: {support.detail}. To fix: {HOW_TO_FIX}; or set Workbench.Gpus "
            f"to none to run on the CPU"
        )


def check_gpus_ready(spec: dict, client, nvml=None) -> None:
    """Refuse, before anything is created, a job that cannot get the GPUs it asks for."""
    plan = make_plan({"ResourceConfig": spec.get("ResourceConfig") or {}})  # the hosts; channels do not matter
    settings = WorkbenchSettings.from_spec(spec)
    if not needs_gpus(plan, settings):
        return
    inventory = probe(nvml)
    assignment = plan_gpus(plan, settings, inventory)
    if assignment.any:
        require_docker_support(inventory, docker_gpu_support(client.info()))


class GpuHosts(Extension):
    """Gives each host its share of the machine's GPUs and samples them while it trains."""

    def __init__(self, settings: WorkbenchSettings, *, nvml=None, support: DockerGpuSupport | None = None,
                 interval: float = 1.0, proc_root: Path | str = "/proc") -> None:
        self.settings = settings
        self.nvml = nvml  # pynvml, or a stand-in with the same calls
        self.support = support
        self.interval = interval
        self.proc_root = proc_root
        self.inventory: GpuInventory | None = None
        self.assignment: GpuAssignment | None = None
        self.sampler: GpuSampler | None = None

    def prepare(self, ctx: JobContext) -> None:
        self.inventory = inventory = probe(self.nvml)
        self.assignment = assignment = plan_gpus(ctx.plan, self.settings, inventory)
        if assignment.any:
            if self.support is None:
                self.support = docker_gpu_support(ctx.docker.client.info())
            require_docker_support(inventory, self.support)
        for level, message in assignment.notices:
            ctx.emit(ev.Notice(level, message))
        names = {g.index: g.name for g in inventory.gpus}
        for host in assignment.hosts:
            reason = assignment.reason if host.expected and not host.gpus else ""
            ctx.emit(ev.GpuAssigned(host.host, host.instance_type, host.gpus, host.expected,
                                    tuple(names.get(i, "") for i in host.gpus), reason))
        if assignment.any:
            given = "; ".join(
                f"{h.host} -> GPU{'s' if len(h.gpus) > 1 else ''} {', '.join(str(i) for i in h.gpus)}"
                f" ({names.get(h.gpus[0], '?')})"
                for h in assignment.hosts if h.gpus
            )
            ctx.emit(ev.Notice("info", f"GPUs: {given}"))

    def container_options(self, ctx: JobContext, host: HostPlan) -> dict:
        if self.assignment is None or self.inventory is None or self.support is None:
            return {}
        gpus = self.assignment.gpus_of(host.name)
        if not gpus:
            return {}
        by_index = {g.index: g for g in self.inventory.gpus}
        return {"device_requests": self.support.device_requests([by_index[i] for i in gpus])}

    def started(self, ctx: JobContext) -> None:
        containers = {c.labels.get(LABEL_HOST): c for c in ctx.docker.find(role="training")} \
            if ctx.docker is not None else {}
        gpus = self.assignment.assigned if self.assignment is not None else self._adopted(containers)
        if not gpus:
            return
        owners = ContainerProcesses({host: c.id for host, c in containers.items() if host},
                                    proc_root=self.proc_root, top=docker_top(containers))
        self._stop_sampler()
        self.sampler = GpuSampler(gpus, ctx.emit, nvml=self.nvml, owners=owners, interval=self.interval)
        self.sampler.start()

    def _adopted(self, containers: dict) -> dict[int, tuple[str, ...]]:
        """A job taken over from a dead process: its GPUs, read back from its containers."""
        inventory = probe(self.nvml)
        by_id = {g.uuid: g.index for g in inventory.gpus} | {str(g.index): g.index for g in inventory.gpus}
        out: dict[int, list[str]] = {}
        for host, container in sorted(containers.items()):
            requests = (container.attrs.get("HostConfig") or {}).get("DeviceRequests") or []
            for request in requests:
                for device in request.get("DeviceIDs") or []:
                    index = by_id.get(device.rsplit("=", 1)[-1])
                    if index is not None:
                        out.setdefault(index, []).append(host)
        return {index: tuple(hosts) for index, hosts in sorted(out.items())}

    def _stop_sampler(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None

    def stopped(self, ctx: JobContext) -> None:
        self._stop_sampler()

    def close(self, ctx: JobContext) -> None:
        self._stop_sampler()
