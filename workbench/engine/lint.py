"""Image lint: what in an image's own config will bite on SageMaker, found before the run.

Read from `docker image inspect` (and, for files, from a created-but-never-started
container): the effective ENTRYPOINT once the spec's ContainerEntrypoint is applied,
what SageMaker appends (`train`), and what the /opt/ml mount will hide. Findings never
block a run. Inference images have rules of their own (`serve`, port 8080, /ping): the
serving block at the end.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench.engine.labels import LABEL_ROLE
from workbench.engine.serving.container import ServeContainer
from workbench.engine.serving.health import Unhealthy, wait_until_healthy
from workbench.engine.serving.model_data import prepare_model
from workbench.engine.store import JobPaths, JobRecorder
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


def image_path(config: dict) -> str:
    """The PATH the image's processes start with."""
    return next((e.split("=", 1)[1] for e in config.get("Env") or [] if e.startswith("PATH=")),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")


def on_path(container, path: str, program: str) -> bool:
    """Is `program` in one of PATH's folders of a (created, never started) container?
    True when it cannot tell: a finding must be sure."""
    from docker.errors import APIError, NotFound  # deferred: the Docker SDK (~0.25 s to import)

    for folder in path.split(":"):
        try:
            container.get_archive(posixpath.join(folder or "/", program))
            return True
        except NotFound:
            continue
        except APIError:
            return True
    return False


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
            path = image_path(config)
            if not on_path(container, path, "train"):
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


# --- serving: `docker run IMAGE serve` ------------------------------------------------
# What the image's config and files show before an endpoint or a transform job starts.
# What only a running container shows (nothing listening on 8080, /ping not 200 or
# slower than 2 s, `serve` exiting) is found while it starts (`serving/health.py`), and
# `lint_serving(..., probe=True)` starts one to find out.


def serving_config_findings(config: dict) -> list[Finding]:
    """Findings the image config alone shows for `docker run IMAGE serve` (pure)."""
    findings = []
    entrypoint = list(config.get("Entrypoint") or [])
    if _is_shell_wrap(entrypoint):
        findings.append(Finding(
            "shell-entrypoint",
            f"the image's ENTRYPOINT runs through a shell ({' '.join(entrypoint[:2])} ...): PID 1 is the shell, which "
            "does not pass SIGTERM on, so a stopping endpoint cannot finish its requests and is SIGKILLed after 30 s",
            "use the exec form: ENTRYPOINT [\"python3\", \"/opt/program/serve.py\"] (or end a wrapper script with "
            "`exec \"$@\"`)",
        ))
    if entrypoint and posixpath.basename(entrypoint[0]) in INITS:
        findings.append(Finding(
            "init-entrypoint",
            f"the image's ENTRYPOINT is {posixpath.basename(entrypoint[0])}: SageMaker appends `serve`, and the "
            "developer guide warns that tini \"gets confused by the train and serve arguments\"",
            "drop the init from ENTRYPOINT and make it your server (exec form), or install a `serve` program on PATH "
            "and leave ENTRYPOINT empty",
        ))
    return findings


def serving_filesystem_findings(client, image: str, config: dict) -> list[Finding]:
    """No ENTRYPOINT and no `serve` on PATH: `docker run IMAGE serve` cannot start."""
    from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

    if config.get("Entrypoint"):
        return []
    container = client.containers.create(image, command=["true"], entrypoint=[], network_disabled=True,
                                         labels={LABEL_ROLE: "lint"})
    try:
        path = image_path(config)
        if on_path(container, path, "serve"):
            return []
        return [Finding(
            "no-serve",
            f"the image has no ENTRYPOINT and no `serve` program on its PATH ({path}): SageMaker runs "
            "`docker run IMAGE serve` for endpoints and batch transform, and the container cannot start",
            "install an executable `serve` on PATH that starts the server on port 8080 (e.g. COPY serve.py "
            "/usr/local/bin/serve), or give the image an ENTRYPOINT that takes `serve` as its argument",
        )]
    finally:
        try:
            container.remove(force=True)
        except APIError:
            pass


def lint_serving(client, image: str) -> list[Finding]:
    """The findings an inference image's config and files show; cached per image id."""
    attrs = client.images.get(image).attrs
    config = attrs.get("Config") or {}
    key = hashlib.sha1(json.dumps(["serve", attrs.get("Id")]).encode()).hexdigest()[:20]
    cached = cache_dir() / "lint" / f"serve-{key}.json"
    stored = read_json(cached)
    if stored is not None:
        return [Finding(**f) for f in stored]
    findings = serving_config_findings(config) + serving_filesystem_findings(client, image, config)
    write_json_atomic(cached, [f.__dict__ for f in findings])
    return findings


def probe_serving(client, model, existing_rules: set[str] | frozenset = frozenset()) -> list[Finding]:
    """Start the model's container once, as an endpoint would, and report what only a
    running container shows: `serve` exiting, nothing listening on 8080, /ping never 200 or
    slower than 2 s. Nothing is kept: the container and its folder are removed."""
    findings: list[Finding] = []
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="serve-lint-", ignore_cleanup_errors=True) as tmp:
        paths = JobPaths(Path(tmp) / f"lint-{os.urandom(4).hex()}")
        paths.logs.mkdir(parents=True)
        recorder = JobRecorder(paths, {})
        container = ServeContainer(client, paths, "lint", recorder)
        try:
            prepare_model(model.model_data, paths.root / "model", paths.root / "tmp")
            container.start(model.image, model.environment, paths.root / "model")
            wait_until_healthy("127.0.0.1", container.port, float(model.settings.StartupTimeoutSeconds),
                               exited=container.exited_before_ping, listening=container.listening)
        except Unhealthy as err:
            if err.rule and err.rule not in existing_rules:
                findings.append(Finding(err.rule, str(err), err.fix))
        finally:
            container.stop(5)
            container.close()
            recorder.close()
    return findings
