#!/usr/bin/env python3
"""A SageMaker inference server on Python's standard library, for the serving tests.

GET /ping: 200 once /opt/ml/model/model.json ({"a": .., "b": ..}) is loaded.
POST /invocations: y = a*x + b for every x sent, in the format asked for:
  text/csv (one x per line, or rows whose last column is x) -> one y per line
  application/jsonlines ({"x": ..} per line)                -> {"y": ..} per line
  application/json ({"x": [..]} or [..] or a number)         -> {"predictions": [..]}
GET /execution-parameters: $INFER_EXECUTION_PARAMETERS (JSON) when set, else 404.

Misbehaviour on request (environment): INFER_EXIT=N exits at once; INFER_PING_STATUS=N
answers /ping with N; INFER_PING_DELAY=s sleeps before each /ping answer; INFER_HOST=
127.0.0.1 or INFER_PORT=N listens elsewhere; INFER_START_DELAY=s before listening. A
request's custom attributes `sleep=s` make it answer s seconds late (and are echoed).
"""

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "/opt/ml/model/model.json"


def load():
    with open(MODEL) as handle:
        model = json.load(handle)
    return float(model["a"]), float(model["b"])


def number(text):
    return float(text.strip().split(",")[-1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for an ACK between

    def log_message(self, fmt, *args):
        sys.stdout.write("serve: " + fmt % args + "\n")
        sys.stdout.flush()

    def answer(self, status, body=b"", content_type="text/plain", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ping":
            time.sleep(float(os.environ.get("INFER_PING_DELAY", "0")))
            self.answer(int(os.environ.get("INFER_PING_STATUS", "200")))
        elif self.path == "/execution-parameters" and os.environ.get("INFER_EXECUTION_PARAMETERS"):
            self.answer(200, os.environ["INFER_EXECUTION_PARAMETERS"].encode(), "application/json")
        else:
            self.answer(404, b"not found")

    def do_POST(self):
        if self.path != "/invocations":
            self.answer(404, b"not found")
            return
        data = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        attributes = self.headers.get("X-Amzn-SageMaker-Custom-Attributes", "")
        for item in attributes.split(";"):
            if item.startswith("sleep="):
                time.sleep(float(item[len("sleep="):]))
        a, b = self.server.model
        kind = (self.headers.get("Content-Type") or "text/csv").split(";")[0]
        accept = self.headers.get("Accept") or kind
        try:
            if kind == "application/json":
                value = json.loads(data)
                xs = value["x"] if isinstance(value, dict) else value
                xs = xs if isinstance(xs, list) else [xs]
            elif kind == "application/jsonlines":
                xs = [json.loads(line)["x"] for line in data.splitlines() if line.strip()]
            else:
                xs = [number(line) for line in data.splitlines() if line.strip()]
        except (ValueError, KeyError, TypeError) as err:
            self.answer(400, f"cannot read the {kind} body: {err}".encode())
            return
        ys = [round(a * x + b, 6) for x in xs]
        if accept == "application/json":
            body, out_type = json.dumps({"predictions": ys}).encode(), "application/json"
        elif accept == "application/jsonlines":
            body, out_type = "".join(json.dumps({"y": y}) + "\n" for y in ys).encode(), "application/jsonlines"
        else:
            body, out_type = "".join(f"{y}\n" for y in ys).encode(), "text/csv"
        print(f"invocations: {len(xs)} records, {len(data)} bytes", flush=True)
        self.answer(200, body, out_type, {"X-Amzn-SageMaker-Custom-Attributes": attributes} if attributes else None)


def main():
    if os.environ.get("INFER_EXIT"):
        print("serve: exiting on request (INFER_EXIT)", flush=True)
        sys.exit(int(os.environ["INFER_EXIT"]))
    print(f"serve: argv={sys.argv[1:]} batch={os.environ.get('SAGEMAKER_BATCH', '')} "
          f"strategy={os.environ.get('SAGEMAKER_BATCH_STRATEGY', '')}", flush=True)
    time.sleep(float(os.environ.get("INFER_START_DELAY", "0")))
    host = os.environ.get("INFER_HOST", "0.0.0.0")
    port = int(os.environ.get("INFER_PORT", os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")))
    server = ThreadingHTTPServer((host, port), Handler)
    server.model = load()
    print(f"serve: y = {server.model[0]} x + {server.model[1]} on {host}:{port}", flush=True)

    def on_term(signum, frame):
        print("serve: SIGTERM, shutting down", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    server.serve_forever()
    print("serve: stopped", flush=True)


if __name__ == "__main__":
    main()
