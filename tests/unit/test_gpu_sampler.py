"""The GPU sampler against a stand-in for NVML, processes mapped to hosts, the GPU events in
the record, and the real code path of a machine without an NVIDIA driver."""

import json
import time

import pytest

from tests.fake_nvml import FakeGpu, FakeNvml, no_driver
from workbench.cli import main
from workbench.engine import events as ev
from workbench.engine.extension import JobContext
from workbench.engine.gpus.inventory import probe
from workbench.engine.gpus.docker_support import DockerGpuSupport
from workbench.engine.gpus.extension import GpuHosts
from workbench.engine.gpus.record import job_gpus
from workbench.engine.gpus.sampler import ContainerProcesses, GpuSampler, read_gpu, sample_machine
from workbench.engine.plan import make_plan
from workbench.engine.record import apply_event, new_record
from workbench.errors import WorkbenchError
from workbench.spec import WorkbenchSettings

ALGO1 = "a1" * 32  # container ids
ALGO2 = "b2" * 32


@pytest.fixture
def proc(tmp_path):
    """A /proc with processes of two containers (cgroup v1 cgroupfs, cgroup v2 systemd) and one of the host."""
    root = tmp_path / "proc"
    layouts = {
        101: f"12:memory:/docker/{ALGO1}\n1:name=systemd:/docker/{ALGO1}\n",
        202: f"0::/system.slice/docker-{ALGO2}.scope\n",
        303: "0::/user.slice/user-1000.slice/session-2.scope\n",
    }
    for pid, text in layouts.items():
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "cgroup").write_text(text)
    return root


def test_a_sample_has_every_figure_and_the_hosts_using_the_gpu(proc):
    nvml = FakeNvml([FakeGpu(utilization=87, memory_used_mib=20480, temperature=71, power_mw=182_500,
                             pids=[101, 303], graphics_pids=[101])])
    owners = ContainerProcesses({"algo-1": ALGO1, "algo-2": ALGO2}, proc_root=proc)
    sample = read_gpu(nvml, 0, assigned=("algo-1",), owners=owners)
    assert sample == ev.GpuSample(index=0, name="NVIDIA A10G", utilization=87.0, memory_used_mib=20480,
                                  memory_total_mib=24576, temperature_c=71.0, power_w=182.5, hosts=("algo-1",),
                                  assigned=("algo-1",), processes=2, time=sample.time)


def test_figures_a_gpu_cannot_give_are_none():
    sample = read_gpu(FakeNvml([FakeGpu(utilization=None, power_mw=None)]), 0)
    assert sample.utilization is None and sample.power_w is None and sample.temperature_c == 40.0


def test_processes_map_to_hosts_through_their_cgroups(proc):
    owners = ContainerProcesses({"algo-1": ALGO1, "algo-2": ALGO2}, proc_root=proc)
    assert [owners.host_of(pid) for pid in (101, 202, 303, 404)] == ["algo-1", "algo-2", None, None]


def test_docker_top_answers_when_proc_does_not_show_the_process(tmp_path):
    calls = []

    def top():
        calls.append(time.monotonic())
        return {"algo-2": {4242}}

    owners = ContainerProcesses({"algo-2": ALGO2}, proc_root=tmp_path, top=top)
    assert owners.host_of(4242) == "algo-2"
    assert owners.host_of(4242) == "algo-2" and len(calls) == 1  # cached
    assert owners.host_of(999) is None and len(calls) == 1  # unknown pids refresh at most once a second


def test_the_sampler_thread_emits_samples_about_every_interval_and_stops(proc):
    nvml = FakeNvml([FakeGpu(utilization=[10, 50, 90], pids=[101]), FakeGpu(name="NVIDIA A10G", pids=[202])])
    seen: list[ev.Event] = []
    owners = ContainerProcesses({"algo-1": ALGO1, "algo-2": ALGO2}, proc_root=proc)
    sampler = GpuSampler({0: ("algo-1",), 1: ("algo-2",)}, seen.append, nvml=nvml, owners=owners, interval=0.05)
    sampler.start()
    deadline = time.monotonic() + 5
    while sampler.samples < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    sampler.stop()
    assert not sampler.running and nvml.initialised == 1 and nvml.shutdowns == 1
    count = len(seen)
    time.sleep(0.15)
    assert len(seen) == count  # nothing after stop
    gpu0 = [s for s in seen if s.index == 0]
    assert [s.utilization for s in gpu0[:3]] == [10.0, 50.0, 90.0]
    assert {s.hosts for s in gpu0} == {("algo-1",)} and {s.hosts for s in seen if s.index == 1} == {("algo-2",)}
    assert all(isinstance(s, ev.GpuSample) for s in seen)


def test_a_sampler_without_a_driver_gives_one_notice_never_an_exception():
    seen: list[ev.Event] = []
    sampler = GpuSampler({0: ("algo-1",)}, seen.append, nvml=no_driver(), interval=0.01)
    sampler.start()
    sampler.stop()
    assert [(e.level, e.message) for e in seen] == [
        ("warning", "GPU sampling is off: NVML does not start (NVML Shared Library Not Found)")]


