"""Which GPUs each host gets: instance types, host counts, instance groups and Workbench.Gpus."""

import pytest

from workbench.engine.gpus.assign import assign_gpus
from workbench.engine.instance_types import INSTANCE_TYPES, instance_type
from workbench.engine.plan import make_plan
from workbench.errors import WorkbenchError
from workbench.spec.model import instance_types


def hosts(instance: str, count: int = 1):
    return make_plan({"ResourceConfig": {"InstanceType": instance, "InstanceCount": count}}).hosts


def groups(*pairs):
    return make_plan({"ResourceConfig": {"InstanceGroups": [
        {"InstanceGroupName": f"g{i}", "InstanceType": kind, "InstanceCount": count}
        for i, (kind, count) in enumerate(pairs)]}}).hosts


def given(assignment) -> dict:
    return {h.host: h.gpus for h in assignment.hosts}


def levels(assignment, level: str) -> list[str]:
    return [message for lvl, message in assignment.notices if lvl == level]


# --- the table -----------------------------------------------------------------------


def test_every_training_instance_type_of_the_api_model_is_in_the_table():
    missing = [name for name in instance_types() if name not in INSTANCE_TYPES]
    assert not missing, f"add these to workbench/engine/instance_types.py: {missing}"


@pytest.mark.parametrize("name, vcpus, memory, gpus", [
    ("ml.g5.xlarge", 4, 16, 1), ("ml.g5.2xlarge", 8, 32, 1), ("ml.g5.12xlarge", 48, 192, 4),
    ("ml.g5.48xlarge", 192, 768, 8), ("ml.g4dn.12xlarge", 48, 192, 4), ("ml.g6e.xlarge", 4, 32, 1),
    ("ml.p3.2xlarge", 8, 61, 1), ("ml.p3.16xlarge", 64, 488, 8), ("ml.p3dn.24xlarge", 96, 768, 8),
    ("ml.p4d.24xlarge", 96, 1152, 8), ("ml.p4de.24xlarge", 96, 1152, 8), ("ml.p5.48xlarge", 192, 2048, 8),
    ("ml.p5e.48xlarge", 192, 2048, 8), ("ml.p2.16xlarge", 64, 732, 16), ("ml.g7e.12xlarge", 48, 512, 2),
    ("ml.m5.large", 2, 8, 0), ("ml.c5.xlarge", 4, 8, 0), ("ml.c4.8xlarge", 36, 60, 0),
    ("ml.c5n.xlarge", 4, 10.5, 0), ("ml.t3.medium", 2, 4, 0), ("ml.r5.24xlarge", 96, 768, 0),
    ("ml.m4.10xlarge", 40, 160, 0), ("ml.c8i.96xlarge", 384, 768, 0),
])
def test_published_figures(name, vcpus, memory, gpus):
    kind = instance_type(name)
    assert (kind.vcpus, kind.memory_gib, kind.gpus) == (vcpus, memory, gpus)


def test_gpu_families_have_gpus_and_cpu_families_do_not():
    for name, kind in INSTANCE_TYPES.items():
        family = name.split(".")[1]
        if family.startswith(("p", "g")):
            assert kind.gpus > 0 and kind.accelerator.startswith("NVIDIA"), name
        else:
            assert kind.gpus == 0, name


def test_trainium_counts_as_cpu_only_and_says_why():
    kind = instance_type("ml.trn1.32xlarge")
    assert kind.gpus == 0 and kind.neuron_devices == 16 and "Trainium" in kind.accelerator
    result = assign_gpus(hosts("ml.trn1.2xlarge"), [0, 1])
    assert given(result) == {"algo-1": ()}
    assert any("Neuron" in m and "not NVIDIA GPUs" in m for m in levels(result, "info"))


