"""A detached tuning job: the worker process `tune`, `tune --detach` and the workbench
start (`python -m workbench.engine.worker tune DIR`), or the one that takes over a dead
tuner's job (`adopt-tuning`)."""

from __future__ import annotations

import signal

from workbench.engine import control
from workbench.engine.store import JobPaths, fail_unstarted_job
from workbench.fileio import read_json


def run_tuning(action: str, paths: JobPaths) -> int:
    from workbench.engine.tuning.tuner import Tuner  # deferred: the tuner and Optuna, only in this worker

    control.claim(paths, role="worker" if action == "tune" else "adopter")
    try:
        tuner = Tuner(paths)
    except Exception as err:  # it cannot even begin: say so in its record
        fail_unstarted_job(paths, f"ClientError: {err}")
        return 2
    # Stopped through its control folder; SIGTERM to the worker means the same.
    signal.signal(signal.SIGTERM, lambda *_: tuner.request_stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if action == "tune":
        tuner.run()
    else:
        tuner.adopt(read_json(paths.control / "previous-owner.json"))
    return 0
