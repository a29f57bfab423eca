"""`tune`: a hyperparameter tuning job run here, with a live table of its training jobs.

`describe --trials`, `stop`, `jobs`, `rm`, `submit` and `import` take tuning jobs too
(job_commands, cloud_commands). The tuner always runs in a worker process (so the tuning
job outlives a closed terminal, as a detached training job does); attached, this command
follows its record and redraws the table, and Ctrl-C stops the tuning job as `run` stops
its job (twice: at once).
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
from pathlib import Path

from workbench.cli.spec_commands import add_spec_options
from workbench.errors import JobStateError, WorkbenchError

LOCAL_POLL = 0.25  # seconds between reads of a local tuning job's record (a file)
CLOUD_POLL = 30.0  # between DescribeHyperParameterTuningJob calls when following one on SageMaker
TRIAL_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
SORT_KEYS = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")


def register(commands) -> None:
    tune = commands.add_parser(
        "tune", help="run a hyperparameter tuning job locally (a CreateHyperParameterTuningJob spec), each training "
                     "job as SageMaker's automatic model tuning launches it; shows a live table of them")
    tune.add_argument("spec", metavar="SPEC", help="tuning spec file (YAML)")
    add_spec_options(tune)
    tune.add_argument("--detach", action="store_true",
                      help="print the tuning job's name and return; it runs on in a background worker")
    tune.set_defaults(func=tune_command)


def tune_command(args) -> int:
    from workbench.engine.api import tune  # deferred: engine
    from workbench.spec import read_spec_file  # deferred: spec (YAML, the API model)
    from workbench.spec.tuning import is_tuning_spec, load_tuning_spec  # deferred: spec

    path = Path(args.spec)
    if not is_tuning_spec(read_spec_file(path)):
        raise WorkbenchError(f"{path} is not a tuning spec (a CreateHyperParameterTuningJob request, with "
                             f"HyperParameterTuningJobConfig and TrainingJobDefinition); run a training spec with "
                             f"`sm-workbench run {path}`")
    spec = load_tuning_spec(path, name=args.name, overrides=args.overrides)
    for warning in spec.warnings:
        print(warning.format(str(spec.source or "spec")), file=sys.stderr)
    job = tune(spec, detach=True)
    if args.detach:
        print(job.name)
        print(f"Follow it: sm-workbench describe {job.name} --trials    Stop it: sm-workbench stop {job.name}",
              file=sys.stderr)
        return 0
    return follow_tuning(job.name, stop_on_interrupt=True)


# --- the table -------------------------------------------------------------------------


def _short(value) -> str:
    """A tuned value as a person reads it: floats to 6 significant digits."""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return text if text.lstrip("-").isdigit() else f"{number:.6g}"


def trial_rows(record: dict) -> list[tuple[str, ...]]:
    """The table of a tuning job's training jobs: a header, then one row per training job
    in launch order (the best marked with *)."""
    bench = record.get("Workbench") or {}
    summaries = [s for s in bench.get("TrainingJobSummaries") or [] if isinstance(s, dict)]
    trials = bench.get("Trials") or {}
    names: list[str] = []
    for summary in summaries:
        for key in summary.get("TunedHyperParameters") or {}:
            if key not in names:
                names.append(key)
    objective = ((record.get("HyperParameterTuningJobConfig") or {}).get("HyperParameterTuningJobObjective")
                 or (record.get("TrainingJobDefinition") or {}).get("TuningObjective") or {})
    best = (record.get("BestTrainingJob") or {}).get("TrainingJobName")
    rows = [("", "TRAINING JOB", "STATUS", *names,
             str(objective.get("MetricName") or "objective"), "EARLY STOP", "NOTE")]
    for summary in summaries:
        name = str(summary.get("TrainingJobName", ""))
        tuned = summary.get("TunedHyperParameters") or {}
        value = (summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
        status = summary.get("ObjectiveStatus", "Pending")
        shown = "-" if value is None or status == "Failed" else _short(value)
        early = (trials.get(name) or {}).get("EarlyStopped") or {}
        failure = (summary.get("FailureReason") or "").strip().splitlines()
        note = failure[0] if failure else ("no objective value" if status == "Failed" else "")
        rows.append(("*" if name == best else "", name, str(summary.get("TrainingJobStatus", "?")),
                     *[_short(tuned[n]) if n in tuned else "" for n in names], shown,
                     f"{early.get('Rule', '')} at epoch {early.get('Epoch', '?')}" if early else "", note[:80]))
    return rows


def format_rows(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1]).rstrip()
            for row in rows]


class TrialsView:
    """The table, live: on a terminal redrawn in place (at most as tall as the terminal);
    elsewhere (a pipe, a log) one line each time a training job's status, objective
    status or early stop changes, and the whole table at the end."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.drawn = 0
        self.seen: dict[str, tuple] = {}
        self.notices = 0
        self.last: list[str] = []

    def update(self, record: dict) -> None:
        self._notices(record)
        rows = trial_rows(record)
        if self.live:
            self._draw(rows, record)
            return
        header = rows[0]
        for row in rows[1:]:
            key = (row[2], row[-3] if row[2] != "InProgress" else "", row[-2])  # not each running value
            if self.seen.get(row[1]) != key:
                self.seen[row[1]] = key
                cells = [row[1], row[2], *[f"{header[i]}={row[i]}" for i in range(3, len(row) - 2) if row[i]],
                         *([f"early stop: {row[-2]}"] if row[-2] else []), row[-1]]
                self.stream.write("  ".join(cell for cell in cells if cell) + "\n")
                self.stream.flush()

    def _notices(self, record: dict) -> None:
        notices = (record.get("Workbench") or {}).get("Notices") or []
        for notice in notices[self.notices:]:
            self.note(f"{notice.get('Level', 'info')}: {notice.get('Message', '')}")
        self.notices = len(notices)

    def note(self, text: str) -> None:
        """A line above the table (on a terminal the table is drawn again below it)."""
        if self.live and self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.stream.flush()
            self.drawn, self.last = 0, []
        print(text, file=sys.stderr, flush=True)

    def _draw(self, rows: list[tuple[str, ...]], record: dict) -> None:
        size = shutil.get_terminal_size((100, 30))
        secondary = (record.get("Workbench") or {}).get("SecondaryStatus", "")
        title = f"{record.get('HyperParameterTuningJobName', '')}: {record.get('HyperParameterTuningJobStatus', '?')}" \
                + (f" ({secondary})" if secondary else "")
        lines = [title, *format_rows(rows)]
        room = max(size.lines - 2, 3)
        if len(lines) > room:  # the newest rows, and how many are left out
            lines = lines[:2] + [f"... {len(lines) - room + 1} earlier training jobs"] + lines[-(room - 3):]
        lines = [line[: size.columns - 1] for line in lines]
        if lines == self.last:
            return
        self.last = lines
        out = (f"\x1b[{self.drawn}F\x1b[J" if self.drawn else "") + "".join(line + "\n" for line in lines)
        self.stream.write(out)
        self.stream.flush()
        self.drawn = len(lines)

    def finish(self, record: dict) -> None:
        if not self.live:
            self.stream.write("\n" + "".join(line + "\n" for line in format_rows(trial_rows(record))))
            self.stream.flush()


