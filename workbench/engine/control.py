"""Who runs a job, and requests to it from other processes (stop, kill, interrupt,
signal one host, release held training).

A job is run by exactly one process (a foreground `run`, or a detached worker). Others
talk to it through request files in the job's control folder, which the runner polls.
A runner that died is recognised by its pid and process start time (pids are reused).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from workbench.engine.store import JobPaths
from workbench.fileio import read_json, write_json_atomic
from workbench.procfs import process_alive, process_stat

REQUESTS = ("stop", "kill", "interrupt",
            "signal", "release")  # inner loop: one signal to one host; let held training start


def claim(paths: JobPaths, pid: int | None = None, role: str = "runner") -> None:
    pid = pid or os.getpid()
    write_json_atomic(paths.owner, {
        "pid": pid, "start_ticks": getattr(process_stat(pid), "start_ticks", None), "host": socket.gethostname(),
        "role": role, "since": time.time(),
    })


def owner(paths: JobPaths) -> dict | None:
    return read_json(paths.owner)


def owner_alive(paths: JobPaths) -> bool:
    info = owner(paths)
    if not info:
        return False
    if info.get("host") != socket.gethostname():
        return True  # another machine's process: we cannot tell, so assume it lives
    return process_alive(int(info["pid"]), info.get("start_ticks"))


def request(paths: JobPaths, action: str, **details) -> None:
    """A request file the runner takes; one with details (a signal for a host) gets a name
    of its own, so two quick ones do not overwrite each other."""
    assert action in REQUESTS
    paths.control.mkdir(exist_ok=True)
    name = f"{action}.{time.time_ns()}-{os.getpid()}" if details else action
    write_json_atomic(paths.control / name, {"time": time.time(), "pid": os.getpid(), **details})


def take_requests(paths: JobPaths) -> list[tuple[str, dict]]:
    """Pending requests, oldest first; each is consumed."""
    found = []
    try:
        names = sorted(entry.name for entry in os.scandir(paths.control))
    except FileNotFoundError:
        return []
    for name in names:
        action = name.split(".", 1)[0]
        if action not in REQUESTS:
            continue
        path = paths.control / name
        data = read_json(path)
        if data is not None:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            found.append((action, data))
    found.sort(key=lambda item: item[1].get("time", 0))
    return found


def try_lock(path: Path) -> bool:
    """Create a lock file exclusively; False when another process holds it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True
