"""Is a checkpoint file still open for writing inside a training container?

A file that has stopped changing may only be paused mid-write (a writer computing its
next chunk). The kernel knows better: a process of the container that holds the file
open with write access is still writing it. We look at /proc (the containers' processes
are ours to see when the Docker engine runs on this machine and we may read their fds,
as root can); when we cannot tell, the sync relies on the quiet period alone.
"""

from __future__ import annotations

import os

_WRITE_MODES = (os.O_WRONLY, os.O_RDWR)


def _pid_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _writes(pid: str, fd: str) -> bool:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags:"):
                    return (int(line.split()[1], 8) & os.O_ACCMODE) in _WRITE_MODES
    except (OSError, ValueError, IndexError):
        pass
    return False


class WriterProbe:
    """The processes sharing a PID namespace with given container init processes."""

    def __init__(self, init_pids: list[int]) -> None:
        # A pid in our own namespace makes us look at every process we can see: allowed
        # (tests and the benchmark write from this process), just slower.
        self.namespaces: set[str] = {ns for ns in (_pid_namespace(pid) for pid in init_pids if pid) if ns}

    @property
    def usable(self) -> bool:
        return bool(self.namespaces)

    def held_for_writing(self, inodes: set[tuple[int, int]]) -> set[tuple[int, int]] | None:
        """Which of these (st_dev, st_ino) some process holds open for writing; None when we cannot tell."""
        if not self.namespaces or not inodes:
            return set() if self.namespaces else None
        found: set[tuple[int, int]] = set()
        readable = False
        try:
            pids = [name for name in os.listdir("/proc") if name.isdigit()]
        except OSError:
            return None
        for pid in pids:
            if _pid_namespace(pid) not in self.namespaces:
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            readable = True
            for fd in fds:
                try:
                    info = os.stat(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                ident = (info.st_dev, info.st_ino)
                if ident in inodes and ident not in found and _writes(pid, fd):
                    found.add(ident)
        return found if readable else None
