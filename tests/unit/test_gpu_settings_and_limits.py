"""Workbench.Gpus and EmulateInstanceResources: validation, --set, the limits a host gets,
and how Docker is asked for GPUs."""

import pytest

from workbench.engine.gpus.inventory import GpuInfo
from workbench.engine.gpus.docker_support import CAPABILITIES, docker_gpu_support
from workbench.engine.instance_limits import GIB, limits_for
from workbench.engine.instance_types import instance_type
from workbench.spec import WorkbenchSettings, apply_override
from workbench.spec.validate import check_setting


@pytest.mark.parametrize("value", ["auto", "all", "none", [0], [3, 1]])
def test_gpus_accepts(value):
    assert check_setting("Gpus", value) is None


@pytest.mark.parametrize("value, message", [
    ("some", "must be auto, all, none, or a list of GPU indexes like [0, 1]; not 'some'"),
    ([0, -1], "must be auto, all, none"),
    ([0, True], "must be auto, all, none"),
    ([1, 1], "names GPU 1 more than once"),
    ([], "is an empty list"),
    (2, "must be auto, all, none"),
])
def test_gpus_refuses(value, message):
    assert message in check_setting("Gpus", value)


def test_emulate_instance_resources_is_a_boolean():
    assert check_setting("EmulateInstanceResources", True) is None
    assert "must be true or false" in check_setting("EmulateInstanceResources", "yes")


def test_defaults_and_set():
    settings = WorkbenchSettings()
    assert settings.Gpus == "auto" and settings.EmulateInstanceResources is False
    data = apply_override({}, "Workbench.Gpus=[0, 2]")
    data = apply_override(data, "Workbench.EmulateInstanceResources=true")
    assert data["Workbench"] == {"Gpus": [0, 2], "EmulateInstanceResources": True}
    assert apply_override({}, "Workbench.Gpus=none")["Workbench"]["Gpus"] == "none"
    assert WorkbenchSettings.from_spec(data).Gpus == [0, 2]


# --- EmulateInstanceResources ---------------------------------------------------------


def test_a_type_smaller_than_the_machine_gets_its_own_figures():
    limits = limits_for(instance_type("ml.c5.xlarge"), 64, 256 * GIB)
    assert (limits.cpus, limits.memory_bytes, limits.capped) == (4, 8 * GIB, ())
    assert limits.docker_options() == {"nano_cpus": 4_000_000_000, "mem_limit": 8 * GIB, "memswap_limit": 8 * GIB}
    assert limits.describe() == "4 CPUs and 8 GiB"


def test_a_type_bigger_than_the_machine_is_capped_to_what_it_has():
    limits = limits_for(instance_type("ml.g5.xlarge"), 2, int(23.5 * GIB))
    assert (limits.cpus, limits.memory_bytes, limits.capped) == (2, 16 * GIB, ("CPUs",))
    limits = limits_for(instance_type("ml.p4d.24xlarge"), 8, 32 * GIB)
    assert (limits.cpus, limits.memory_bytes, limits.capped) == (8, 32 * GIB, ("CPUs", "memory"))


def test_odd_figures():
    assert limits_for(instance_type("ml.c4.xlarge"), 8, 64 * GIB).memory_bytes == int(7.5 * GIB)
    unknown_memory = limits_for(instance_type("ml.g7.2xlarge"), 16, 64 * GIB)
    assert unknown_memory.memory_bytes is None and unknown_memory.docker_options() == {"nano_cpus": 8_000_000_000}
    assert limits_for(instance_type("ml.zz9.large"), 8, 64 * GIB) is None


# --- Docker's GPU support ------------------------------------------------------------

GPUS = [GpuInfo(0, "NVIDIA A10G", "GPU-aaaa", 24576), GpuInfo(1, "NVIDIA A10G", "GPU-bbbb", 24576)]
NOTHING = lambda name: None  # noqa: E731  (no hook binary on PATH)


def test_the_nvidia_runtime_means_docker_can_hand_gpus_out():
    support = docker_gpu_support({"Runtimes": {"runc": {}, "nvidia": {"path": "nvidia-container-runtime"}}},
                                 cdi_dirs=[], which=NOTHING)
    assert support.available and support.method == "toolkit"
    [request] = support.device_requests(GPUS[1:])
    assert request["DeviceIDs"] == ["GPU-bbbb"] and request["Capabilities"] == CAPABILITIES
    assert request["Driver"] == "" and request["Count"] == 0


def test_the_toolkit_hook_alone_is_enough():
    support = docker_gpu_support({"Runtimes": {"runc": {}}}, cdi_dirs=[],
                                 which=lambda name: "/usr/bin/" + name if name == "nvidia-container-runtime-hook" else None)
    assert support.method == "toolkit"


def test_cdi_specs_with_a_cdi_enabled_daemon(tmp_path):
    (tmp_path / "nvidia.yaml").write_text("cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: '0'\n")
    (tmp_path / "other.yaml").write_text("kind: vendor.com/fpga\n")
    support = docker_gpu_support({"Runtimes": {"runc": {}}, "CDISpecDirs": [str(tmp_path)]}, which=NOTHING)
    assert support.method == "cdi" and "nvidia.yaml" in support.detail and "other.yaml" not in support.detail
    [request] = support.device_requests(GPUS)
    assert request["Driver"] == "cdi" and request["DeviceIDs"] == ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]


def test_cdi_specs_an_old_docker_cannot_read(tmp_path):
    (tmp_path / "nvidia.json").write_text('{"kind": "nvidia.com/gpu"}')
    support = docker_gpu_support({"Runtimes": {"runc": {}}, "ServerVersion": "20.10.24"},
                                 cdi_dirs=[str(tmp_path)], which=NOTHING)
    assert not support.available and "Docker 20.10.24 does not read them" in support.detail


def test_nothing_at_all(tmp_path):
    support = docker_gpu_support({"Runtimes": {"runc": {}}}, cdi_dirs=[str(tmp_path / "missing")], which=NOTHING)
    assert not support.available and "no NVIDIA container runtime and no CDI specs" in support.detail
    assert support.device_requests([]) == []