def test_a_gpu_that_fails_mid_job_is_reported_once_and_the_others_go_on():
    nvml = FakeNvml([FakeGpu(), FakeGpu()])
    seen: list[ev.Event] = []
    sampler = GpuSampler({0: (), 1: ()}, seen.append, nvml=nvml, interval=0.02)
    sampler.start()
    time.sleep(0.1)
    nvml.gpus[1].broken = True
    time.sleep(0.15)
    sampler.stop()
    notices = [e for e in seen if isinstance(e, ev.Notice)]
    assert len(notices) == 1 and "GPU 1 sampling failed" in notices[0].message
    after = seen[seen.index(notices[0]):]
    assert any(isinstance(e, ev.GpuSample) and e.index == 0 for e in after)


def test_sample_machine():
    snapshot = sample_machine(FakeNvml([FakeGpu(utilization=5), FakeGpu(name="NVIDIA L4", utilization=7)]))
    assert [g.name for g in snapshot.inventory.gpus] == ["NVIDIA A10G", "NVIDIA L4"]
    assert [s.utilization for s in snapshot.samples] == [5.0, 7.0]
    assert sample_machine(no_driver()).inventory.reason.startswith("no GPU: NVIDIA driver not available")


# --- the extension, with a stand-in NVML --------------------------------------------


def context(spec: dict, settings: WorkbenchSettings, seen: list) -> JobContext:
    return JobContext("job", spec, make_plan(spec), None, settings, seen.append, docker=None)


def test_the_extension_gives_each_host_device_requests_and_records_the_assignment():
    spec = {"ResourceConfig": {"InstanceType": "ml.g5.12xlarge", "InstanceCount": 2}}
    seen: list[ev.Event] = []
    ctx = context(spec, WorkbenchSettings(), seen)
    extension = GpuHosts(ctx.settings, nvml=FakeNvml([FakeGpu() for _ in range(8)]),
                         support=DockerGpuSupport("toolkit", "test"))
    extension.prepare(ctx)
    options = [extension.container_options(ctx, host) for host in ctx.plan.hosts]
    assert [o["device_requests"][0]["DeviceIDs"] for o in options] == [
        [f"GPU-{i:08d}-fake-{i:04d}-0000-000000000000" for i in range(4)],
        [f"GPU-{i:08d}-fake-{i:04d}-0000-000000000000" for i in range(4, 8)]]
    assigned = [e for e in seen if isinstance(e, ev.GpuAssigned)]
    assert [(a.host, a.gpus, a.expected) for a in assigned] == [("algo-1", (0, 1, 2, 3), 4), ("algo-2", (4, 5, 6, 7), 4)]
    assert assigned[0].names == ("NVIDIA A10G",) * 4
    assert any(isinstance(e, ev.Notice) and e.message.startswith("GPUs: algo-1 -> GPUs 0, 1, 2, 3 (NVIDIA A10G); "
                                                                 "algo-2 -> GPUs 4, 5, 6, 7") for e in seen)


def test_the_extension_refuses_gpus_docker_cannot_hand_out():
    spec = {"ResourceConfig": {"InstanceType": "ml.g5.xlarge"}}
    ctx = context(spec, WorkbenchSettings(), [])
    extension = GpuHosts(ctx.settings, nvml=FakeNvml([FakeGpu()]), support=DockerGpuSupport("", "no runtime"))
    with pytest.raises(WorkbenchError, match="This machine has 1 GPU but Docker cannot hand them to containers: "
                                             "no runtime. To fix: install the NVIDIA Container Toolkit"):
        extension.prepare(ctx)


def test_without_a_driver_the_extension_leaves_the_containers_alone():
    spec = {"ResourceConfig": {"InstanceType": "ml.g5.xlarge"}}
    seen: list[ev.Event] = []
    ctx = context(spec, WorkbenchSettings(), seen)
    extension = GpuHosts(ctx.settings, nvml=no_driver())
    extension.prepare(ctx)
    assert extension.container_options(ctx, ctx.plan.hosts[0]) == {}
    extension.started(ctx)  # nothing to sample
    assert extension.sampler is None
    [assigned] = [e for e in seen if isinstance(e, ev.GpuAssigned)]
    assert assigned.gpus == () and assigned.reason.startswith("no GPU: NVIDIA driver not available")


# --- events in the record and in `gpus JOB` -----------------------------------------


