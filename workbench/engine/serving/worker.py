"""A detached endpoint or transform job: the worker process `serve --detach`, `transform
--detach` and the workbench start (`python -m workbench.engine.worker serve|transform DIR`)."""

from __future__ import annotations

import signal

from workbench.engine import control
from workbench.engine.docker_client import connect
from workbench.engine.events import EventBus
from workbench.engine.store import JobPaths, fail_unstarted_job


def run_serving(action: str, paths: JobPaths) -> int:
    from workbench.engine.serving.endpoint import EndpointRunner  # deferred: one of the two runs here
    from workbench.engine.serving.transform import TransformRunner  # deferred: one of the two runs here

    control.claim(paths, role="worker")
    try:
        runner = (EndpointRunner if action == "serve" else TransformRunner)(paths, EventBus(), connect())
    except Exception as err:  # it cannot even begin: say so in its record
        fail_unstarted_job(paths, f"ClientError: {err}")
        return 2
    # Stopped through its control folder; SIGTERM to the worker means the same.
    signal.signal(signal.SIGTERM, lambda *_: runner.request_stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runner.run()
    return 0
