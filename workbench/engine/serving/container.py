"""The `serve` container of an endpoint or a transform job.

SageMaker runs `docker run IMAGE serve` ("serve" overrides CMD; the image's ENTRYPOINT
stays), with the model in /opt/ml/model, the environment of the model's container
definition, and sends its requests to port 8080; to stop it, SIGTERM and SIGKILL 30 s
later (developer guide, your-algorithms-inference-code). Here port 8080 is published on
127.0.0.1 only (a port chosen, or a free one), the container carries the job's labels
(`engine/labels.py`, through `DockerJob`) so a later process finds what a dead one left,
and its output becomes LogLines events like a training host's.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

from workbench.engine import events as ev
from workbench.engine.docker_backend import DockerJob, signal_name
from workbench.engine.logs import LogPump, follow_container
from workbench.engine.serving.health import SERVE_PORT, parse_proc_net
from workbench.engine.serving.model_data import prepare_model
from workbench.engine.store import JobPaths, parse_log_line
from workbench.errors import WorkbenchError
from workbench.paths import state_dir

ROLE = "serving"
LAST_LINES = 12  # of the container's output, in a failure reason


class ServeContainer:
    """One job's `serve` container: started, watched, stopped, removed."""

    def __init__(self, client, paths: JobPaths, host: str, emit: Callable[[ev.Event], None]) -> None:
        self.client = client
        self.paths = paths
        self.host = host
        self.emit = emit
        self.docker = DockerJob(client, paths.name, str(state_dir()))
        self.container = None
        self.port = 0
        self.pump: LogPump | None = None
        self._reader: threading.Thread | None = None
        self.exit_code: int | None = None
        self.signals: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, image: str, environment: dict[str, str], model_dir: Path, port: int = 0,
              hostname: str | None = None) -> None:
        from docker.errors import APIError  # deferred: the Docker SDK (~0.25 s to import)

        self.docker.remove_all()  # a leftover of a dead process of the same name
        try:
            self.container = self.client.containers.run(
                image, command=["serve"], name=self.docker.container_name(self.host, ROLE),
                labels=self.docker.labels(self.host, ROLE), environment=environment,
                volumes={str(model_dir): {"bind": "/opt/ml/model", "mode": "rw"}},
                ports={f"{SERVE_PORT}/tcp": ("127.0.0.1", port or None)}, hostname=hostname or None,
                detach=True, privileged=False, stdin_open=False, tty=False,
            )
        except APIError as err:
            raise WorkbenchError(start_failure(image, port, err)) from None
        self.port = self._published_port()
        self.emit(ev.HostStarted(self.host, self.container.id, ROLE, ""))
        self.pump = LogPump(self.emit)
        self._reader = threading.Thread(target=self._follow, name=f"serve-{self.host}", daemon=True)
        self._reader.start()

    def _published_port(self) -> int:
        self.container.reload()
        bindings = ((self.container.attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{SERVE_PORT}/tcp")
        for binding in bindings or []:
            if binding.get("HostIp") in ("127.0.0.1", "0.0.0.0", "") and binding.get("HostPort"):
                return int(binding["HostPort"])
        raise WorkbenchError(f"Docker published no port for the container's {SERVE_PORT}; check the engine's "
                             "port publishing (`docker run -p 127.0.0.1::8080 ...` should work)")

    def _follow(self) -> None:
        assert self.pump is not None
        follow_container(self.container, self.host, self.pump)

    # --- while it runs --------------------------------------------------------------

    def status(self) -> tuple[str, int]:
        """(docker status, exit code): "running", "exited", ... ("gone" once removed)."""
        from docker.errors import NotFound  # deferred: the Docker SDK (~0.25 s to import)

        try:
            state = self.docker.state(self.container)
        except NotFound:
            return "gone", 137
        return state.status, state.exit_code

    def exited(self, when: str = "") -> str | None:
        """Why the container is no longer running (its exit code, `when`, its last lines), or None.
        While its output is still being read it is running: no call to the engine then."""
        if self._reader is not None and self._reader.is_alive():
            return None
        status, code = self.status()
        if status in ("running", "created", "restarting"):
            return None
        self.exit_code = code
        if self._reader is not None:
            self._reader.join(timeout=2)  # its last lines reach the log first
        how = f" ({signal_name(code, self.signals)})" if signal_name(code, self.signals) else ""
        lines = last_log_lines(self.paths, self.host)
        tail = ("; its last lines:\n" + "\n".join(lines)) if lines else "; it printed nothing"
        return f"the container exited with code {code}{how}{when}{tail}"

    def exited_before_ping(self) -> str | None:
        return self.exited(" before GET /ping answered 200")

    def listening(self) -> list[tuple[str, int]] | None:
        """(address, port) the container listens on (TCP), from its own /proc/net; None
        when that cannot be read."""
        try:
            self.container.reload()
            pid = int((self.container.attrs.get("State") or {}).get("Pid") or 0)
        except Exception:
            return None
        texts = []
        for name in ("tcp", "tcp6"):
            try:
                with open(f"/proc/{pid}/net/{name}", encoding="ascii", errors="replace") as handle:
                    texts.append(handle.read())
            except OSError:
                pass
        if not texts and pid:
            try:  # not ours to read: ask the container
                result = self.container.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
                texts.append(result.output.decode("ascii", errors="replace"))
            except Exception:
                return None
        if not texts:
            return None
        return [item for text in texts for item in parse_proc_net(text)]

    # --- stopping -------------------------------------------------------------------

    def stop(self, grace: float, *, kill: bool = False, reason: str = "Stopped") -> None:
        """SIGTERM, then SIGKILL after `grace` seconds (`kill`: SIGKILL at once), as
        SageMaker stops a hosting container; the signal timeline records how it went."""
        from docker.errors import APIError, NotFound  # deferred: the Docker SDK (~0.25 s to import)

        if self.container is None or self.status()[0] not in ("running", "restarting"):
            return
        first = "SIGKILL" if kill else "SIGTERM"
        sent_at = time.time()
        killed_at: float | None = sent_at if kill else None
        try:
            self.container.kill(signal=first)
            self.signals.append(first)
            self.emit(ev.SignalSent(self.host, first, reason))
            if not kill and not self._wait(grace):
                killed_at = time.time()
                self.container.kill(signal="SIGKILL")
                self.signals.append("SIGKILL")
                self.emit(ev.SignalSent(self.host, "SIGKILL", reason))
            self._wait(30)
        except (NotFound, APIError):
            pass
        status, code = self.status()
        self.exit_code = code
        self.emit(ev.SignalOutcome(self.host, reason, sent_at, time.time(), code, signal_name(code, self.signals),
                                   killed_at is not None, 0.0 if kill else float(grace), sigkill_time=killed_at))

    def _wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.status()[0] not in ("running", "restarting"):
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        """Remove the container (and anything else of the job's), then the log reader."""
        try:
            self.docker.remove_all([self.container] if self.container is not None else None)
        except Exception:
            self.docker.remove_all()
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self.pump is not None:
            self.pump.close()


def place_model(source: str, paths: JobPaths, host: str, emit: Callable[[ev.Event], None]) -> Path:
    """The model in the host's fresh /opt/ml/model (returned), as events: what was placed,
    and a notice naming what the archive held that was left out."""
    target = paths.opt_ml(host) / "model"
    prepared = prepare_model(source, target, paths.root / "tmp")
    emit(ev.ModelPrepared(source, prepared.files, prepared.bytes, prepared.seconds, tuple(prepared.skipped)))
    if prepared.skipped:
        emit(ev.Notice("warning", f"{len(prepared.skipped)} member(s) of the model archive left out: "
                                  + "; ".join(prepared.skipped[:5]), host))
    return target


def emit_lint(client, image: str, emit: Callable[[ev.Event], None]) -> None:
    """The image's serving lint findings as events; lint never stops a job."""
    from workbench.engine.lint import lint_serving  # deferred: only once a model is in place

    try:
        findings = lint_serving(client, image)
    except Exception as err:
        emit(ev.Notice("warning", f"image lint skipped: {err}"))
        return
    for finding in findings:
        emit(ev.LintFinding(finding.rule, finding.message, finding.fix))


def start_failure(image: str, port: int, err) -> str:
    text = str(getattr(err, "explanation", None) or err)
    if port and ("port is already allocated" in text or "address already in use" in text):
        return f"Port {port} of this machine is in use; choose another (--port) or 0 for a free one"
    message = f"Cannot start the serving container of {image}: {text}"
    if "executable file not found" in text or "no such file or directory" in text:
        message += ("; SageMaker runs `docker run IMAGE serve`: put a `serve` program on the image's PATH or give "
                    "the image an ENTRYPOINT that takes `serve` as its argument (`sm-workbench lint` checks it)")
    return message


def last_log_lines(paths: JobPaths, host: str, count: int = LAST_LINES) -> list[str]:
    """The last lines the container printed, from the job's log (bounded read)."""
    try:
        with open(paths.log(host), "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 16384))
            data = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    lines = data.splitlines()[-count:]
    return ["  " + parse_log_line(line)[1][:300] for line in lines]