def test_an_unknown_future_type_falls_back_to_no_gpu_with_a_warning():
    kind = instance_type("ml.g9.xlarge")
    assert not kind.known and kind.gpus == 0
    result = assign_gpus(hosts("ml.g9.xlarge"), [0])
    assert given(result) == {"algo-1": ()}
    assert any("ml.g9.xlarge is not in sm-workbench's table" in m and "may have GPUs" in m
               for m in levels(result, "warning"))


# --- automatic assignment ------------------------------------------------------------


def test_two_hosts_split_the_gpus_in_order_by_their_type():
    result = assign_gpus(hosts("ml.g5.12xlarge", 2), range(8))
    assert given(result) == {"algo-1": (0, 1, 2, 3), "algo-2": (4, 5, 6, 7)}
    assert result.notices == () and result.assigned == {i: ("algo-1",) if i < 4 else ("algo-2",) for i in range(8)}


def test_the_issue_example_with_ml_g5_2xlarge_which_has_one_gpu():
    # 2 hosts of ml.g5.2xlarge on a 4-GPU machine: one A10G each, as on SageMaker.
    assert given(assign_gpus(hosts("ml.g5.2xlarge", 2), [0, 1, 2, 3])) == {"algo-1": (0,), "algo-2": (1,)}


def test_two_gpus_per_host():
    assert given(assign_gpus(hosts("ml.g7e.12xlarge", 2), [0, 1, 2, 3])) == {"algo-1": (0, 1), "algo-2": (2, 3)}


def test_a_job_using_fewer_gpus_than_the_machine_has_gets_the_first_ones():
    assert given(assign_gpus(hosts("ml.p3.2xlarge", 3), range(8))) == {"algo-1": (0,), "algo-2": (1,), "algo-3": (2,)}


def test_instance_groups_cpu_hosts_get_none_gpu_hosts_get_their_share():
    result = assign_gpus(groups(("ml.c5.xlarge", 2), ("ml.g5.12xlarge", 1), ("ml.g5.xlarge", 2)), range(6))
    assert given(result) == {"algo-1": (), "algo-2": (), "algo-3": (0, 1, 2, 3), "algo-4": (4,), "algo-5": (5,)}
    assert [h.expected for h in result.hosts] == [0, 0, 4, 1, 1]


def test_cpu_types_get_no_gpu_even_when_the_machine_has_some():
    result = assign_gpus(hosts("ml.m5.xlarge", 2), [0, 1])
    assert given(result) == {"algo-1": (), "algo-2": ()} and not result.any and result.notices == ()


def test_more_gpus_than_exist_is_an_error_that_says_how_to_go_on():
    with pytest.raises(WorkbenchError) as err:
        assign_gpus(hosts("ml.g5.12xlarge", 2), [0, 1])
    message = str(err.value)
    assert "needs 8 GPUs (2 x ml.g5.12xlarge with 4 NVIDIA A10G GPUs each)" in message
    assert "this machine has 2 (GPUs 0, 1)" in message
    assert "Workbench.Gpus to all" in message and "none to run on the CPU" in message


def test_mixed_types_shortage_names_each_type():
    with pytest.raises(WorkbenchError, match=r"needs 5 GPUs \(1 x ml.p3.8xlarge with 4 NVIDIA V100 GPUs \+ "
                                             r"1 x ml.g5.xlarge with 1 NVIDIA A10G GPU\)"):
        assign_gpus(groups(("ml.p3.8xlarge", 1), ("ml.g5.xlarge", 1)), [0, 1, 2, 3])


def test_no_gpu_at_all_runs_on_the_cpu_with_one_clear_notice():
    reason = "no GPU: NVIDIA driver not available (NVML Shared Library Not Found)"
    result = assign_gpus(hosts("ml.g5.xlarge", 2), [], "auto", reason)
    assert given(result) == {"algo-1": (), "algo-2": ()} and result.reason == reason
    assert levels(result, "warning") == [
        f"{reason}; the job runs on the CPU (on SageMaker, ml.g5.xlarge has 1 NVIDIA A10G GPU)"]


