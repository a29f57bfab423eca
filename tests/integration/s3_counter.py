"""A counting HTTP proxy in front of moto's S3 server, on 127.0.0.1.

The engine talks to the proxy (AWS_ENDPOINT_URL) and every request it makes is recorded
at the wire, so a test can say how many objects were really fetched: no mocks, no hooks
inside the code under test.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, urlsplit, parse_qs

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade", "trailer"}


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        target = urlparse(upstream)
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    upstream_conn.request(self.command, self.path, body=body, headers=headers)
                    response = upstream_conn.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data) if self.command != "HEAD"
                                                           else response.getheader("Content-Length", "0")))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    upstream_conn.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def object_gets(self, bucket: str) -> list[str]:
        """Keys of GetObject requests on `bucket` (a GET of /bucket/key; listings are GET /bucket?...)."""
        keys = []
        with self._lock:
            seen = list(self.requests)
        for method, path in seen:
            parts = urlsplit(path)
            segments = parts.path.lstrip("/").split("/", 1)
            if method == "GET" and segments[0] == bucket and len(segments) == 2 and segments[1] \
                    and "list-type" not in parse_qs(parts.query):
                keys.append(segments[1])
        return keys
