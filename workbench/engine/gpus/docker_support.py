"""Whether, and how, the Docker engine can hand GPUs to containers.

Two ways exist: the NVIDIA container toolkit (Docker's built-in `--gpus` driver; the
`nvidia` runtime in `docker info` shows it is installed) and CDI specs (Docker 25+ with
CDI enabled reads them from /etc/cdi or /var/run/cdi). Without either, a device request
fails only when the container starts; we say so before anything starts instead.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from workbench.engine.gpus.inventory import GpuInfo

CDI_DIRS = ("/etc/cdi", "/var/run/cdi")
CDI_KIND = "nvidia.com/gpu"
# Docker's nvidia driver sets NVIDIA_DRIVER_CAPABILITIES from these: CUDA needs compute,
# nvidia-smi needs utility (an image without the variable would otherwise get utility only).
CAPABILITIES = [["gpu", "compute", "utility"]]

HOW_TO_FIX = (
    "install the NVIDIA Container Toolkit, then `sudo nvidia-ctk runtime configure --runtime=docker` and restart "
    "Docker (or, with Docker 25+, `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`)"
)


@dataclass(frozen=True)
class DockerGpuSupport:
    method: str  # "toolkit" (Docker's nvidia driver), "cdi", or "" when Docker cannot hand GPUs out
    detail: str  # what was found, for doctor and error messages

    @property
    def available(self) -> bool:
        return bool(self.method)

    def device_requests(self, gpus: Sequence[GpuInfo]) -> list:
        """The docker `device_requests` giving a container exactly these GPUs."""
        from docker.types import DeviceRequest  # deferred: the Docker SDK (~0.25 s to import)

        if not gpus:
            return []
        if self.method == "cdi":
            return [DeviceRequest(driver="cdi", device_ids=[f"{CDI_KIND}={g.index}" for g in gpus])]
        return [DeviceRequest(device_ids=[g.uuid or str(g.index) for g in gpus], capabilities=CAPABILITIES)]


def _cdi_specs(folders: Sequence[str]) -> list[Path]:
    found = []
    for folder in folders:
        try:
            candidates = sorted(Path(folder).iterdir())
        except OSError:
            continue
        for path in candidates:
            if path.suffix not in (".yaml", ".yml", ".json"):
                continue
            try:
                if CDI_KIND in path.read_text(errors="replace"):
                    found.append(path)
            except OSError:
                continue
    return found


def docker_gpu_support(info: dict, *, cdi_dirs: Sequence[str] | None = None,
                       which: Callable[[str], str | None] = shutil.which) -> DockerGpuSupport:
    """How the engine described by `docker info` can give containers GPUs."""
    runtimes = info.get("Runtimes") or {}
    if "nvidia" in runtimes:
        return DockerGpuSupport("toolkit", "the NVIDIA container runtime is registered with Docker")
    daemon_cdi_dirs = info.get("CDISpecDirs")  # present (and non-empty) when the daemon has CDI on
    specs = _cdi_specs(cdi_dirs if cdi_dirs is not None else (daemon_cdi_dirs or CDI_DIRS))
    if specs and daemon_cdi_dirs:
        return DockerGpuSupport("cdi", f"CDI specs for {CDI_KIND}: {', '.join(str(p) for p in specs)}")
    if which("nvidia-container-runtime-hook"):
        return DockerGpuSupport("toolkit", "the NVIDIA container toolkit's hook is installed")
    if specs:
        version = info.get("ServerVersion", "?")
        return DockerGpuSupport("", f"CDI specs exist ({specs[0]}) but Docker {version} does not read them "
                                    f"(CDI needs Docker 25+ with CDI enabled)")
    return DockerGpuSupport("", f"Docker has no NVIDIA container runtime and no CDI specs for {CDI_KIND} "
                                f"(looked in {', '.join(CDI_DIRS)})")