# --- Workbench.Gpus ------------------------------------------------------------------


def test_none_runs_on_the_cpu():
    result = assign_gpus(hosts("ml.p4d.24xlarge"), range(8), "none")
    assert given(result) == {"algo-1": ()} and result.reason == "Workbench.Gpus is none"
    assert levels(result, "info") == ["Workbench.Gpus is none: the job runs on the CPU "
                                      "(on SageMaker, ml.p4d.24xlarge has 8 NVIDIA A100 40 GB GPUs)"]


def test_all_gives_every_gpu_host_every_gpu_and_warns_that_they_share():
    result = assign_gpus(hosts("ml.g5.xlarge", 2), [0, 1], "all")
    assert given(result) == {"algo-1": (0, 1), "algo-2": (0, 1)}
    assert levels(result, "warning") == ["hosts share GPUs (Workbench.Gpus: all): GPU 0: algo-1, algo-2; "
                                         "GPU 1: algo-1, algo-2"]
    assert "algo-1 sees 2 GPUs; ml.g5.xlarge has 1 on SageMaker" in levels(result, "info")


def test_all_on_a_machine_with_fewer_gpus_than_the_type_warns_instead_of_refusing():
    result = assign_gpus(hosts("ml.p4d.24xlarge"), [0, 1], "all")
    assert given(result) == {"algo-1": (0, 1)}
    assert levels(result, "warning") == ["algo-1 gets 2 GPUs; ml.p4d.24xlarge has 8 on SageMaker"]


def test_all_keeps_cpu_hosts_on_the_cpu():
    result = assign_gpus(groups(("ml.c5.xlarge", 1), ("ml.g5.xlarge", 1)), [0, 1], "all")
    assert given(result) == {"algo-1": (), "algo-2": (0, 1)}


def test_all_without_any_gpu_is_an_error():
    with pytest.raises(WorkbenchError, match="Workbench.Gpus is all, but this machine has no GPU "
                                             r"\(no GPU: driver missing\)"):
        assign_gpus(hosts("ml.g5.xlarge"), [], "all", "no GPU: driver missing")


def test_a_list_picks_the_gpus_to_split():
    result = assign_gpus(hosts("ml.g5.xlarge", 2), [0, 1, 2, 3], [3, 1])
    assert given(result) == {"algo-1": (3,), "algo-2": (1,)} and result.notices == ()


def test_a_short_list_is_shared_with_a_warning():
    result = assign_gpus(hosts("ml.g5.xlarge", 3), [0, 1], [0, 1])
    assert given(result) == {"algo-1": (0,), "algo-2": (1,), "algo-3": (0,)}
    assert levels(result, "warning") == ["hosts share GPUs (Workbench.Gpus: [0, 1]): GPU 0: algo-1, algo-3"]
    result = assign_gpus(hosts("ml.g5.12xlarge"), [0, 1, 2], [1, 2])
    assert given(result) == {"algo-1": (1, 2)}
    assert levels(result, "warning") == ["algo-1 gets 2 GPUs; ml.g5.12xlarge has 4 on SageMaker"]


def test_a_list_naming_a_gpu_that_does_not_exist_is_an_error():
    with pytest.raises(WorkbenchError, match=r"names GPU 4, 7, which this machine does not have \(its GPUs: 0, 1\)"):
        assign_gpus(hosts("ml.g5.xlarge"), [0, 1], [1, 4, 7])
    with pytest.raises(WorkbenchError, match=r"names GPU 0, which this machine does not have \(no GPU: no driver\)"):
        assign_gpus(hosts("ml.g5.xlarge"), [], [0], "no GPU: no driver")


def test_an_override_without_gpu_hosts_has_no_effect_and_says_so():
    result = assign_gpus(hosts("ml.m5.large"), [0], "all")
    assert given(result) == {"algo-1": ()}
    assert any("no host has a GPU instance type (ml.m5.large)" in m for m in levels(result, "warning"))
