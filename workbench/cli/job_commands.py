"""Job commands: run, jobs, describe, logs, stop, rerun, rm."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from workbench.cli.spec_commands import add_spec_options
from workbench.cli.tuning_commands import SORT_KEYS, TRIAL_STATUSES
from workbench.engine.times import epoch
from workbench.errors import JobStateError, WorkbenchError


def register(commands) -> None:
    run = commands.add_parser("run", help="run a job locally, exactly as SageMaker would, streaming every host's output")
    run.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    add_spec_options(run)
    run.add_argument("--detach", action="store_true", help="run in a background worker; print the job name and return")
    run.add_argument("--watch", action="store_true",
                     help="rerun whenever the spec, its build context, script-mode code or local channel folders change "
                     "(each round a job of its own: NAME, NAME-w2, ...)")
    run.add_argument("--watch-grace", type=int, metavar="SECONDS",
                     help="with --watch: the grace between SIGTERM and SIGKILL when a change stops a round")
    run.set_defaults(func=run_command)

    jobs = commands.add_parser("jobs", help="list jobs, newest first (a tuning job's training jobs under it)")
    jobs.add_argument("--json", action="store_true", help="print the records as JSON")
    jobs.set_defaults(func=jobs_command)

    describe = commands.add_parser("describe", help="print a job as DescribeTrainingJob would (JSON; endpoints, "
                                                    "transform jobs and tuning jobs as DescribeEndpoint, "
                                                    "DescribeTransformJob and DescribeHyperParameterTuningJob)")
    describe.add_argument("job", metavar="JOB")
    describe.add_argument("--trials", action="store_true",  # --- tuning ---
                          help="a tuning job's training jobs, as ListTrainingJobsForHyperParameterTuningJob lists them")
    describe.add_argument("--status", choices=TRIAL_STATUSES, help="with --trials: only training jobs in this status")
    describe.add_argument("--sort-by", choices=SORT_KEYS, default="Name", help="with --trials: the order (default Name)")
    describe.add_argument("--sort-order", choices=("Ascending", "Descending"), default="Ascending",
                          help="with --trials: Ascending (default) or Descending")
    describe.set_defaults(func=describe_command)

    logs = commands.add_parser("logs", help="print a job's logs (all hosts in time order, or one host)")
    logs.add_argument("job", metavar="JOB")
    logs.add_argument("--host", help="only this host (algo-2)")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until the job ends")
    logs.add_argument("--timestamps", "-t", action="store_true", help="prefix each line with its time")
    logs.set_defaults(func=logs_command)

    stop = commands.add_parser("stop", help="stop a running job: SIGTERM, the grace period, then SIGKILL (a tuning "
                                            "job: it and its running training jobs)")
    stop.add_argument("job", metavar="JOB")
    stop.add_argument("--kill", action="store_true", help="send SIGKILL at once")
    stop.add_argument("--no-wait", action="store_true", help="return at once instead of waiting for Stopped")
    stop.set_defaults(func=stop_command)

    interrupt = commands.add_parser("interrupt", help="simulate a spot interruption of a managed spot job")
    interrupt.add_argument("job", metavar="JOB")
    interrupt.set_defaults(func=interrupt_command)

    rerun = commands.add_parser("rerun", help="run an earlier job's spec again under a new name")
    rerun.add_argument("job", metavar="JOB")
    add_spec_options(rerun)
    rerun.add_argument("--detach", action="store_true", help="run in a background worker")
    rerun.set_defaults(func=rerun_command)

    remove = commands.add_parser("rm", help="remove finished jobs' files (root-owned ones included; a tuning job's "
                                            "training jobs with it)")
    remove.add_argument("jobs", nargs="+", metavar="JOB")
    remove.set_defaults(func=rm_command)


def run_stopping_on_ctrl_c(job, printer, stopping: str) -> dict:
    """Run a foreground job; the first Ctrl-C stops it (`stopping` says how), the second kills it."""
    presses = {"count": 0}

    def on_interrupt(signum, frame) -> None:
        presses["count"] += 1
        if presses["count"] == 1:
            printer.note(stopping, "warning")
            job.stop()
        else:
            printer.note("Ctrl-C again: sending SIGKILL now", "warning")
            job.stop(kill=True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        return job.run()
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_spec(spec, detach: bool) -> int:
    from workbench.cli.printer import TerminalPrinter, exit_code_for, summary_lines  # deferred: engine (events)
    from workbench.engine.api import launch  # deferred: engine

    printer = TerminalPrinter()
    for warning in spec.warnings:
        if not warning.not_emulated or detach:  # a foreground run's notices say those at its start
            print(warning.format(str(spec.source or "spec")), file=sys.stderr)
    job = launch(spec, detach=detach, subscribers=[printer])
    if detach:
        print(job.name)
        return 0
    grace = spec.settings.StopGracePeriodSeconds
    record = run_stopping_on_ctrl_c(job, printer, f"Ctrl-C: stopping gracefully (SIGTERM now, SIGKILL after "
                                                  f"{grace} s); press Ctrl-C again to kill at once")
    print("", file=sys.stderr)
    for line in summary_lines(record):
        print(line, file=sys.stderr)
    return exit_code_for(record)


def run_command(args) -> int:
    from workbench.spec import load_job_spec  # deferred: spec (YAML, the API model)

    if args.watch or args.watch_grace is not None:  # inner loop: rounds until Ctrl-C
        if args.detach or not args.watch:
            raise WorkbenchError("--watch runs in the foreground (without --detach); --watch-grace goes with --watch")
        from workbench.cli.loop_commands import run_watch  # deferred: watchfiles, only --watch

        return run_watch(args)

    spec = load_job_spec(Path(args.spec), name=args.name, overrides=args.overrides)
    return _run_spec(spec, args.detach)


def rerun_command(args) -> int:
    from workbench.engine.api import rerun_spec  # deferred: engine

    spec = rerun_spec(args.job, new_name=args.name, overrides=args.overrides)
    return _run_spec(spec, args.detach)


def _age(value: str | None) -> str:
    moment = epoch(value)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment)) if moment else "-"


def _duration(record: dict) -> str:
    from workbench.cli.printer import human_seconds  # deferred: engine (events)
    from workbench.engine.record import record_end  # deferred: engine

    start = epoch(record.get("CreationTime"))
    end = epoch(record_end(record)) or (time.time() if start else None)
    return human_seconds(end - start) if start and end else "-"


def _where(kind: str) -> str:
    from workbench.engine.record import KIND_SAGEMAKER, KIND_SAGEMAKER_TUNING  # deferred: engine

    return {KIND_SAGEMAKER: "SageMaker", KIND_SAGEMAKER_TUNING: "SageMaker tuning", "local": "local"}.get(
        kind, f"local {kind}")


def _row(record: dict, indent: str = "") -> tuple[str, ...]:
    from workbench.engine.record import instances, record_kind, record_name, record_secondary, record_status  # deferred

    hosts, kinds = instances(record)
    failure = (record.get("FailureReason") or "").strip().splitlines()
    return (indent + record_name(record), _where(record_kind(record)), record_status(record) or "?",
            record_secondary(record), hosts, kinds, _age(record.get("CreationTime")), _duration(record),
            (failure[0][:60] if failure else ""))


def _summary_row(summary: dict, indent: str) -> tuple[str, ...]:
    """A training job of a SageMaker tuning job, from its HyperParameterTrainingJobSummary
    (it is in SageMaker's history, not this one)."""
    failure = (summary.get("FailureReason") or "").strip().splitlines()
    start, end = epoch(summary.get("CreationTime")), epoch(summary.get("TrainingEndTime"))
    from workbench.cli.printer import human_seconds  # deferred: engine (events)

    return (indent + str(summary.get("TrainingJobName", "?")), "SageMaker", str(summary.get("TrainingJobStatus", "?")),
            "", "-", "-", _age(summary.get("CreationTime")),
            human_seconds((end or time.time()) - start) if start else "-", (failure[0][:60] if failure else ""))


def jobs_command(args) -> int:
    from workbench.engine.api import job_history, trials_of  # deferred: engine
    from workbench.engine.record import KIND_SAGEMAKER_TUNING, record_kind, record_name  # deferred: engine

    history = job_history()
    for skipped in history.skipped:
        print(f"warning: {skipped.message}", file=sys.stderr)
    records = history.records
    if args.json:
        print(json.dumps(records, indent=2, default=str))
        return 0
    if not records:
        print("No jobs yet: run one with `sm-workbench run sample_jobs/hello/job.yaml`")
        return 0
    by_name = {record_name(record): record for record in records}
    trials = trials_of(records)  # --- tuning: its training jobs listed under each tuning job ---
    nested = {name for names in trials.values() for name in names}
    rows = [("NAME", "ON", "STATUS", "SECONDARY", "HOSTS", "INSTANCES", "CREATED", "DURATION", "FAILURE")]
    for record in records:
        name = record_name(record)
        if name in nested:
            continue
        rows.append(_row(record))
        summaries = {s.get("TrainingJobName"): s for s in (record.get("Workbench") or {}).get("TrainingJobSummaries") or []
                     if isinstance(s, dict)}
        for trial in trials.get(name, []):
            if trial in by_name:
                rows.append(_row(by_name[trial], "  "))
            elif trial in summaries and record_kind(record) == KIND_SAGEMAKER_TUNING:
                rows.append(_summary_row(summaries[trial], "  "))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    return 0


def describe_command(args) -> int:
    from workbench.engine.api import describe_job, tuning_trials  # deferred: engine

    if args.trials or args.status or args.sort_by != "Name" or args.sort_order != "Ascending":  # --- tuning ---
        summaries = tuning_trials(args.job, status=args.status, sort_by=args.sort_by, sort_order=args.sort_order)
        print(json.dumps({"TrainingJobSummaries": summaries}, indent=2, default=str))
        return 0
    print(json.dumps(describe_job(args.job), indent=2, default=str))
    return 0


def logs_command(args) -> int:
    from workbench.cli.printer import TerminalPrinter  # deferred: engine (events)
    from workbench.engine.api import job_hosts, read_logs  # deferred: engine

    printer = TerminalPrinter()
    prefix = args.host is None and len(job_hosts(args.job)) != 1
    for moment, host, text in read_logs(args.job, host=args.host, follow=args.follow):
        stamp = ""
        if args.timestamps:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1000):03d}Z "
        print((printer.host_prefix(host) if prefix else "") + stamp + text, flush=args.follow)
    return 0


