"""POST /invocations as InvokeEndpoint does: the headers it passes through and the limits it
enforces, with the latency measured.

botocore's sagemaker-runtime model: the body is at most 6291456 bytes (6 MiB); Content-Type,
Accept and X-Amzn-SageMaker-Custom-Attributes (at most 1024 characters, "forwarded
verbatim") reach the container; the developer guide adds that SageMaker "strips all POST
headers except those supported by InvokeEndpoint", that the container "must accept socket
connection requests within 250 ms" and "must respond to requests within 60 seconds".
A request breaking a limit is refused here before it is sent, as the service refuses it;
an answer that is late is given up on at the limit, as the service gives up.
"""

from __future__ import annotations

import http.client
import socket
import time
import uuid
from dataclasses import dataclass, field

from workbench.engine.serving.health import ACCEPT_TIMEOUT
from workbench.errors import InvocationError
from workbench.units import human_bytes

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # 6291456: InvokeEndpoint's Body max
INVOCATION_TIMEOUT = 60.0  # "must respond to requests within 60 seconds"
MAX_CUSTOM_ATTRIBUTES = 1024
PREVIEW_CHARS = 2000  # of a body and its answer, kept with each request's event


@dataclass
class InvokeResult:
    status: int
    body: bytes
    content_type: str
    latency_ms: float
    request_bytes: int
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def model_error(self) -> str:
        """InvokeEndpoint's ModelError for an answer that is not 2xx, in its words."""
        return (f"ModelError: Received {'client' if self.status < 500 else 'server'} error ({self.status}) from "
                f"the model with message \"{preview(self.body, 300)}\"")


def preview(data: bytes, limit: int = PREVIEW_CHARS) -> str:
    text = data[:limit * 4].decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_request(body: bytes, custom_attributes: str | None = None, limit: int = MAX_PAYLOAD_BYTES) -> None:
    """The limits InvokeEndpoint checks before anything reaches the container."""
    if len(body) > limit:
        raise InvocationError(f"The body is {human_bytes(len(body))} ({len(body)} bytes); InvokeEndpoint takes at "
                              f"most {human_bytes(limit)} ({limit} bytes): send less per request, or use a batch "
                              "transform (`sm-workbench transform`) for big inputs")
    if custom_attributes is not None and len(custom_attributes) > MAX_CUSTOM_ATTRIBUTES:
        raise InvocationError(f"CustomAttributes is {len(custom_attributes)} characters; InvokeEndpoint takes at "
                              f"most {MAX_CUSTOM_ATTRIBUTES}")


def post_invocations(host: str, port: int, body: bytes, *, content_type: str | None = None,
                     accept: str | None = None, custom_attributes: str | None = None,
                     timeout: float = INVOCATION_TIMEOUT, limit: int = MAX_PAYLOAD_BYTES,
                     accept_timeout: float = ACCEPT_TIMEOUT, path: str = "/invocations") -> InvokeResult:
    """One request, timed from the first byte sent to the last byte of the answer read."""
    check_request(body, custom_attributes, limit)
    headers = {"Content-Length": str(len(body))}
    if content_type:
        headers["Content-Type"] = content_type
    if accept:
        headers["Accept"] = accept
    if custom_attributes is not None:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    request_id = str(uuid.uuid4())
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=accept_timeout)
    try:
        try:
            connection.connect()
        except (socket.timeout, TimeoutError):
            raise InvocationError(f"The container did not accept the connection within {accept_timeout * 1000:.0f} ms "
                                  "(SageMaker's limit); keep the server's accept loop free") from None
        except OSError as err:
            raise InvocationError(f"Nothing answers on 127.0.0.1:{port} ({err.strerror or err}); is the endpoint "
                                  "still InService? `sm-workbench jobs` shows it") from None
        connection.sock.settimeout(timeout)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (socket.timeout, TimeoutError):
            why = ("InvokeEndpoint gives up then (ModelError): answer faster, or use a batch transform for slow "
                   "models") if timeout >= INVOCATION_TIMEOUT else "the timeout asked for"
            raise InvocationError(f"The model did not answer within {timeout:g} s; {why}") from None
        except (ConnectionError, http.client.HTTPException) as err:
            raise InvocationError(f"The container closed the connection without an answer ({type(err).__name__}); "
                                  "its log says why") from None
    finally:
        connection.close()
    took = (time.perf_counter() - started) * 1000
    answer_headers = {key: value for key, value in response.getheaders()}
    return InvokeResult(response.status, data, response.getheader("Content-Type") or "", took, len(body),
                        answer_headers, request_id)
