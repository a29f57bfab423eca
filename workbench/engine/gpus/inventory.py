"""GPUs through NVML (nvidia-ml-py). No driver is a normal state, never an exception."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    uuid: str
    memory_total_mib: int


@dataclass(frozen=True)
class GpuInventory:
    gpus: list[GpuInfo] = field(default_factory=list)
    driver_version: str = ""
    reason: str = ""  # why there are none, when there are none

    @property
    def available(self) -> bool:
        return bool(self.gpus)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def load_nvml():
    """pynvml (nvidia-ml-py), or None when it is not installed."""
    try:
        import pynvml  # deferred: NVML loads the GPU driver's library
    except ImportError:
        return None
    return pynvml


def probe(nvml=None) -> GpuInventory:
    """The machine's GPUs; `nvml` is pynvml or a stand-in with the same calls."""
    if nvml is None:
        nvml = load_nvml()
        if nvml is None:
            return GpuInventory(reason="no GPU: nvidia-ml-py is not installed")
    try:
        nvml.nvmlInit()
    except Exception as err:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return GpuInventory(reason=f"no GPU: NVIDIA driver not available ({_text(err) or type(err).__name__})")
    try:
        count = nvml.nvmlDeviceGetCount()
        gpus = []
        for index in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(GpuInfo(
                index=index,
                name=_text(nvml.nvmlDeviceGetName(handle)),
                uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                memory_total_mib=int(memory.total // (1024 * 1024)),
            ))
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        return GpuInventory(gpus=gpus, driver_version=driver, reason="" if gpus else "no GPU: the driver reports 0 devices")
    except Exception as err:
        return GpuInventory(reason=f"no GPU: NVML error ({_text(err) or type(err).__name__})")
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass
