"""`gpus [JOB]`: a job's GPUs and their latest samples, or this machine's GPUs now."""

from __future__ import annotations

import json
import time
from dataclasses import asdict


def register(commands) -> None:
    parser = commands.add_parser(
        "gpus", help="a job's GPUs and their latest utilization, or (without JOB) this machine's GPUs now")
    parser.add_argument("job", metavar="JOB", nargs="?", help="a job name (default: this machine's GPUs)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=gpus_command)


def _figure(value, unit: str, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def sample_rows(samples) -> list[str]:
    rows = [f"{'GPU':<4} {'NAME':<24} {'UTIL':>5} {'MEMORY (MiB)':>15} {'TEMP':>5} {'POWER':>8}  USED BY"]
    for s in samples:
        users = ", ".join(s.hosts) or (f"{s.processes} other process{'es' if s.processes != 1 else ''}"
                                       if s.processes else "-")
        rows.append(f"{s.index:<4} {s.name[:24]:<24} {_figure(s.utilization, '%'):>5} "
                    f"{f'{s.memory_used_mib}/{s.memory_total_mib}':>15} {_figure(s.temperature_c, 'C'):>5} "
                    f"{_figure(s.power_w, ' W', 1):>8}  {users}")
    return rows


def _given(host) -> str:
    """'GPUs 0, 1 (2 x NVIDIA A10G)', 'GPU 3 (NVIDIA L4)'."""
    indexes = ", ".join(str(i) for i in host.gpus)
    label = f"GPU{'s' if len(host.gpus) > 1 else ''} {indexes}"
    names = set(host.names)
    if len(names) == 1 and "" not in names:
        name = names.pop()
        return f"{label} ({len(host.gpus)} x {name})" if len(host.gpus) > 1 else f"{label} ({name})"
    return label


def gpus_command(args) -> int:
    from workbench.engine import api  # deferred: engine

    if args.job:
        report = api.job_gpus(args.job)
        if args.json:
            print(json.dumps({"Job": report.name, "Status": report.status,
                              "Hosts": [asdict(a) for a in report.assigned],
                              "Samples": [asdict(s) for s in report.samples]}, indent=2))
            return 0
        print(f"Job {report.name} ({report.status})")
        if not report.assigned:
            print("no GPU: this job's hosts have CPU instance types and Workbench.Gpus is not set")
            return 0
        for host in report.assigned:
            if host.gpus:
                print(f"  {host.host:<8} {host.instance_type:<18} {_given(host)}  ({host.expected} on SageMaker)")
            else:
                why = host.reason or ("CPU instance type" if not host.expected else "no GPU")
                print(f"  {host.host:<8} {host.instance_type:<18} CPU: {why}")
        if report.samples:

            print(f"latest samples ({time.strftime('%H:%M:%S', time.localtime(max(s.time for s in report.samples)))}):")
            for row in sample_rows(report.samples):
                print("  " + row)
        elif any(a.gpus for a in report.assigned):
            print("no samples yet")
        return 0

    machine = api.machine_gpus()
    if args.json:
        print(json.dumps({"Gpus": [asdict(g) for g in machine.inventory.gpus],
                          "Driver": machine.inventory.driver_version, "Reason": machine.inventory.reason,
                          "Samples": [asdict(s) for s in machine.samples], "Docker": machine.docker}, indent=2))
        return 0
    if not machine.inventory.available:
        print(f"{machine.inventory.reason}; jobs run on the CPU")
        return 0
    print(f"{len(machine.inventory.gpus)} GPU{'s' if len(machine.inventory.gpus) != 1 else ''} "
          f"(driver {machine.inventory.driver_version})")
    for row in sample_rows(machine.samples):
        print(row)
    if machine.docker:
        print(machine.docker)
    return 0
