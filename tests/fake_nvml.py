"""A stand-in for pynvml with the calls sm-workbench makes, for machines without GPUs.

The engine takes pynvml or any object with the same calls (the issue allows this); the
figures here are whatever a test sets, and change between reads when given as lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

MIB = 1024 * 1024


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):
    def __str__(self) -> str:
        return "Not Supported"


class NVMLError_LibraryNotFound(NVMLError):
    def __str__(self) -> str:
        return "NVML Shared Library Not Found"


@dataclass
class FakeGpu:
    name: str = "NVIDIA A10G"
    uuid: str = ""
    memory_total_mib: int = 24576
    memory_used_mib: int | list = 0
    utilization: int | list | None = 0  # a list: one value per read, the last repeats; None: not supported
    temperature: int = 40
    power_mw: int | None = 60000  # None: not supported
    pids: list[int] = field(default_factory=list)
    graphics_pids: list[int] = field(default_factory=list)
    broken: bool = False  # every read raises (a GPU that fell off the bus)


def _next(value, reads: int):
    if isinstance(value, list):
        return value[min(reads, len(value) - 1)]
    return value


class FakeNvml:
    NVML_TEMPERATURE_GPU = 0
    NVMLError = NVMLError

    def __init__(self, gpus: list[FakeGpu] | None = None, *, driver: str = "550.54.15",
                 init_error: Exception | None = None) -> None:
        self.gpus = gpus or []
        for index, gpu in enumerate(self.gpus):
            gpu.uuid = gpu.uuid or f"GPU-{index:08d}-fake-{index:04d}-0000-000000000000"
        self.driver = driver
        self.init_error = init_error
        self.initialised = 0
        self.shutdowns = 0
        self.reads = {i: 0 for i in range(len(self.gpus))}

    def _gpu(self, handle) -> FakeGpu:
        gpu = self.gpus[handle]
        if gpu.broken:
            raise NVMLError("GPU is lost")
        return gpu

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if not 0 <= index < len(self.gpus):
            raise NVMLError("Invalid Argument")
        return index

    def nvmlDeviceGetName(self, handle) -> bytes:
        return self._gpu(handle).name.encode()  # older pynvml returns bytes

    def nvmlDeviceGetUUID(self, handle) -> str:
        return self._gpu(handle).uuid

    def nvmlDeviceGetMemoryInfo(self, handle):
        gpu = self._gpu(handle)
        used = _next(gpu.memory_used_mib, self.reads[handle]) * MIB
        total = gpu.memory_total_mib * MIB
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetUtilizationRates(self, handle):
        gpu = self._gpu(handle)
        value = _next(gpu.utilization, self.reads[handle])
        self.reads[handle] += 1
        if value is None:
            raise NVMLError_NotSupported()
        return SimpleNamespace(gpu=value, memory=value // 2)

    def nvmlDeviceGetTemperature(self, handle, sensor) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._gpu(handle).temperature

    def nvmlDeviceGetPowerUsage(self, handle) -> int:
        gpu = self._gpu(handle)
        if gpu.power_mw is None:
            raise NVMLError_NotSupported()
        return gpu.power_mw

    def nvmlDeviceGetComputeRunningProcesses(self, handle) -> list:
        return [SimpleNamespace(pid=pid, usedGpuMemory=1024 * MIB) for pid in self._gpu(handle).pids]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle) -> list:
        return [SimpleNamespace(pid=pid, usedGpuMemory=None) for pid in self._gpu(handle).graphics_pids]


def no_driver() -> FakeNvml:
    """NVML as on a machine without the NVIDIA driver."""
    return FakeNvml(init_error=NVMLError_LibraryNotFound())


def gpus(count: int, **figures) -> FakeNvml:
    return FakeNvml([FakeGpu(**figures) for _ in range(count)])
