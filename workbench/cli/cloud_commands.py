"""Amazon SageMaker commands: submit, upload, import. describe, logs and stop work on
SageMaker jobs as on local ones (job_commands), through the same engine API."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.cli.progress import ProgressBar
from workbench.cli.spec_commands import add_spec_options
from workbench.units import human_bytes


def register(commands) -> None:
    submit = commands.add_parser("submit", help="submit a spec to Amazon SageMaker (CreateTrainingJob)")
    submit.add_argument("spec", metavar="SPEC", help="spec file (YAML); its inputs must be s3:// URIs")
    add_spec_options(submit)
    submit.add_argument("--follow", "-f", action="store_true",
                        help="then follow it: status changes and every host's CloudWatch log until it ends")
    submit.set_defaults(func=submit_command)

    upload = commands.add_parser("upload", help="upload a local file or folder to S3 (for specs bound for SageMaker)")
    upload.add_argument("path", metavar="PATH", help="a file or a folder")
    upload.add_argument("destination", metavar="S3URI", help="s3://BUCKET/PREFIX; a folder's files keep their paths under it")
    upload.set_defaults(func=upload_command)

    imported = commands.add_parser("import", help="turn a SageMaker training job into a local spec (to rerun and debug it here)")
    imported.add_argument("job", metavar="JOB-NAME", help="the SageMaker training job's name")
    imported.add_argument("-o", "--output", metavar="SPEC", help="write the spec to this file (default: print it)")
    imported.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    imported.add_argument("--no-history", action="store_true",
                          help="do not add the job to the job history (as a SageMaker job)")
    imported.set_defaults(func=import_command)


def submit_command(args) -> int:
    from workbench.engine.api import submit  # deferred: engine
    from workbench.spec import load_job_spec  # deferred: spec (YAML, the API model)

    spec = load_job_spec(Path(args.spec), target="sagemaker", name=args.name, overrides=args.overrides)
    for warning in spec.warnings:
        print(warning.format(str(spec.source or "spec")), file=sys.stderr)
    record = submit(spec)
    name = record["TrainingJobName"]
    region = record.get("Workbench", {}).get("Region", "")
    print(f"Submitted {name} to SageMaker ({region}): {record.get('TrainingJobArn', '')}", file=sys.stderr)
    print(f"Status: {record.get('TrainingJobStatus', '?')} ({record.get('SecondaryStatus', '')})", file=sys.stderr)
    print(name)
    if not args.follow:
        print(f"Follow it: sm-workbench logs {name} --follow    Stop it: sm-workbench stop {name}", file=sys.stderr)
        return 0
    return follow_job(name)


def follow_job(name: str) -> int:
    from workbench.cli.printer import TerminalPrinter, exit_code_for, summary_lines  # deferred: engine (events)
    from workbench.engine.api import describe_job, follow_events  # deferred: engine

    printer = TerminalPrinter()
    try:
        for event in follow_events(name):
            printer(event)
    except KeyboardInterrupt:
        print(f"\nStopped following; {name} goes on in SageMaker (`sm-workbench stop {name}` stops it)",
              file=sys.stderr)
        return 130
    record = describe_job(name)
    print("", file=sys.stderr)
    for line in summary_lines(record):
        print(line, file=sys.stderr)
    return exit_code_for(record)


def upload_command(args) -> int:
    from workbench.engine.api import upload  # deferred: engine

    bar = ProgressBar(f"Uploading {args.path}")
    try:
        done = upload(args.path, args.destination, on_progress=bar)
    finally:
        bar.finish()
    print(f"Uploaded {done.files} file{'s' if done.files != 1 else ''} ({human_bytes(done.bytes)}) in "
          f"{done.seconds:.1f} s; use it in the spec as S3Uri: {done.uri}", file=sys.stderr)
    print(done.uri)
    return 0


def import_command(args) -> int:
    from workbench.engine.api import import_job  # deferred: engine

    imported = import_job(args.job, output=args.output, force=args.force, history=not args.no_history)
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    status = imported.description.get("TrainingJobStatus", "?")
    if args.output:
        print(f"Wrote {args.output} from {args.job} ({status}); run it here with `sm-workbench run {args.output}`",
              file=sys.stderr)
    else:
        sys.stdout.write(imported.text())
    return 0