def follow_tuning(name: str, *, stop_on_interrupt: bool, poll: float | None = None) -> int:
    """Follow a tuning job to its end with the live table; the summary and the exit code
    (0 Completed, 1 Failed, 3 Stopped). `stop_on_interrupt`: Ctrl-C stops it (twice: its
    training jobs are killed at once), else Ctrl-C only stops following."""
    from workbench.cli.printer import exit_code_for, summary_lines  # deferred: engine (events)
    from workbench.engine.api import describe_job, job_kind, stop_job  # deferred: engine
    from workbench.engine.record import KIND_TUNING, is_final  # deferred: engine

    if poll is None:
        poll = LOCAL_POLL if job_kind(name) == KIND_TUNING else CLOUD_POLL
    view = TrialsView()
    presses = {"count": 0}
    acted = 0

    def on_interrupt(signum, frame) -> None:
        presses["count"] += 1

    previous = signal.signal(signal.SIGINT, on_interrupt) if stop_on_interrupt else None
    try:
        while True:
            if presses["count"] > acted:
                acted = presses["count"]
                kill = acted > 1
                view.note("Ctrl-C again: killing its training jobs now (SIGKILL)" if kill else
                          f"Ctrl-C: stopping {name} and its running training jobs (SIGTERM, each one's grace "
                          "period, SIGKILL); press Ctrl-C again to kill them at once")
                try:
                    stop_job(name, kill=kill, wait=False)
                except JobStateError:
                    pass  # it ended meanwhile
            record = describe_job(name)
            view.update(record)
            if is_final(record):
                break
            time.sleep(poll)
    except KeyboardInterrupt:
        print(f"\nStopped following; {name} goes on in SageMaker (`sm-workbench stop {name}` stops it)",
              file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    view.finish(record)
    print("", file=sys.stderr)
    for line in summary_lines(record):
        print(line, file=sys.stderr)
    return exit_code_for(record)
