"""One local endpoint, from CreateEndpoint to its end, in the process that owns it.

    Creating   Preparing (the model into a fresh /opt/ml/model, image lint)
               Starting  (`docker run IMAGE serve`, 8080 published on 127.0.0.1)
               Pinging   (GET /ping until 200, within StartupTimeoutSeconds)
    InService  Serving   (GET /ping every HEALTH_INTERVAL; a change is recorded)
    Deleting   Stopping  (a stop request: SIGTERM, 30 s, SIGKILL)
    OutOfService | Failed

Every step is an event on the job's bus, kept by the store like a training job's, so
`jobs`, `describe`, `logs` and the workbench show an endpoint like any job. Other
processes stop it through its control folder (`sm-workbench stop ENDPOINT`).
"""

from __future__ import annotations

import threading
import time

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.serving.container import ServeContainer, emit_lint, place_model
from workbench.engine.serving.health import Unhealthy, ping, wait_until_healthy
from workbench.engine.serving.records import VARIANT
from workbench.engine.store import JobPaths, JobRecorder, load_record
from workbench.errors import WorkbenchError

HEALTH_INTERVAL = 5.0  # seconds between pings while InService
CONTROL_POLL = 0.1


class EndpointRunner:
    def __init__(self, paths: JobPaths, bus: ev.EventBus, client) -> None:
        self.paths = paths
        self.bus = bus
        self.client = client
        self.record = load_record(paths)
        bench = self.record.get("Workbench") or {}
        self.model: dict = bench.get("Model") or {}
        self.settings: dict = bench.get("Settings") or {}
        self.host = VARIANT
        self.container = ServeContainer(client, paths, self.host, self.emit)
        self._stop = threading.Event()
        self._kill = False
        self._health: bool | None = None

    def emit(self, event: ev.Event) -> None:
        self.bus.emit(event)

    def request_stop(self, kill: bool = False) -> None:
        self._kill = self._kill or kill
        self._stop.set()

    def _status(self, status: str, secondary: str, message: str) -> None:
        self.emit(ev.StatusChanged(status, secondary, message))

    def run(self) -> dict:
        recorder = JobRecorder(self.paths, self.record)
        self.bus.subscribe(recorder)
        watcher = threading.Thread(target=self._watch_control, name="control", daemon=True)
        watcher.start()
        failure = ""
        try:
            self.emit(ev.JobCreated(self.paths.name, self.record.get("EndpointArn", ""), (self.host,),
                                    (self.record.get("Workbench") or {}).get("Source", "")))
            failure = self._serve()
        except Unhealthy as err:
            if self._stop.is_set():  # stopped while it was starting
                failure = ""
            else:
                failure = f"The endpoint's container is not healthy: {err}"
            if err.rule and not self._stop.is_set():
                self.emit(ev.LintFinding(err.rule, str(err).split("\n")[0], err.fix))
        except WorkbenchError as err:
            failure = str(err)
        except Exception as err:  # a bug: end the endpoint, say so
            failure = f"InternalError: {type(err).__name__}: {err}"
        finally:
            stopping = self._stop.is_set() and not failure
            if stopping:
                self._status("Deleting", "Stopping", "Stopping the container: " + (
                    "SIGKILL now" if self._kill else f"SIGTERM, then SIGKILL after {self._grace():g} s"))
            self.container.stop(self._grace(), kill=self._kill, reason="Stopped" if stopping else "Failed")
            code = self.container.exit_code
            self.container.close()
            if code is not None:
                self.emit(ev.HostExited(self.host, code, failure=failure))
            if failure:
                self.emit(ev.JobFinished("Failed", "Failed", failure[:1024]))
            else:
                self.emit(ev.JobFinished("OutOfService", "Stopped"))
            self._stop.set()
            recorder.close()
        return recorder.record

    def _grace(self) -> float:
        return float(self.settings.get("StopGracePeriodSeconds", 30))

    def _serve(self) -> str:
        """Start, wait for health, serve until stopped; returns why it failed ("" when stopped)."""
        self._status("Creating", "Preparing", "Placing the model in /opt/ml/model")
        model_dir = place_model(self.model.get("ModelDataUrl") or "", self.paths, self.host, self.emit)
        self._lint()
        if self._stop.is_set():
            return ""
        image = self.model.get("Image", "")
        self._status("Creating", "Starting", f"docker run {image} serve")
        self.container.start(image, dict(self.model.get("Environment") or {}), model_dir,
                             int(self.settings.get("Port") or 0), self.model.get("ContainerHostname"))
        timeout = float(self.settings.get("StartupTimeoutSeconds") or 240)
        self._status("Creating", "Pinging", f"Waiting for GET /ping to answer 200 (at most {timeout:g} s)")
        answer, took = wait_until_healthy("127.0.0.1", self.container.port, timeout,
                                          exited=self.container.exited_before_ping,
                                          listening=self.container.listening, cancelled=self._stop.is_set)
        self._health = True
        self.emit(ev.EndpointReady(self.host, self.container.url, self.container.port, took, answer.latency_ms or 0.0))
        self._status("InService", "Serving", f"Serving on {self.container.url}")
        return self._watch()

    def _lint(self) -> None:
        emit_lint(self.client, self.model.get("Image", ""), self.emit)

    def _watch(self) -> str:
        """While InService: the container must keep running; /ping is checked every
        HEALTH_INTERVAL and a change of health is recorded."""
        next_ping = time.monotonic() + HEALTH_INTERVAL
        while not self._stop.wait(0.2):
            why = self.container.exited()
            if why is not None:
                return f"The endpoint's container stopped while InService: {why}"
            if time.monotonic() >= next_ping:
                result = ping("127.0.0.1", self.container.port)
                if result.healthy != self._health:
                    self._health = result.healthy
                    self.emit(ev.HealthChecked(self.host, result.healthy, result.status, result.latency_ms,
                                               "" if result.healthy else result.describe()))
                    if result.slow:
                        self.emit(ev.LintFinding("slow-ping", result.error, "answer /ping at once; keep heavy work "
                                                                            "out of the health check"))
                next_ping = time.monotonic() + HEALTH_INTERVAL
        return ""

    def _watch_control(self) -> None:
        while not self._stop.is_set():
            for action, _ in control.take_requests(self.paths):
                if action in ("stop", "kill"):
                    self.request_stop(kill=action == "kill")
            self._stop.wait(CONTROL_POLL)
