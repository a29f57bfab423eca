"""GPUs and instance resources on the real Docker engine: a GPU job on a machine without a
driver, refused GPU demands, container limits, and the sampler following real containers
(with a stand-in for NVML, as this machine has no GPU)."""

import time

import pytest

from tests.fake_nvml import FakeGpu, FakeNvml
from tests.integration.jobs import Ran, leftovers, probe_spec, unique
from workbench.engine import events as ev
from workbench.engine.gpus.inventory import probe
from workbench.errors import WorkbenchError

pytestmark = pytest.mark.docker

GIB = 1024 ** 3


@pytest.fixture
def without_driver():
    inventory = probe()
    if inventory.available:
        pytest.skip("this machine has an NVIDIA driver and GPUs")
    return inventory


def run_inspecting(spec: dict, tmp_path, client) -> tuple[Ran, dict]:
    """Run a spec; also keep each host's HostConfig, read while its container exists."""
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    seen: list[ev.Event] = []
    host_configs: dict[str, dict] = {}

    def inspect(event: ev.Event) -> None:
        if isinstance(event, ev.HostStarted):
            host_configs[event.host] = client.api.inspect_container(event.container_id)["HostConfig"]

    job = launch(check_spec(spec, source="test.yaml", base_dir=tmp_path), subscribers=[seen.append, inspect])
    record = job.run()
    return Ran(record, seen, job.paths), host_configs


def test_a_gpu_job_on_a_machine_without_a_driver_runs_on_the_cpu(docker_client, images, tmp_path, without_driver,
                                                                  capsys):
    spec = probe_spec(tmp_path, hosts=2, ResourceConfig={"InstanceType": "ml.g5.xlarge"})
    ran, host_configs = run_inspecting(spec, tmp_path, docker_client)
    assert ran.record["TrainingJobStatus"] == "Completed"
    notices = [n.message for n in ran.of(ev.Notice) if n.level == "warning"]
    assert f"{without_driver.reason}; the job runs on the CPU (on SageMaker, ml.g5.xlarge has 1 NVIDIA A10G GPU)" in notices
    assert [(a.host, a.gpus, a.expected, a.reason) for a in ran.of(ev.GpuAssigned)] == [
        ("algo-1", (), 1, without_driver.reason), ("algo-2", (), 1, without_driver.reason)]
    assert not ran.of(ev.GpuSample)
    assert all(not config.get("DeviceRequests") for config in host_configs.values()) and len(host_configs) == 2
    assert ran.record["Workbench"]["Gpus"]["Hosts"]["algo-2"]["Reason"] == without_driver.reason

    from workbench.cli import main

    capsys.readouterr()
    assert main(["gpus", ran.name]) == 0
    out = capsys.readouterr().out
    assert f"Job {ran.name} (Completed)" in out
    assert f"algo-1   ml.g5.xlarge       CPU: {without_driver.reason}" in out


@pytest.mark.parametrize("gpus", ["all", [0]])
def test_demanding_gpus_the_machine_does_not_have_is_refused_before_anything_starts(
        docker_client, images, tmp_path, without_driver, gpus, state_home):
    from workbench.engine.api import launch
    from workbench.spec import check_spec

    spec = probe_spec(tmp_path, ResourceConfig={"InstanceType": "ml.g5.xlarge"}, Workbench={"Gpus": gpus})
    with pytest.raises(WorkbenchError, match="this machine has no GPU|which this machine does not have") as err:
        launch(check_spec(spec, source="test.yaml", base_dir=tmp_path))
    assert without_driver.reason in str(err.value)
    assert not (state_home / "jobs" / spec["TrainingJobName"]).exists()
    assert leftovers(docker_client, spec["TrainingJobName"]) == []


CGROUP_LIMITS = """
cd /opt/ml/output/data
if [ -f /sys/fs/cgroup/memory.max ]; then
  cat /sys/fs/cgroup/memory.max > memory; cat /sys/fs/cgroup/cpu.max > cpu
else
  cat /sys/fs/cgroup/memory/memory.limit_in_bytes > memory
  echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)" > cpu
fi
"""


def test_emulate_instance_resources_limits_each_container_to_its_type(docker_client, images, tmp_path):
    machine_cpus = docker_client.info()["NCPU"]
    spec = probe_spec(
        tmp_path, image=images["shell"],
        AlgorithmSpecification={"ContainerEntrypoint": ["sh", "/opt/ml/input/data/train/limits.sh"]},
        ResourceConfig={"InstanceGroups": [
            {"InstanceGroupName": "small", "InstanceType": "ml.t3.medium", "InstanceCount": 1},
            {"InstanceGroupName": "big", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1}]},
        Workbench={"EmulateInstanceResources": True, "StopGracePeriodSeconds": 3},
    )
    (tmp_path / "data" / "limits.sh").write_text(CGROUP_LIMITS)
    spec["ResourceConfig"].pop("InstanceType")
    spec["ResourceConfig"].pop("InstanceCount")
    ran, host_configs = run_inspecting(spec, tmp_path, docker_client)
    assert ran.record["TrainingJobStatus"] == "Completed", ran.record.get("FailureReason")
    expected = {"algo-1": (min(2, machine_cpus), 4 * GIB), "algo-2": (min(4, machine_cpus), 8 * GIB)}
    for host, (cpus, memory) in expected.items():
        config = host_configs[host]
        assert (config["NanoCpus"], config["Memory"]) == (cpus * 10**9, memory)
        # and as the container itself sees them
        data = ran.paths.opt_ml(host) / "output" / "data"
        assert int((data / "memory").read_text()) == memory
        quota, period = (int(v) for v in (data / "cpu").read_text().split())
        assert quota / period == cpus
    notices = {n.message for n in ran.of(ev.Notice)}
    assert f"EmulateInstanceResources: each ml.t3.medium host (algo-1) gets {min(2, machine_cpus)} CPUs and 4 GiB" in notices
    if machine_cpus < 4:
        assert any(m.startswith("EmulateInstanceResources: ml.c5.xlarge has 4 vCPUs and 8 GiB, this machine "
                                f"{machine_cpus} CPUs") for m in notices)
    assert not ran.of(ev.GpuAssigned)  # CPU types, no Gpus setting: the GPU capability stays out


