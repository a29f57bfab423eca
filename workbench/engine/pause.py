"""Workbench.PauseBeforeTrain: each host starts with everything staged, its training
command held until the user releases it (`sm-workbench release JOB`, or a key).

The training container starts with a tiny static program as its entrypoint, mounted
read-only from this machine (the user's image is not changed; like the holder image,
it is a few dozen bytes of machine code). It blocks SIGTERM, SIGINT and SIGRTMAX and
waits for one: SIGRTMAX (the release) unblocks them again and `execve`s the real
command, so the training process becomes PID 1 itself, with the same arguments,
environment, user and working folder, and gets signals as it would have; SIGTERM or
SIGINT (a stop while held) ends it with 128 + the signal. What it runs is exactly what
SageMaker would run (`lint.effective_command`: the image's ENTRYPOINT or
ContainerEntrypoint, then `train` or ContainerArguments), its program found on the
image's PATH beforehand, since `execve` does not search PATH.
"""

from __future__ import annotations

import posixpath
import signal as signals

from workbench.engine import events as ev
from workbench.engine.extension import Extension, JobContext
from workbench.engine.holder import static_program
from workbench.engine.lint import effective_command
from workbench.engine.labels import LABEL_ROLE
from workbench.engine.store import load_record
from workbench.errors import WorkbenchError
from workbench.fileio import write_bytes_atomic
from workbench.paths import state_dir

HOLD_PATH = "/.sm-workbench-hold"  # where the program appears in the container
RELEASE_SIGNAL = 64  # SIGRTMAX on Linux (x86-64 and arm64): nothing else sends it
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Block {SIGINT, SIGTERM, SIGRTMAX}; rt_sigtimedwait for one; SIGRTMAX: unblock them and
# execve(argv[1], &argv[1], envp) (exit 127 if that fails); otherwise exit(128 + signal).
# Assembled from the source in docs/inner-loop.md ("How the hold works").
_CODE = {
    "x86_64": (0x3E, bytes.fromhex(
        "4989e448b8024000000000008050b80e00000031ff4889e631d241ba080000000f05b8800000004889e731f631d241ba"
        "080000000f0583f840741185c078e38db880000000b83c0000000f05b80e000000bf010000004889e631d241ba080000"
        "000f05498b0c24498d742410488b3e498d54cc10b83b0000000f05bf7f000000b83c0000000f05")),
    "aarch64": (0xB7, bytes.fromhex(
        "f3030091400088d20000f0f2ff4300d1e00300f9000080d2e1030091020080d2030180d2e81080d2010000d4e0030091"
        "010080d2020080d2030180d2281180d2010000d41f0001f1a000005400ffffb700000291a80b80d2010000d4200080d2"
        "e1030091020080d2030180d2e81080d2010000d4690240f961420091200040f9620e098b42400091a81b80d2010000d4"
        "e00f80d2a80b80d2010000d4")),
}


def signal_name(number: int) -> str:
    return signals.Signals(number).name


def hold_program(arch: str) -> bytes:
    return static_program(arch, _CODE)


def hold_file(arch: str) -> str:
    """The program on this machine (written once per state folder), to mount read-only."""
    path = state_dir() / "bin" / f"hold-{arch}"
    program = hold_program(arch)
    if not path.is_file() or path.read_bytes() != program:
        write_bytes_atomic(path, program, mode=0o755)
    return str(path)


def find_program(client, image: str, name: str, search_path: str) -> str:
    """`name` as `execve` needs it: a path with a slash as it is, a bare name looked up on
    the container's PATH in the image's files (a created, never started container)."""
    from docker.errors import APIError, NotFound  # deferred: the Docker SDK (~0.25 s to import)

    if "/" in name:
        return name
    container = client.containers.create(image, command=["true"], entrypoint=[], network_disabled=True,
                                         labels={LABEL_ROLE: "lint"})
    try:
        for folder in search_path.split(":"):
            candidate = posixpath.join(folder or "/", name)
            try:
                container.get_archive(candidate)
                return candidate
            except NotFound:
                continue
    finally:
        try:
            container.remove(force=True)
        except APIError:
            pass
    raise WorkbenchError(f"PauseBeforeTrain: {name!r} is not on the image's PATH ({search_path}), so the held "
                         "training command could not start; check the entrypoint, or give its full path")


class PauseBeforeTrain(Extension):
    def __init__(self) -> None:
        self.command: list[str] = []
        self.held: set[str] = set()
        self.hold = ""

    def prepare(self, ctx: JobContext) -> None:
        if self.command:
            return  # a spot restart: the same command
        client = ctx.docker.client
        image = ctx.spec["AlgorithmSpecification"]["TrainingImage"]
        config = client.images.get(image).attrs.get("Config") or {}
        entrypoint, command = effective_command(config, ctx.spec)
        argv = entrypoint + command
        if not argv:
            raise WorkbenchError("PauseBeforeTrain: the image has no ENTRYPOINT and the spec no ContainerEntrypoint "
                                 "or arguments; there is no training command to hold")
        environment = dict(e.split("=", 1) for e in config.get("Env") or [] if "=" in e)
        environment.update(ctx.spec.get("Environment") or {})
        argv[0] = find_program(client, image, argv[0], environment.get("PATH") or DEFAULT_PATH)
        self.command = argv
        self.hold = hold_file(client.info().get("Architecture", "x86_64"))

    def container_options(self, ctx: JobContext, host) -> dict:
        return {"entrypoint": [HOLD_PATH], "command": list(self.command),
                "volumes": {self.hold: {"bind": HOLD_PATH, "mode": "ro"}}}

    def before_start(self, ctx: JobContext, host) -> None:
        self.held.add(host.name)

    def started(self, ctx: JobContext) -> None:
        if not self.held:  # taken over from a dead runner: what it held, the record says
            self.held = set((load_record(ctx.paths).get("Workbench") or {}).get("Held") or [])
            return
        for host in sorted(self.held):
            ctx.emit(ev.TrainingHeld(host, tuple(self.command)))
        ctx.emit(ev.Notice("info", f"Training is held on {', '.join(sorted(self.held))}: look inside with "
                                   f"`sm-workbench exec {ctx.name}`, then `sm-workbench release {ctx.name}`"))

    def host_exited(self, ctx: JobContext, host: str) -> None:
        self.held.discard(host)

    def release(self, ctx: JobContext, containers: dict) -> dict[str, str]:
        """Let every held host run its training command (a request from any process);
        returns the signal sent to each host released."""
        from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

        released = []
        for host in sorted(self.held):
            container = containers.get(host)
            if container is None:
                continue
            try:
                container.kill(signal=RELEASE_SIGNAL)
                released.append(host)
            except APIError as err:
                ctx.emit(ev.Notice("warning", f"{host} could not be released: {err.explanation or err}", host))
        self.held -= set(released)
        if released:
            ctx.emit(ev.TrainingReleased(tuple(released)))
        else:
            ctx.emit(ev.Notice("info", "Release: no host is held"))
        return {host: signal_name(RELEASE_SIGNAL) for host in released}
