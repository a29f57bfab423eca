"""Image lint: what in an image's own config will bite on SageMaker, found before the run.

Read from `docker image inspect` (and, for files, from a created-but-never-started
container): the effective ENTRYPOINT once the spec's ContainerEntrypoint is applied,
what SageMaker appends (`train`), and what the /opt/ml mount will hide. Findings never
block a run.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import tarfile
from dataclasses import dataclass

from workbench.engine.labels import LABEL_ROLE
from workbench.fileio import read_json, write_json_atomic
from workbench.paths import cache_dir
from workbench.units import human_bytes

SHELLS = {"sh", "bash", "dash", "ash", "zsh", "busybox"}
INITS = {"tini", "tini-static", "dumb-init", "catatonit"}


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    fix: str

    def format(self) -> str:
        return f"[{self.rule}] {self.message}\n    fix: {self.fix}"


def effective_command(config: dict, spec: dict) -> tuple[list[str], list[str]]:
    """(entrypoint, command) as the container will run them under SageMaker's rules."""
    algo = spec.get("AlgorithmSpecification") or {}
    entrypoint = algo.get("ContainerEntrypoint")
    arguments = algo.get("ContainerArguments")
    if entrypoint is None and arguments is None:
        return list(config.get("Entrypoint") or []), ["train"]
    if entrypoint is None:
        return list(config.get("Entrypoint") or []), list(arguments)
    return list(entrypoint), list(arguments or [])


def _is_shell_wrap(entrypoint: list[str]) -> bool:
    return (len(entrypoint) >= 2 and posixpath.basename(entrypoint[0]) in SHELLS
            and entrypoint[1] in ("-c", "-lc", "-ec"))


def config_findings(config: dict, spec: dict) -> list[Finding]:
    """The findings that the image config alone shows (pure: unit-testable)."""
    findings = []
    from_spec = (spec.get("AlgorithmSpecification") or {}).get("ContainerEntrypoint") is not None
    where = "ContainerEntrypoint" if from_spec else "the image's ENTRYPOINT"
    entrypoint, command = effective_command(config, spec)
    if _is_shell_wrap(entrypoint):
        findings.append(Finding(
            "shell-entrypoint",
            f"{where} runs through a shell ({' '.join(entrypoint[:2])} ...): PID 1 is the shell, which does not pass "
            "SIGTERM on, so on SageMaker your code never hears a stop or spot interruption and is SIGKILLed after "
            "120 s without saving",
            "use the exec form: ENTRYPOINT [\"python3\", \"train.py\"] (or end a wrapper script with `exec \"$@\"`)"
            if not from_spec else "give ContainerEntrypoint the program itself, e.g. [python3, train.py], not [sh, -c, ...]",
        ))
    if entrypoint and posixpath.basename(entrypoint[0]) in INITS:
        findings.append(Finding(
            "init-entrypoint",
            f"{where} is {posixpath.basename(entrypoint[0])}: SageMaker appends `train`, so the init runs "
            f"`{' '.join(entrypoint + command)}`; the program it was meant to start is skipped or gets `train` "
            "as an argument it does not expect",
            "drop the init from ENTRYPOINT (SageMaker's PID 1 needs no reaper) and make ENTRYPOINT your training "
            "program, or install a `train` program on PATH and leave ENTRYPOINT empty",
        ))
    workdir = config.get("WorkingDir") or ""
    if workdir.startswith("/opt/ml"):
        findings.append(Finding(
            "baked-opt-ml",
            f"WORKDIR is {workdir}: /opt/ml is replaced by SageMaker's own tree at run time, so anything the image "
            "put there is hidden",
            "keep code outside /opt/ml (e.g. /opt/program) and set WORKDIR there",
        ))
    return findings


class _Chunks(io.RawIOBase):
    """An iterator of byte chunks (docker's archive stream) as a file read front to back."""

    def __init__(self, chunks) -> None:
        self._chunks = iter(chunks)
        self._chunk = memoryview(b"")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._pos >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._chunk, self._pos = memoryview(chunk), 0
        size = min(len(buffer), len(self._chunk) - self._pos)
        buffer[:size] = self._chunk[self._pos:self._pos + size]
        self._pos += size
        return size


def _files_in(chunks) -> list[tuple[str, int]]:
    """(name, size) of every file in a tar stream; contents are skipped as they pass, so
    a gigabyte baked into the image costs no memory."""
    with tarfile.open(fileobj=_Chunks(chunks), mode="r|") as tar:
        return [(member.name, member.size) for member in tar if not member.isdir()]


def filesystem_findings(client, image: str, config: dict, spec: dict) -> list[Finding]:
    """Findings that need the image's files: baked /opt/ml content, `train` on PATH."""
    from docker.errors import APIError, NotFound  # deferred: the Docker SDK (~0.25 s to import)

    findings = []
    entrypoint, command = effective_command(config, spec)
    container = client.containers.create(image, command=["true"], entrypoint=[], network_disabled=True,
                                         labels={LABEL_ROLE: "lint"})
    try:
        try:
            stream, _ = container.get_archive("/opt/ml")
            files = _files_in(stream)
        except NotFound:
            files = []
        if files:
            shown = ", ".join("/opt/" + name for name, _ in files[:3]) + (" ..." if len(files) > 3 else "")
            size = human_bytes(sum(size for _, size in files))
            findings.append(Finding(
                "baked-opt-ml",
                f"the image has {len(files)} file{'s' if len(files) != 1 else ''} ({size}) under /opt/ml ({shown}); "
                "SageMaker mounts its own /opt/ml at run time and they are hidden (locally too)",
                "move them out of /opt/ml (e.g. COPY code /opt/program) and point your code there",
            ))
        if not entrypoint and command == ["train"]:
            path = next((e.split("=", 1)[1] for e in config.get("Env") or [] if e.startswith("PATH=")),
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            found = False
            for folder in path.split(":"):
                try:
                    container.get_archive(posixpath.join(folder or "/", "train"))
                    found = True
                    break
                except NotFound:
                    continue
                except APIError:
                    found = True  # cannot tell: say nothing
                    break
            if not found:
                findings.append(Finding(
                    "no-train",
                    "the image has no ENTRYPOINT, the spec no ContainerEntrypoint, and there is no `train` program on "
                    f"its PATH ({path}): SageMaker runs `train` and the job fails at once",
                    "add ENTRYPOINT [\"python3\", \"/opt/program/train.py\"], install an executable `train` on PATH, "
                    "or set AlgorithmSpecification.ContainerEntrypoint",
                ))
    finally:
        try:
            container.remove(force=True)
        except APIError:
            pass
    return findings


def lint_image(client, spec: dict) -> list[Finding]:
    """Every finding for the spec's image; cached per image id and entrypoint choice."""

    image = spec["AlgorithmSpecification"]["TrainingImage"]
    attrs = client.images.get(image).attrs
    config = attrs.get("Config") or {}
    algo = spec.get("AlgorithmSpecification") or {}
    key = hashlib.sha1(json.dumps([attrs.get("Id"), algo.get("ContainerEntrypoint"),
                                   algo.get("ContainerArguments")]).encode()).hexdigest()[:20]
    cached = cache_dir() / "lint" / f"{key}.json"
    stored = read_json(cached)
    if stored is not None:
        return [Finding(**f) for f in stored]
    findings = config_findings(config, spec)
    rules = {f.rule for f in findings}
    findings += [f for f in filesystem_findings(client, image, config, spec) if f.rule not in rules]
    write_json_atomic(cached, [f.__dict__ for f in findings])
    return findings