def test_without_the_setting_containers_have_no_limits(docker_client, images, tmp_path):
    ran, host_configs = run_inspecting(probe_spec(tmp_path), tmp_path, docker_client)
    assert ran.record["TrainingJobStatus"] == "Completed"
    assert (host_configs["algo-1"]["NanoCpus"], host_configs["algo-1"]["Memory"]) == (0, 0)


# --- the sampler following real containers -------------------------------------------


@pytest.fixture
def training_container(docker_client, images, tmp_path):
    """A running container labelled as host algo-1 of a job, as the runner labels them."""
    from workbench.engine.docker_backend import DockerJob

    job = DockerJob(docker_client, unique("gpu-map"), str(tmp_path / "home"))
    container = docker_client.containers.run(images["shell"], ["300"], entrypoint=["sleep"], detach=True,
                                             labels=job.labels("algo-1", "training"))
    container.reload()
    try:
        yield job, container
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("proc_root", ["/proc", "empty"], ids=["cgroup", "docker-top"])
def test_samples_name_the_host_whose_container_runs_on_the_gpu(training_container, tmp_path, proc_root):
    from workbench.engine.extension import JobContext
    from workbench.engine.gpus.docker_support import DockerGpuSupport
    from workbench.engine.gpus.extension import GpuHosts
    from workbench.engine.plan import make_plan
    from workbench.spec import WorkbenchSettings

    job, container = training_container
    pid = container.attrs["State"]["Pid"]
    nvml = FakeNvml([FakeGpu(utilization=[30, 60, 90], pids=[pid]), FakeGpu(pids=[])])
    spec = {"ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1}}
    seen: list[ev.Event] = []
    ctx = JobContext(job.job_name, spec, make_plan(spec), None, WorkbenchSettings(), seen.append, docker=job)
    if proc_root == "empty":
        (tmp_path / "empty").mkdir()
        proc_root = tmp_path / "empty"  # as if sm-workbench ran in another pid namespace
    extension = GpuHosts(ctx.settings, nvml=nvml, support=DockerGpuSupport("toolkit", "test"), interval=0.1,
                         proc_root=proc_root)
    extension.prepare(ctx)
    extension.started(ctx)
    deadline = time.monotonic() + 10
    while len([e for e in seen if isinstance(e, ev.GpuSample)]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    extension.stopped(ctx)
    samples = [e for e in seen if isinstance(e, ev.GpuSample)]
    assert samples and all(s.index == 0 for s in samples)  # only the job's GPU is sampled
    assert samples[0] == ev.GpuSample(index=0, name="NVIDIA A10G", utilization=30.0, memory_used_mib=0,
                                      memory_total_mib=24576, temperature_c=40.0, power_w=60.0, hosts=("algo-1",),
                                      assigned=("algo-1",), processes=1, time=samples[0].time)
    count = len(seen)
    time.sleep(0.3)
    assert len(seen) == count and extension.sampler is None  # stopped with the job
    extension.close(ctx)


def test_the_device_requests_reach_the_container_config(docker_client, images, tmp_path):
    """Docker accepts the GPU options as given (creating, not starting: this machine has no GPU)."""
    from workbench.engine.docker_backend import DockerJob
    from workbench.engine.extension import JobContext
    from workbench.engine.gpus.docker_support import DockerGpuSupport
    from workbench.engine.gpus.extension import GpuHosts
    from workbench.engine.plan import make_plan
    from workbench.spec import WorkbenchSettings

    spec = {"ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2}}
    ctx = JobContext("j", spec, make_plan(spec), None, WorkbenchSettings(), lambda e: None)
    nvml = FakeNvml([FakeGpu(), FakeGpu()])
    extension = GpuHosts(ctx.settings, nvml=nvml, support=DockerGpuSupport("toolkit", "test"))
    extension.prepare(ctx)
    options = extension.container_options(ctx, ctx.plan.hosts[1])
    job = DockerJob(docker_client, unique("gpu-requests"), str(tmp_path / "home"))
    container = docker_client.containers.create(images["shell"], ["true"], labels=job.labels("algo-2", "training"),
                                                **options)
    try:
        [request] = docker_client.api.inspect_container(container.id)["HostConfig"]["DeviceRequests"]
        assert request["DeviceIDs"] == [nvml.gpus[1].uuid]
        assert request["Capabilities"] == [["gpu", "compute", "utility"]]
        # A process taking over the job (the first died) reads the GPUs back from the containers.
        adopter = GpuHosts(ctx.settings, nvml=nvml, interval=60)
        adopter.started(JobContext("j", spec, ctx.plan, None, ctx.settings, lambda e: None, docker=job))
        assert adopter.sampler is not None and adopter.sampler.gpus == {1: ("algo-2",)}
        adopter.close(ctx)
        assert adopter.sampler is None
    finally:
        container.remove(force=True)


def test_doctor_says_whether_docker_can_hand_gpus_out(docker_client, capsys):
    from workbench.cli import main

    main(["doctor"])
    out = capsys.readouterr().out
    assert "] GPUs: " in out and "] Docker GPU support: " in out
