"""How GPU events show in a job's record (`describe.json` Workbench.Gpus) and in
`sm-workbench gpus JOB`: which GPUs each host got, and each GPU's latest and peak figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from workbench.engine import events as ev
from workbench.engine.gpus.sampler import latest_samples


def fold_assigned(record: dict, event: ev.GpuAssigned) -> None:
    hosts = record.setdefault("Workbench", {}).setdefault("Gpus", {}).setdefault("Hosts", {})
    entry = {"InstanceType": event.instance_type, "Gpus": list(event.gpus), "SageMakerGpus": event.expected}
    if event.names:
        entry["Names"] = list(event.names)
    if event.reason:
        entry["Reason"] = event.reason
    hosts[event.host] = entry


def fold_sample(record: dict, event: ev.GpuSample) -> None:
    devices = record.setdefault("Workbench", {}).setdefault("Gpus", {}).setdefault("Devices", {})
    device = devices.setdefault(str(event.index), {"Name": event.name, "MemoryTotalMiB": event.memory_total_mib,
                                                   "PeakUtilization": 0.0, "PeakMemoryUsedMiB": 0, "Hosts": []})
    if event.utilization is not None:
        device["PeakUtilization"] = max(device["PeakUtilization"], event.utilization)
    device["PeakMemoryUsedMiB"] = max(device["PeakMemoryUsedMiB"], event.memory_used_mib)
    for host in event.hosts:
        if host not in device["Hosts"]:
            device["Hosts"].append(host)


@dataclass
class JobGpus:
    """A job's GPUs as `sm-workbench gpus JOB` shows them."""

    name: str
    status: str
    assigned: list[ev.GpuAssigned] = field(default_factory=list)  # the latest attempt's, one per host
    samples: list[ev.GpuSample] = field(default_factory=list)  # the latest sample of each GPU

    @property
    def no_gpu_reason(self) -> str:
        """Why the job has no GPU, when it has none."""
        if any(a.gpus for a in self.assigned):
            return ""
        return next((a.reason for a in self.assigned if a.reason), "")


def job_gpus(name: str, status: str, events: Iterable[ev.Event]) -> JobGpus:
    events = list(events)
    assigned: dict[str, ev.GpuAssigned] = {}
    for event in events:
        if isinstance(event, ev.AttemptStarted):
            assigned.clear()
        elif isinstance(event, ev.GpuAssigned):
            assigned[event.host] = event
    return JobGpus(name, status, list(assigned.values()), latest_samples(events))