def stop_command(args) -> int:
    from workbench.cli.printer import exit_code_for, summary_lines  # deferred: engine (events)
    from workbench.engine.api import describe_job, stop_job  # deferred: engine
    from workbench.engine.record import is_final, record_status  # deferred: engine

    record = describe_job(args.job)
    if is_final(record):
        raise JobStateError(f"Job {args.job} has already ended ({record_status(record)}); nothing to stop")
    tuning = record.get("HyperParameterTuningJobName") is not None  # --- tuning: its running training jobs too ---
    if not args.no_wait:
        grace = ((record.get("Workbench") or {}).get("Settings") or {}).get("StopGracePeriodSeconds")
        what = f"tuning job {args.job} and its running training jobs" if tuning else args.job
        print(f"Stopping {what}: " + ("SIGKILL now" if args.kill else
              "SIGTERM now, SIGKILL after the grace period" + (f" ({grace} s)" if grace is not None else "")),
              file=sys.stderr)
    record = stop_job(args.job, kill=args.kill, wait=not args.no_wait)
    if args.no_wait:
        print(f"Stop requested for {args.job}")
        return 0
    for line in summary_lines(record):
        print(line, file=sys.stderr)
    return 0 if exit_code_for(record) in (0, 3) else 1


def rm_command(args) -> int:
    from workbench.engine.api import job_kind, remove_job, tuning_trials  # deferred: engine
    from workbench.engine.record import KIND_TUNING  # deferred: engine

    for name in args.jobs:
        try:  # --- tuning: its training jobs go too ---
            trials = tuning_trials(name) if job_kind(name) == KIND_TUNING else []
        except WorkbenchError:
            trials = []  # a damaged record: remove_job says what it does
        remove_job(name)
        print(f"removed {name}" + (f" and its {len(trials)} training job{'s' if len(trials) != 1 else ''}"
                                   if trials else ""))
    return 0


def interrupt_command(args) -> int:
    from workbench.engine.api import interrupt_job  # deferred: engine

    interrupt_job(args.job)
    print(f"Interrupting {args.job}: SIGTERM now, SIGKILL after the grace period, then it starts again "
          f"(follow it with `sm-workbench logs {args.job} --follow`)")
    return 0
