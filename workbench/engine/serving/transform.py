"""One local batch transform job, from CreateTransformJob to its end.

    InProgress  Preparing     the model in a fresh /opt/ml/model, the input objects listed
                Starting      `docker run IMAGE serve` with SAGEMAKER_BATCH=true
                Pinging       GET /ping until 200
                Transforming  GET /execution-parameters once, then each object: split,
                              mini-batches, MaxConcurrentTransforms requests at a time,
                              `<object>.out` uploaded to S3OutputPath
    Completed | Failed | Stopped   (Stopping while a stop request is carried out)

The developer guide (your-algorithms-batch-code, batch-transform): the container gets
SAGEMAKER_BATCH=true and, only when the request sets them, SAGEMAKER_MAX_PAYLOAD_IN_MB,
SAGEMAKER_BATCH_STRATEGY and SAGEMAKER_MAX_CONCURRENT_TRANSFORMS; each value is the
request's, else the container's /execution-parameters answer, else the default. One output
object per input object, `<input relative to the input prefix>.out`, in input order;
"batch transform doesn't upload partially processed objects" and "if any object fails ...
marks the job as failed" (botocore's TransformOutput). Requests are retried
(ModelClientConfig.InvocationsMaxRetries, default 3) when the container does not answer in
InvocationsTimeoutInSeconds (default 600) or answers 5xx.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.serving import data_processing as dp
from workbench.engine.serving.container import ServeContainer, emit_lint, place_model
from workbench.engine.serving.health import Unhealthy, http_get, wait_until_healthy
from workbench.engine.serving.invoke import InvokeResult, post_invocations, preview
from workbench.engine.serving.records import TRANSFORM_HOST
from workbench.engine.serving.splitting import MIB, Record, mini_batches, split_records
from workbench.engine.store import JobPaths, JobRecorder, load_record
from workbench.errors import InvocationError, WorkbenchError
from workbench.spec import read_spec_file
from workbench.storage.cache import ContentCache
from workbench.storage.objects import StoredObject, list_objects
from workbench.storage.transfer import open_object_stream, upload_file
from workbench.storage.uri import parse_location

DEFAULTS = {"MaxConcurrentTransforms": 1, "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 6}
DEFAULT_INVOCATION_TIMEOUT = 600  # ModelClientConfig.InvocationsTimeoutInSeconds
DEFAULT_RETRIES = 3  # ModelClientConfig.InvocationsMaxRetries
PROGRESS_INTERVAL = 0.25
_STRATEGIES = {"MULTI_RECORD": "MultiRecord", "SINGLE_RECORD": "SingleRecord", "MULTIRECORD": "MultiRecord",
               "SINGLERECORD": "SingleRecord"}


class Stopped(Exception):
    """A stop request arrived while objects were being transformed."""


class TransformRunner:
    def __init__(self, paths: JobPaths, bus: ev.EventBus, client) -> None:
        self.paths = paths
        self.bus = bus
        self.client = client
        self.record = load_record(paths)
        self.request = {k: v for k, v in read_spec_file(paths.spec).items() if k != "Workbench"}
        bench = self.record.get("Workbench") or {}
        self.model: dict = bench.get("Model") or {}
        self.settings: dict = bench.get("Settings") or {}
        self.host = TRANSFORM_HOST
        self.container = ServeContainer(client, paths, self.host, self.emit)
        self._stop = threading.Event()
        self._kill = False
        self._done = threading.Event()
        self.counts = {"objects_done": 0, "objects_total": 0, "records": 0, "requests": 0, "bytes_in": 0,
                       "bytes_out": 0, "failed": 0}
        self._counts_lock = threading.Lock()
        self._last_progress = 0.0

    def emit(self, event: ev.Event) -> None:
        self.bus.emit(event)

    def request_stop(self, kill: bool = False) -> None:
        self._kill = self._kill or kill
        self._stop.set()

    def _status(self, status: str, secondary: str, message: str) -> None:
        self.emit(ev.StatusChanged(status, secondary, message))

    # --- the job ----------------------------------------------------------------------

    def run(self) -> dict:
        recorder = JobRecorder(self.paths, self.record)
        self.bus.subscribe(recorder)
        threading.Thread(target=self._watch_control, name="control", daemon=True).start()
        failure, stopped = "", False
        try:
            self.emit(ev.JobCreated(self.paths.name, self.record.get("TransformJobArn", ""), (self.host,),
                                    (self.record.get("Workbench") or {}).get("Source", "")))
            failure = self._transform()
        except (Stopped, Unhealthy) as err:
            if self._stop.is_set():
                stopped = True
            else:
                failure = f"ClientError: the container is not healthy: {err}"
                if isinstance(err, Unhealthy) and err.rule:
                    self.emit(ev.LintFinding(err.rule, str(err).split("\n")[0], err.fix))
        except WorkbenchError as err:
            failure = f"ClientError: {err}"
        except Exception as err:  # a bug: end the job, say so
            failure = f"InternalError: {type(err).__name__}: {err}"
        finally:
            stopped = stopped or (self._stop.is_set() and not failure)
            if stopped:
                self._status("Stopping", "Stopping", "Stopping the container")
            self.container.stop(float(self.settings.get("StopGracePeriodSeconds", 30)), kill=self._kill,
                                reason="Stopped" if stopped else "Completed" if not failure else "Failed")
            code = self.container.exit_code
            self.container.close()
            self._progress(force=True)
            if code is not None:
                self.emit(ev.HostExited(self.host, code))
            if failure:
                self.emit(ev.JobFinished("Failed", "Failed", failure[:1024]))
            elif stopped:
                self.emit(ev.JobFinished("Stopped", "Stopped"))
            else:
                self.emit(ev.JobFinished("Completed", "Completed"))
            self._done.set()
            recorder.close()
        return recorder.record

    def _transform(self) -> str:
        self._status("InProgress", "Preparing", "Placing the model in /opt/ml/model and listing the input")
        model_dir = place_model(self.model.get("ModelDataUrl") or "", self.paths, self.host, self.emit)
        objects = self._input_objects()
        self.counts["objects_total"] = len(objects)
        self._lint()
        if self._stop.is_set():
            raise Stopped()
        image = self.model.get("Image", "")
        self._status("InProgress", "Starting", f"docker run {image} serve (SAGEMAKER_BATCH=true)")
        self.container.start(image, self._environment(), model_dir, hostname=self.model.get("ContainerHostname"))
        timeout = float(self.settings.get("StartupTimeoutSeconds") or 240)
        self._status("InProgress", "Pinging", f"Waiting for GET /ping to answer 200 (at most {timeout:g} s)")
        answer, took = wait_until_healthy("127.0.0.1", self.container.port, timeout,
                                          exited=self.container.exited_before_ping,
                                          listening=self.container.listening, cancelled=self._stop.is_set)
        self.emit(ev.EndpointReady(self.host, self.container.url, self.container.port, took, answer.latency_ms or 0.0))
        params = self._execution_parameters()
        self._status("InProgress", "Transforming", f"{len(objects)} object{'s' if len(objects) != 1 else ''}, "
                     f"{params.batch_strategy}, {params.max_concurrent_transforms} at a time, at most "
                     f"{params.max_payload_mb} MB a request")
        failures: list[str] = []
        for obj in objects:
            if self._stop.is_set():
                raise Stopped()
            why = self.container.exited()
            if why is not None:
                raise WorkbenchError(f"the serving container stopped during the transform: {why}")
            error = self._one_object(obj, params)
            if error:
                failures.append(f"{obj.location.uri}: {error}")
        if failures:
            return (f"ClientError: {len(failures)} of {len(objects)} input objects failed (their outputs were not "
                    f"uploaded); the first: {failures[0]}")
        return ""

    def _environment(self) -> dict[str, str]:
        environment = dict(self.model.get("Environment") or {})
        environment.update(self.request.get("Environment") or {})
        environment["SAGEMAKER_BATCH"] = "true"
        if self.request.get("MaxPayloadInMB") is not None:
            environment["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(self.request["MaxPayloadInMB"])
        if self.request.get("BatchStrategy"):
            environment["SAGEMAKER_BATCH_STRATEGY"] = \
                "MULTI_RECORD" if self.request["BatchStrategy"] == "MultiRecord" else "SINGLE_RECORD"
        if self.request.get("MaxConcurrentTransforms"):
            environment["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(self.request["MaxConcurrentTransforms"])
        return environment

    def _lint(self) -> None:
        emit_lint(self.client, self.model.get("Image", ""), self.emit)

    def _input_objects(self) -> list[StoredObject]:
        source = self.request["TransformInput"]["DataSource"]["S3DataSource"]
        location = parse_location(source["S3Uri"])
        if source.get("S3DataType") == "ManifestFile":
            from workbench.engine.channels.manifests import manifest_objects  # deferred: only for manifests

            lease = ContentCache().lease()
            try:
                objects = manifest_objects(location, lease)
            finally:
                lease.release()
        else:
            objects = list_objects(location)
        if not objects:
            raise WorkbenchError(f"no input objects under {location.uri}; check TransformInput's S3Uri")
        return objects

    def _execution_parameters(self) -> ev.ExecutionParameters:
        """Each value: the request's, else the container's answer, else the default."""
        answered: dict = {}
        try:
            status, body, _ = http_get("127.0.0.1", self.container.port, "/execution-parameters", 10.0)
            if status == 200:
                data = json.loads(body)
                answered = data if isinstance(data, dict) else {}
        except Exception:  # optional: no answer, or not JSON, is no answer
            answered = {}
        values, sources = {}, {}
        for key, default in DEFAULTS.items():
            requested = self.request.get(key)
            if requested not in (None, 0, ""):
                values[key], sources[key] = requested, "request"
                continue
            offered = _valid(key, answered.get(key))
            if offered is not None:
                values[key], sources[key] = offered, "container"
            else:
                values[key], sources[key] = default, "default"
        event = ev.ExecutionParameters(int(values["MaxConcurrentTransforms"]), str(values["BatchStrategy"]),
                                       int(values["MaxPayloadInMB"]), answered, sources)
        self.emit(event)
        return event

    # --- one object -------------------------------------------------------------------

    def _one_object(self, obj: StoredObject, params: ev.ExecutionParameters) -> str:
        """Transform one object and upload its `.out`; returns why it failed, or ""."""
        started = time.monotonic()
        before = dict(self.counts)
        output = parse_location(self.request["TransformOutput"]["S3OutputPath"]).join(obj.rel + ".out")
        work = self.paths.root / "tmp"
        work.mkdir(parents=True, exist_ok=True)
        partial = work / f"object-{before['objects_done'] + before['failed']}.out"
        error = ""
        try:
            self._write_output(obj, params, partial)
            upload_file(partial, output)
        except Stopped:
            raise
        except (WorkbenchError, OSError, EOFError, gzip.BadGzipFile) as err:
            error = str(err) or type(err).__name__
        finally:
            partial.unlink(missing_ok=True)
        with self._counts_lock:
            self.counts["failed" if error else "objects_done"] += 1
        after = self.counts
        self.emit(ev.TransformObjectDone(
            obj.location.uri, "" if error else output.uri, after["records"] - before["records"],
            after["requests"] - before["requests"], after["bytes_in"] - before["bytes_in"],
            after["bytes_out"] - before["bytes_out"], time.monotonic() - started, error[:1000]))
        if error:
            self.emit(ev.Notice("error", f"{obj.location.uri}: {error}", self.host))
        self._progress(force=True)
        return error

    def _write_output(self, obj: StoredObject, params: ev.ExecutionParameters, target: Path) -> None:
        transform_input = self.request["TransformInput"]
        split = transform_input.get("SplitType") or "None"
        content_type = transform_input.get("ContentType") or ""
        accept = (self.request.get("TransformOutput") or {}).get("Accept") or ""
        assemble = (self.request.get("TransformOutput") or {}).get("AssembleWith") or "None"
        processing = self.request.get("DataProcessing") or {}
        input_filter, join, output_filter = (processing.get("InputFilter"), processing.get("JoinSource"),
                                             processing.get("OutputFilter"))
        per_record = join == "Input" or not dp.is_identity(output_filter)
        concurrency = max(1, params.max_concurrent_transforms)
        client_config = self.request.get("ModelClientConfig") or {}
        timeout = float(client_config.get("InvocationsTimeoutInSeconds") or DEFAULT_INVOCATION_TIMEOUT)
        retries = int(client_config.get("InvocationsMaxRetries", DEFAULT_RETRIES))
        limit = params.max_payload_mb * MIB

        with open_object_stream(obj) as raw:
            stream = gzip.GzipFile(fileobj=raw) if transform_input.get("CompressionType") == "Gzip" else raw
            records = split_records(stream, split)
            if not dp.is_identity(input_filter):
                records = (_filtered(r, content_type, input_filter, split) for r in records)
            batches = mini_batches(records, params.batch_strategy, limit, split)
            with open(target, "wb") as out, ThreadPoolExecutor(concurrency, thread_name_prefix="transform") as pool:
                window: deque[tuple[Future, list[Record]]] = deque()

                def write_first() -> None:
                    future, batch = window.popleft()
                    answer: InvokeResult = future.result()
                    if per_record:
                        for record, produced in zip(batch, dp.split_outputs(answer.body, len(batch), accept)):
                            joined = dp.join_output(record.original if record.original is not None else record.payload,
                                                    produced, content_type, accept, join, output_filter)
                            out.write(joined + (b"\n" if assemble == "Line" else b""))
                    else:
                        out.write(answer.body)
                        if assemble == "Line" and not answer.body.endswith(b"\n"):
                            out.write(b"\n")
                    with self._counts_lock:
                        self.counts["records"] += len(batch)
                        self.counts["bytes_out"] += len(answer.body)
                    self._progress()

                try:
                    for body, batch in batches:
                        if self._stop.is_set():
                            raise Stopped()
                        window.append((pool.submit(self._request, body, content_type, accept, timeout, retries,
                                                   limit), batch))
                        while len(window) > concurrency or (window and window[0][0].done()):
                            write_first()
                    while window:
                        write_first()
                finally:
                    for future, _ in window:
                        future.cancel()

    def _request(self, body: bytes, content_type: str, accept: str, timeout: float, retries: int,
                 limit: int) -> InvokeResult:
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = post_invocations("127.0.0.1", self.container.port, body, content_type=content_type or None,
                                          accept=accept or None, timeout=timeout, limit=limit, accept_timeout=5.0)
                error = "" if answer.ok else (f"the container answered {answer.status} to POST /invocations: "
                                              f"{preview(answer.body, 300)}")
            except InvocationError as err:
                answer, error = None, str(err)
            with self._counts_lock:
                self.counts["requests"] += 1
                self.counts["bytes_in"] += len(body)
            if not error and answer is not None:
                return answer
            server_side = answer is None or answer.status >= 500
            if attempt > retries or not server_side or self._stop.is_set():
                raise InvocationError(error + (f" (after {attempt} attempts)" if attempt > 1 else ""))

    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        with self._counts_lock:
            counts = dict(self.counts)
        self.emit(ev.TransformProgress(**counts))

    def _watch_control(self) -> None:
        while not self._done.is_set():
            for action, _ in control.take_requests(self.paths):
                if action in ("stop", "kill"):
                    self.request_stop(kill=action == "kill")
            self._done.wait(0.1)


def _filtered(record: Record, content_type: str, input_filter: str | None, split: str) -> Record:
    payload = dp.filter_input(record.payload, content_type, input_filter)
    return Record(payload, payload + b"\n" if split == "Line" else payload, original=record.payload)


def _valid(key: str, value) -> int | str | None:
    """A value of the container's /execution-parameters answer, if it is one the API takes."""
    if key == "BatchStrategy":
        if isinstance(value, str):
            value = _STRATEGIES.get(value.upper().replace("-", "_"), value)
            return value if value in ("MultiRecord", "SingleRecord") else None
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if key == "MaxPayloadInMB":
        return value if 1 <= value <= 100 else None
    return value if value >= 1 else None
