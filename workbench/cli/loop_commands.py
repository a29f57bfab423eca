"""The container author's inner loop: build, `run --watch`, exec, signal, release."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from workbench.cli.spec_commands import add_spec_options
from workbench.errors import WorkbenchError


def register(commands) -> None:
    build = commands.add_parser("build", help="build a spec's TrainingImage from its Workbench.Build, without running")
    build.add_argument("spec", metavar="SPEC", help="spec file (YAML) with Workbench.Build")
    add_spec_options(build, name=False)
    build.set_defaults(func=build_command)

    run_in = commands.add_parser("exec", help="run a command (default: a shell) in a running host's training container")
    run_in.add_argument("job", metavar="JOB")
    run_in.add_argument("--host", help="the host (default: the first, algo-1)")
    run_in.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD", help="the command and its arguments, after --")
    run_in.set_defaults(func=exec_command)

    sig = commands.add_parser("signal", help="send one signal to one host's training process (on the signal timeline)")
    sig.add_argument("job", metavar="JOB")
    sig.add_argument("signal", metavar="SIGNAL", help="SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGKILL, ... (or a number)")
    sig.add_argument("--host", default="algo-1", help="the host (default: algo-1)")
    sig.set_defaults(func=signal_command)

    release = commands.add_parser("release", help="let a Workbench.PauseBeforeTrain job's held training start")
    release.add_argument("job", metavar="JOB")
    release.set_defaults(func=release_command)


# --- build -----------------------------------------------------------------------------


def build_command(args) -> int:
    from workbench.cli.printer import TerminalPrinter  # deferred: engine (events)
    from workbench.engine.api import build_spec  # deferred: engine
    from workbench.spec import load_job_spec  # deferred: spec (YAML, the API model)

    spec = load_job_spec(Path(args.spec), overrides=args.overrides)
    try:
        build_spec(spec, TerminalPrinter())
    except WorkbenchError as err:
        if hasattr(err, "step"):  # a failed build: the printer has said which step, and its output
            return err.exit_code
        raise
    return 0


# --- exec, signal, release -------------------------------------------------------------


def exec_command(args) -> int:
    """The docker CLI runs the command: it owns the terminal (raw mode, window resizes,
    ctrl-p ctrl-q), which docker-py's exec socket would leave to us."""
    from workbench.engine.api import exec_command as command_line  # deferred: engine

    host, command = _host_and_command(args.host, list(args.command))
    argv, host = command_line(args.job, host, command, tty=sys.stdin.isatty() and sys.stdout.isatty())
    if not command:
        print(f"{args.job} {host}: a shell in its training container (exit to leave)", file=sys.stderr)
    return subprocess.call(argv)


def _host_and_command(host: str | None, rest: list[str]) -> tuple[str | None, list[str]]:
    """`exec JOB [--host H] [-- CMD...]`: argparse hands everything after JOB over as is."""
    options, command = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) if "--" in rest else (
        (rest, []) if rest and rest[0].startswith("-") else ([], rest))
    if options:
        parser = argparse.ArgumentParser(prog="sm-workbench exec JOB", add_help=False)
        parser.add_argument("--host")
        parsed, unknown = parser.parse_known_args(options)
        if unknown:
            raise WorkbenchError(f"exec: unexpected {' '.join(unknown)}; write the command after --, e.g. "
                                 "`sm-workbench exec JOB --host algo-2 -- ls /opt/ml`")
        host = parsed.host or host
    return host, command


def signal_command(args) -> int:
    from workbench.engine.api import signal_host  # deferred: engine

    name = signal_host(args.job, args.host, args.signal)
    print(f"{name} requested for {args.host} of {args.job}: the runner sends it and records it on the signal "
          f"timeline (`sm-workbench describe {args.job}`, Workbench.Signals)", file=sys.stderr)
    return 0


def release_command(args) -> int:
    from workbench.engine.api import release_job  # deferred: engine

    release_job(args.job)
    print(f"Release requested for {args.job}: its held hosts start training", file=sys.stderr)
    return 0


# --- run --watch -------------------------------------------------------------------------


def run_watch(args) -> int:
    """Rounds of the same spec, each a job of its own, until Ctrl-C: a change to what the
    job reads stops the running round the normal way and starts the next one."""
    from workbench.cli.printer import TerminalPrinter  # deferred: engine (events)
    from workbench.engine.api import launch, next_round_name, watch_changes, watched_paths  # deferred: engine
    from workbench.spec import load_job_spec  # deferred: spec (YAML, the API model)

    overrides = list(args.overrides)
    if args.watch_grace is not None:
        overrides.append(f"Workbench.StopGracePeriodSeconds={args.watch_grace}")
    changed = threading.Event()
    state: dict = {"job": None, "changes": [], "quit": False, "presses": 0}
    lock = threading.Lock()

    def on_change(paths: list[str]) -> None:
        with lock:
            state["changes"] = sorted(set(state["changes"]) | set(paths))
            job = state["job"]
        changed.set()
        if job is not None:
            job.stop()  # SIGTERM now, SIGKILL after the (watch) grace

    def on_interrupt(signum, frame) -> None:
        state["presses"] += 1
        state["quit"] = True
        changed.set()
        job = state["job"]
        if job is not None:
            job.stop(kill=state["presses"] > 1)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    name, number, watcher, watching = args.name, 0, None, None
    try:
        while not state["quit"]:
            number += 1
            try:
                spec = load_job_spec(Path(args.spec), name=name, overrides=overrides)
            except WorkbenchError as err:
                print(f"error: {err}", file=sys.stderr)
                spec = None
            paths = watched_paths(spec) if spec is not None else None
            if watcher is None or (paths is not None and paths != watching):
                if watcher is not None:
                    watcher.stop()
                watcher = watch_changes(spec, on_change, spec_file=args.spec)
                watching = paths
            if spec is not None:
                name = spec.name
                with lock:
                    why = state["changes"]
                    state["changes"] = []
                changed.clear()
                _round(number, spec, why, state, lock, launch, TerminalPrinter)
                name = next_round_name(name)
            if state["quit"]:
                break
            if not changed.is_set():
                print("[watch] waiting for a change (Ctrl-C ends the watch)", file=sys.stderr, flush=True)
            changed.wait()
            time.sleep(0.05)
    finally:
        signal.signal(signal.SIGINT, previous)
        if watcher is not None:
            watcher.stop()
    return 0


def _round(number: int, spec, why: list[str], state: dict, lock, launch, printer_class) -> None:
    from workbench.cli.printer import human_seconds  # deferred: engine (events)

    because = f" ({_changed(why)} changed)" if why else ""
    print(f"[watch] round {number}: {spec.name}{because}", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        job = launch(spec, subscribers=[printer_class()])
    except WorkbenchError as err:
        print(f"[watch] round {number}: not started: {err}", file=sys.stderr, flush=True)
        return
    with lock:
        state["job"] = job
    try:
        record = job.run()
    finally:
        with lock:
            state["job"] = None
    status = record.get("TrainingJobStatus", "?")
    detail = record.get("SecondaryStatus", "")
    failure = (record.get("FailureReason") or "").strip().splitlines()
    print(f"[watch] round {number}: {spec.name} {status}"
          + (f" ({detail})" if detail and detail != status else "")
          + f" in {human_seconds(time.monotonic() - started)}"
          + (f": {failure[0][:120]}" if failure else ""), file=sys.stderr, flush=True)


def _changed(paths: list[str]) -> str:
    names = [Path(p).name for p in paths]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