def test_gpu_events_round_trip_and_fold_into_the_record():
    events = [
        ev.GpuAssigned("algo-1", "ml.g5.xlarge", (0,), 1, ("NVIDIA A10G",), time=1.0),
        ev.GpuSample(0, "NVIDIA A10G", 40.0, 1000, 24576, 60.0, 100.0, ("algo-1",), ("algo-1",), 1, time=2.0),
        ev.GpuSample(0, "NVIDIA A10G", 95.0, 800, 24576, 70.0, 200.0, ("algo-1",), ("algo-1",), 1, time=3.0),
        ev.GpuSample(0, "NVIDIA A10G", None, 1200, 24576, time=4.0),
    ]
    record = new_record({"TrainingJobName": "j"}, "arn", 0.0)
    for event in events:
        assert ev.event_from_dict(json.loads(json.dumps(event.to_dict()))) == event
        apply_event(record, event)
    assert record["Workbench"]["Gpus"] == {
        "Hosts": {"algo-1": {"InstanceType": "ml.g5.xlarge", "Gpus": [0], "SageMakerGpus": 1, "Names": ["NVIDIA A10G"]}},
        "Devices": {"0": {"Name": "NVIDIA A10G", "MemoryTotalMiB": 24576, "PeakUtilization": 95.0,
                          "PeakMemoryUsedMiB": 1200, "Hosts": ["algo-1"]}},
    }
    report = job_gpus("j", "InProgress", events + [ev.AttemptStarted(2), events[0]])
    assert report.samples == [events[3]] and report.assigned == [events[0]] and report.no_gpu_reason == ""


def test_the_real_code_path_without_a_driver_is_one_clear_no_gpu_state(capsys):
    inventory = probe()  # the real pynvml
    if inventory.available:
        pytest.skip("this machine has an NVIDIA driver and GPUs")
    assert inventory.reason.startswith("no GPU: ") and inventory.gpus == []
    assert sample_machine().samples == []
    seen: list[ev.Event] = []
    sampler = GpuSampler({0: ("algo-1",)}, seen.append, interval=0.01)
    sampler.start()
    sampler.stop()
    assert [e.level for e in seen] == ["warning"] and "GPU sampling is off" in seen[0].message
    assert main(["gpus"]) == 0
    assert capsys.readouterr().out == f"{inventory.reason}; jobs run on the CPU\n"


def test_gpus_job_prints_each_hosts_gpus_and_the_latest_samples(capsys):
    from workbench.engine.store import JobRecorder, create_job_dir

    paths = create_job_dir("gpu-job")
    recorder = JobRecorder(paths, new_record({"TrainingJobName": "gpu-job"}, "arn", 0.0))
    for event in (
        ev.GpuAssigned("algo-1", "ml.g5.12xlarge", (0, 1), 4, ("NVIDIA A10G", "NVIDIA A10G"), time=1.0),
        ev.GpuAssigned("algo-2", "ml.c5.xlarge", (), 0, time=1.0),
        ev.GpuSample(0, "NVIDIA A10G", 10.0, 100, 24576, 50.0, 80.0, ("algo-1",), ("algo-1",), 1, time=2.0),
        ev.GpuSample(0, "NVIDIA A10G", 97.0, 20480, 24576, 71.0, 182.5, ("algo-1",), ("algo-1",), 1, time=3.0),
        ev.GpuSample(1, "NVIDIA A10G", None, 0, 24576, 40.0, None, (), ("algo-1",), 0, time=3.0),
        ev.JobFinished("Completed", "Completed", time=4.0),
    ):
        recorder(event)
    recorder.close()
    assert main(["gpus", "gpu-job"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Job gpu-job (Completed)"
    assert lines[1] == "  algo-1   ml.g5.12xlarge     GPUs 0, 1 (2 x NVIDIA A10G)  (4 on SageMaker)"
    assert lines[2] == "  algo-2   ml.c5.xlarge       CPU: CPU instance type"
    assert lines[3].startswith("latest samples (")
    assert lines[5].split() == ["0", "NVIDIA", "A10G", "97%", "20480/24576", "71C", "182.5", "W", "algo-1"]
    assert lines[6].split() == ["1", "NVIDIA", "A10G", "-", "0/24576", "40C", "-", "-"]
    assert main(["gpus", "gpu-job", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["utilization"] for s in data["Samples"]] == [97.0, None]
    assert data["Hosts"][0]["gpus"] == [0, 1]


def test_each_spot_attempt_assigns_again_and_runs_its_own_sampler():
    spec = {"ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2}}
    seen: list[ev.Event] = []
    ctx = context(spec, WorkbenchSettings(), seen)
    nvml = FakeNvml([FakeGpu(), FakeGpu()])
    extension = GpuHosts(ctx.settings, nvml=nvml, support=DockerGpuSupport("toolkit", "test"), interval=0.02)
    samplers = []
    for attempt in (1, 2):
        ctx.attempt = attempt
        extension.prepare(ctx)
        extension.started(ctx)
        samplers.append(extension.sampler)
        deadline = time.monotonic() + 5
        while extension.sampler.samples < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        extension.stopped(ctx)
        assert extension.sampler is None and not samplers[-1].running
    extension.close(ctx)
    assert samplers[0] is not samplers[1] and samplers[1].gpus == {0: ("algo-1",), 1: ("algo-2",)}
    assert [(e.host, e.gpus) for e in seen if isinstance(e, ev.GpuAssigned)] == [
        ("algo-1", (0,)), ("algo-2", (1,))] * 2
    assert nvml.initialised == nvml.shutdowns  # every sampler closed NVML again
