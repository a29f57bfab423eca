"""GPU utilization through NVML, about once a second while a job runs, as `GpuSample` events.

NVML reports the processes on each GPU by host pid; a pid belongs to a host's container
when the container's id appears in /proc/<pid>/cgroup (cgroup v1 and v2, cgroupfs and
systemd drivers alike). When /proc does not show it (sm-workbench in another pid
namespace), `docker top` of the job's containers answers instead.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from workbench.engine import events as ev
from workbench.engine.gpus.inventory import GpuInventory, _text, load_nvml, probe

MIB = 1024 * 1024


class ContainerProcesses:
    """Which host's container a process id belongs to."""

    def __init__(self, containers: dict[str, str], *, proc_root: Path | str = "/proc",
                 top: Callable[[], dict[str, set[int]]] | None = None, top_every: float = 5.0) -> None:
        self.containers = {host: cid for host, cid in containers.items() if cid}
        self.proc_root = Path(proc_root)
        self.top = top
        self.top_every = top_every
        self._top_pids: dict[str, set[int]] = {}
        self._top_time = float("-inf")

    def host_of(self, pid: int) -> str | None:
        try:
            cgroup = (self.proc_root / str(pid) / "cgroup").read_text(errors="replace")
        except OSError:
            cgroup = ""
        for host, container_id in self.containers.items():
            if container_id in cgroup:
                return host
        return self._from_top(pid)

    def _from_top(self, pid: int) -> str | None:
        if self.top is None:
            return None
        now = time.monotonic()
        age = now - self._top_time
        known = any(pid in pids for pids in self._top_pids.values())
        # Refresh now and then, and sooner (at most once a second) for a pid not seen yet.
        if age >= self.top_every or (not known and age >= 1.0):
            try:
                self._top_pids = self.top()
            except Exception:  # a container that just exited; try again later
                self._top_pids = {}
            self._top_time = now
        return next((host for host, pids in self._top_pids.items() if pid in pids), None)


def docker_top(containers: dict[str, object]) -> Callable[[], dict[str, set[int]]]:
    """`docker top` of each host's container: the host pids of its processes."""

    def read() -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for host, container in containers.items():
            try:
                table = container.top(ps_args="-eo pid")
            except Exception:
                continue
            titles = table.get("Titles") or ["PID"]
            column = titles.index("PID") if "PID" in titles else 0
            out[host] = {int(row[column]) for row in table.get("Processes") or [] if str(row[column]).isdigit()}
        return out

    return read


def _try(call: Callable, *args):
    try:
        return call(*args)
    except Exception:  # NVMLError_NotSupported and friends: that figure is unknown
        return None


def _pids(nvml, handle) -> list[int]:
    pids: list[int] = []
    for name in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        call = getattr(nvml, name, None)
        for process in (_try(call, handle) if call else None) or []:
            pid = getattr(process, "pid", None)
            if pid is not None and pid not in pids:
                pids.append(int(pid))
    return pids


