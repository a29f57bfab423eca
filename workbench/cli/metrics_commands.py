"""`metrics`: a job's MetricDefinitions values (or other regexes tried on its stored output);
`compare`: jobs side by side."""

from __future__ import annotations

import csv
import json
import math
import sys
import time

from workbench.engine.times import epoch, iso
from workbench.errors import WorkbenchError


def register(commands) -> None:
    metrics = commands.add_parser(
        "metrics", help="a job's metrics (MetricDefinitions): last, min, max and count per host",
        description="Each metric's last, min, max and count per host, as the job's MetricDefinitions read its "
                    "output. With --definitions or --regex, other definitions are tried on the job's stored "
                    "output instead, without running it again.")
    metrics.add_argument("job", metavar="JOB")
    metrics.add_argument("--host", help="only this host (algo-2)")
    shape = metrics.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print the table as JSON (with --follow: one JSON "
                                                           "object per value)")
    shape.add_argument("--csv", action="store_true", help="print every value: metric,host,time,seconds,value")
    metrics.add_argument("--follow", "-f", action="store_true", help="print values as they come until the job ends")
    metrics.add_argument("--definitions", metavar="SPEC",
                         help="read the output again with this spec's MetricDefinitions (or a file with a "
                              "top-level MetricDefinitions list)")
    metrics.add_argument("--regex", action="append", default=[], metavar="NAME=REGEX",
                         help="read the output again with this definition (repeatable; adds to --definitions)")
    metrics.set_defaults(func=metrics_command)

    compare = commands.add_parser("compare", help="jobs side by side: hyperparameters (differences marked *) "
                                                  "and final metrics")
    compare.add_argument("jobs", nargs="+", metavar="JOB")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(func=compare_command)


def number(value: float | None) -> str:
    """A metric value, short but exact enough to compare runs."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.6g}"


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def metrics_command(args) -> int:
    from workbench.engine import api  # deferred: engine
    from workbench.engine import events as ev  # deferred: engine

    definitions = None
    if args.definitions or args.regex:
        definitions, warnings = api.metric_definitions_from(args.definitions, args.regex)
        for warning in warnings:
            print(warning.format(args.definitions or "--regex"), file=sys.stderr)
    record = api.describe_job(args.job)
    if record.get("HyperParameterTuningJobName"):  # --- tuning: the metrics are its training jobs' ---
        raise WorkbenchError(f"{args.job} is a tuning job: each of its training jobs has its metrics (`sm-workbench "
                             f"metrics TRAINING-JOB`); `sm-workbench describe {args.job} --trials` lists them with "
                             "their objective values")
    start = epoch(record.get("TrainingStartTime"))
    series = api.MetricSeries()
    writer = csv.writer(sys.stdout, lineterminator="\n") if args.csv else None
    if writer:
        writer.writerow(["metric", "host", "time", "seconds", "value"])
    for event in api.metric_samples(args.job, host=args.host, definitions=definitions, follow=args.follow):
        if isinstance(event, ev.Notice):
            print(f"{event.level}: {event.message}", file=sys.stderr)
            continue
        if not series.add_event(event):
            continue
        if writer or args.follow:
            for sample in event.samples if isinstance(event, ev.MetricSamples) else [event]:
                _print_sample(sample, start, args, writer)
    if writer:
        return 0
    if args.json and not args.follow:
        print(json.dumps([summary.to_dict() for summary in series.summaries(args.host)], indent=2))
        return 0
    if args.json:
        return 0
    summaries = series.summaries()
    if not summaries:
        print(f"No metric values for {args.job}" + (
            ": no definition matched its output (see `sm-workbench describe` Notices)"
            if definitions is None else ": none of these definitions matched its stored output"), file=sys.stderr)
        return 0
    rows = [("METRIC", "HOST", "LAST", "MIN", "MAX", "COUNT", "LAST AT")]
    for s in summaries:
        rows.append((s.metric, s.host or "all", number(s.last), number(s.low), number(s.high), str(s.count),
                     _at(s.last_time, start)))
    print("\n".join(_columns(rows)))
    return 0


def _at(moment: float, start: float | None) -> str:
    """When a value came: seconds since training started (the charts' x), else the time."""
    if start:
        return f"{moment - start:.1f} s"
    return time.strftime("%H:%M:%S", time.localtime(moment))


def _print_sample(sample, start: float | None, args, writer) -> None:
    seconds = round(sample.time - start, 3) if start else ""
    if writer:
        writer.writerow([sample.metric, sample.host or "all", iso(sample.time), seconds, repr(sample.value)])
    elif args.json:
        print(json.dumps({"Metric": sample.metric, "Host": sample.host, "Time": iso(sample.time),
                          "Seconds": seconds, "Value": sample.value}), flush=True)
    else:
        print(f"{_at(sample.time, start):>10}  {sample.host or 'all':<8} {sample.metric}  {number(sample.value)}",
              flush=True)


def compare_command(args) -> int:
    from workbench.engine import api  # deferred: engine

    comparison = api.compare_jobs(args.jobs)
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2, default=str))
        return 0
    rows = [("", "", *comparison.jobs), ("", "status", *comparison.statuses)]
    if comparison.hyperparameters:
        rows.append(("", "HyperParameters", *[""] * len(comparison.jobs)))
        for row in comparison.hyperparameters:
            rows.append(("*" if row.differs else "", row.name, *["-" if v is None else str(v) for v in row.values]))
    rows.append(("", "FinalMetricDataList", *[""] * len(comparison.jobs)))
    for row in comparison.metrics:
        rows.append(("", row.name, *[number(v) for v in row.values]))
    if not comparison.metrics:
        rows.append(("", "(no metric values)", *[""] * len(comparison.jobs)))
    print("\n".join(_columns(rows)))
    if comparison.differing:
        print(f"\n* differs: {', '.join(comparison.differing)}")
    return 0
