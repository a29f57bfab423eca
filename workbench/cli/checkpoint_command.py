"""`sm-workbench checkpoints JOB [--follow] [--folder F]`: each file's sync state, and a summary, of the
checkpoint folder or of another folder synced the same way (TensorBoard, debugger, profiler output)."""

from __future__ import annotations

import sys
import time

from workbench.errors import WorkbenchError
from workbench.units import human_bytes


def register(commands) -> None:
    parser = commands.add_parser("checkpoints", help="show a job's checkpoint files: state, size, host, sync lag")
    parser.add_argument("job", metavar="JOB")
    parser.add_argument("--follow", "-f", action="store_true",
                        help="print every change as it happens until the job ends")
    parser.add_argument("--folder", choices=FOLDERS, default="checkpoints",
                        help="which synced folder (default checkpoints; tensorboard, debugger and profiler output "
                             "are synced the same way)")
    parser.set_defaults(func=checkpoints_command)


FOLDERS = ("checkpoints", "tensorboard", "debugger", "profiler")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def summary_line(summary) -> str:

    if summary is None:
        return "No checkpoint files written yet"
    text = (f"{summary.files} file{'s' if summary.files != 1 else ''}, {human_bytes(summary.bytes)}: "
            f"{summary.synced} synced, {summary.pending} pending ({summary.retrying} retrying), "
            f"{summary.deleted} deleted")
    if summary.oldest_unsynced_age is not None:
        text += f"; oldest unsynced written {_seconds(summary.oldest_unsynced_age)} ago"
    return text + ("" if summary.final else " (live)")


def state_text(row) -> str:
    if row.state == "retrying":
        return f"retrying (attempt {row.attempts + 1})"
    return row.state


def table_lines(view) -> list[str]:

    rows = [("HOST", "PATH", "STATE", "SIZE", "LAG", "ERROR")]
    for row in view.rows():
        rows.append((row.host, row.path, state_text(row), human_bytes(row.size),
                     _seconds(row.lag) if row.state == "synced" else "-", row.error))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])) + "  " + r[-1]).rstrip()
            for r in rows]


def header_lines(name: str, view) -> list[str]:
    from workbench.engine.api import job_spec, synced_folders  # deferred: engine

    folder = next(f for f in synced_folders(job_spec(name)) if f.sync == view.sync)
    arrow = "<->" if folder.restore else "<-"  # checkpoints come back at every start
    lines = [f"{folder.label} of {name}: {folder.uri} {arrow} {folder.local_path}"
             + (f" (attempt {view.attempt})" if view.attempt > 1 else "")]
    if view.restored:
        lines.append("Restored: " + "; ".join(f"{r.host} {r.files} files, {human_bytes(r.bytes)} in {r.seconds:.2f} s"
                                              for r in view.restored.values()))
    return lines


MEMBERS = {"tensorboard": "TensorBoardOutputConfig", "debugger": "DebugHookConfig", "profiler": "ProfilerConfig"}


def _require_folder(name: str, sync: str) -> None:
    from workbench.engine.api import job_spec, synced_folders  # deferred: engine

    if any(f.sync == sync for f in synced_folders(job_spec(name))):
        return
    if sync == "checkpoints":
        raise WorkbenchError(f"Job {name} has no CheckpointConfig, so nothing is synced; set CheckpointConfig.S3Uri "
                             "in its spec (and LocalPath, default /opt/ml/checkpoints) and rerun it")
    raise WorkbenchError(f"Job {name} has no {MEMBERS[sync]} with an S3OutputPath, so no {sync} output is synced; "
                         "see docs/contract.md")


def checkpoints_command(args) -> int:
    from workbench.engine.api import CheckpointView  # deferred: engine

    _require_folder(args.job, args.folder)
    view = CheckpointView(sync=args.folder)
    if not args.follow:
        from workbench.engine.api import job_events  # deferred: engine

        for event in job_events(args.job):
            view.apply(event)
        for line in [*header_lines(args.job, view), *table_lines(view), "", summary_line(view.summary),
                     *(f"warning: {w}" for w in view.warnings)]:
            print(line)
        return 0
    return _follow(args.job, view)


def _follow(name: str, view) -> int:
    from workbench.engine import events as ev  # deferred: engine
    from workbench.engine.api import follow_events  # deferred: engine

    print("\n".join(header_lines(name, view)), flush=True)
    last_summary = ""
    for event in follow_events(name, logs=False):
        if not view.apply(event):
            continue
        stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
        if isinstance(event, ev.CheckpointFileState):
            row = view.files[(event.host, event.path)]
            extra = f" lag {_seconds(row.lag)}" if row.state == "synced" else ""
            extra += f": {row.error}" if row.error else ""
            print(f"[{stamp}] {row.host} {row.path} {state_text(row)} {human_bytes(row.size)}{extra}", flush=True)
        elif isinstance(event, ev.CheckpointSummary):
            line = summary_line(event)
            if line != last_summary:
                last_summary = line
                print(f"[{stamp}] {line}", flush=True)
        elif isinstance(event, ev.CheckpointsRestored):
            print(f"[{stamp}] {event.host}: restored {event.files} files, {human_bytes(event.bytes)} "
                  f"in {event.seconds:.2f} s from {event.source}", flush=True)
        elif isinstance(event, ev.AttemptStarted):
            print(f"[{stamp}] attempt {event.attempt} ({event.reason}): restoring from S3 again", flush=True)
        elif isinstance(event, ev.Notice):
            print(f"[{stamp}] {event.level}: {event.message}", file=sys.stderr, flush=True)
    return 0