def read_gpu(nvml, index: int, *, name: str = "", assigned: tuple[str, ...] = (),
             owners: ContainerProcesses | None = None, handle=None) -> ev.GpuSample:
    """One sample of one GPU (NVML initialised). Figures the GPU cannot give are None; a GPU
    that answers nothing (lost, reset) raises, as its memory is the one figure every GPU has."""
    if handle is None:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    if not name:
        name = _text(_try(nvml.nvmlDeviceGetName, handle) or f"GPU {index}")
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    rates = _try(nvml.nvmlDeviceGetUtilizationRates, handle)
    temperature = _try(nvml.nvmlDeviceGetTemperature, handle, getattr(nvml, "NVML_TEMPERATURE_GPU", 0))
    power_mw = _try(nvml.nvmlDeviceGetPowerUsage, handle)
    pids = _pids(nvml, handle)
    hosts: list[str] = []
    if owners is not None:
        for pid in pids:
            host = owners.host_of(pid)
            if host and host not in hosts:
                hosts.append(host)
    return ev.GpuSample(
        index=index, name=name,
        utilization=float(rates.gpu) if rates is not None else None,
        memory_used_mib=int(memory.used // MIB), memory_total_mib=int(memory.total // MIB),
        temperature_c=float(temperature) if temperature is not None else None,
        power_w=round(power_mw / 1000.0, 1) if power_mw is not None else None,
        hosts=tuple(sorted(hosts)), assigned=tuple(assigned), processes=len(pids),
    )


class GpuSampler:
    """A thread that emits one GpuSample per GPU every `interval` seconds until stopped.

    NVML failing (no driver, a GPU lost) never raises: it becomes one warning notice.
    """

    def __init__(self, gpus: dict[int, tuple[str, ...]], emit: Callable[[ev.Event], None], *, nvml=None,
                 owners: ContainerProcesses | None = None, interval: float = 1.0) -> None:
        self.gpus = dict(gpus)  # GPU index -> the hosts it was given to
        self.emit = emit
        self.nvml = nvml
        self.owners = owners
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        nvml = self.nvml or load_nvml()
        if nvml is None:
            self.emit(ev.Notice("warning", "GPU sampling is off: nvidia-ml-py is not installed"))
            return
        try:
            nvml.nvmlInit()
        except Exception as err:
            self.emit(ev.Notice("warning", f"GPU sampling is off: NVML does not start ({_text(err) or type(err).__name__})"))
            return
        failing: set[int] = set()
        try:
            handles, names = {}, {}
            for index in self.gpus:
                try:
                    handles[index] = nvml.nvmlDeviceGetHandleByIndex(index)
                    names[index] = _text(_try(nvml.nvmlDeviceGetName, handles[index]) or f"GPU {index}")
                except Exception as err:
                    self.emit(ev.Notice("warning", f"GPU {index} cannot be sampled: {_text(err) or type(err).__name__}"))
            while not self._stop.is_set():
                for index, handle in handles.items():
                    try:
                        sample = read_gpu(nvml, index, name=names[index], assigned=self.gpus[index],
                                          owners=self.owners, handle=handle)
                    except Exception as err:  # never let the sampler take the job down
                        if index not in failing:
                            failing.add(index)
                            self.emit(ev.Notice("warning", f"GPU {index} sampling failed: {err}"))
                        continue
                    self.emit(sample)
                self.samples += 1
                self._stop.wait(self.interval)
        finally:
            try:
                nvml.nvmlShutdown()
            except Exception:
                pass


@dataclass
class MachineGpus:
    """This machine's GPUs right now, for `sm-workbench gpus` without a job."""

    inventory: GpuInventory
    samples: list[ev.GpuSample] = field(default_factory=list)
    docker: str = ""  # how Docker hands GPUs out, or why it cannot ("" when not asked)


def sample_machine(nvml=None, owners: ContainerProcesses | None = None) -> MachineGpus:
    """One sample of every GPU of this machine; no driver gives an inventory with its reason."""
    inventory = probe(nvml)
    if not inventory.available:
        return MachineGpus(inventory)
    nvml = nvml or load_nvml()
    samples: list[ev.GpuSample] = []
    try:
        nvml.nvmlInit()
    except Exception as err:
        return MachineGpus(GpuInventory(reason=f"no GPU: NVML does not start ({_text(err)})"))
    try:
        for gpu in inventory.gpus:
            try:
                samples.append(read_gpu(nvml, gpu.index, name=gpu.name, owners=owners))
            except Exception:
                continue
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass
    return MachineGpus(inventory, samples)


def latest_samples(events: Iterable[ev.Event]) -> list[ev.GpuSample]:
    """The last sample of each GPU, by index."""
    latest: dict[int, ev.GpuSample] = {}
    for event in events:
        if isinstance(event, ev.GpuSample):
            latest[event.index] = event
    return [latest[i] for i in sorted(latest)]
