"""The detached worker process: runs (or takes over) one job, away from any terminal.

    python -m workbench.engine.worker run|adopt JOB_DIR [SOURCE]
    python -m workbench.engine.worker serve|transform JOB_DIR    (engine/serving/worker.py)
    python -m workbench.engine.worker tune|adopt-tuning JOB_DIR  (engine/tuning/worker.py)
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from workbench.engine import control
from workbench.engine.docker_client import connect
from workbench.engine.events import EventBus
from workbench.engine.runner import JobRunner
from workbench.engine.store import JobPaths, fail_unstarted_job
from workbench.fileio import read_json
from workbench.spec import read_spec_file


def main(argv: list[str]) -> int:
    action, root = argv[0], Path(argv[1])
    source = argv[2] if len(argv) > 2 else ""
    paths = JobPaths(root)
    if action in ("serve", "transform"):  # --- serving: endpoints and transform jobs ---
        from workbench.engine.serving.worker import run_serving  # deferred: only serving workers need it

        return run_serving(action, paths)
    if action in ("tune", "adopt-tuning"):  # --- tuning: a tuning job's tuner ---
        from workbench.engine.tuning.worker import run_tuning  # deferred: only tuning workers need it

        return run_tuning(action, paths)
    control.claim(paths, role="worker" if action == "run" else "adopter")
    try:
        runner = JobRunner(read_spec_file(paths.spec), paths, EventBus(), connect(), source=source)
    except Exception as err:  # the job cannot even begin: say so in its record

        fail_unstarted_job(paths, f"ClientError: {err}")
        return 2
    # A detached job is stopped through its control folder; SIGTERM to the worker means the same.
    signal.signal(signal.SIGTERM, lambda *_: runner.request_stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if action == "run":
        runner.run()
    else:
        runner.adopt(read_json(paths.control / "previous-owner.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
