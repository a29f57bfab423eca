"""This machine's GPUs now, for `sm-workbench gpus` and doctor: one sample each, the
sm-workbench hosts whose processes use them, and whether Docker can hand them out."""

from __future__ import annotations

from workbench.engine.docker_client import connect
from workbench.engine.gpus.docker_support import docker_gpu_support
from workbench.engine.gpus.inventory import probe
from workbench.engine.gpus.sampler import ContainerProcesses, MachineGpus, docker_top, sample_machine
from workbench.engine.labels import LABEL_HOST, LABEL_JOB, LABEL_ROLE
from workbench.errors import WorkbenchError


def machine_gpus() -> MachineGpus:
    """No driver is a state, never an error; without Docker the GPUs still show."""
    from docker.errors import DockerException  # deferred: the Docker SDK costs ~0.25 s to import


    inventory = probe()
    if not inventory.available:
        return MachineGpus(inventory)
    owners, info = None, None
    try:
        client = connect(timeout=10)
        info = client.info()
        running = client.containers.list(filters={"label": f"{LABEL_ROLE}=training"})
        by_host = {f"{c.labels.get(LABEL_JOB)}/{c.labels.get(LABEL_HOST)}": c for c in running}
        owners = ContainerProcesses({key: c.id for key, c in by_host.items()}, top=docker_top(by_host))
    except (WorkbenchError, DockerException):
        pass
    snapshot = sample_machine(owners=owners)
    if info is not None:
        support = docker_gpu_support(info)
        state = "can" if support.available else "cannot"
        snapshot.docker = f"Docker {state} hand GPUs to containers: {support.detail}"
    return snapshot
