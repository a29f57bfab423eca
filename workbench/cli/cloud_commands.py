"""Amazon SageMaker commands: submit, upload, import. describe, logs and stop work on
SageMaker jobs as on local ones (job_commands), through the same engine API."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.cli.progress import ProgressBar
from workbench.cli.spec_commands import add_spec_options
from workbench.units import human_bytes


def register(commands) -> None:
    submit = commands.add_parser("submit", help="submit a spec to Amazon SageMaker (CreateTrainingJob; a tuning spec: "
                                                "CreateHyperParameterTuningJob)")
    submit.add_argument("spec", metavar="SPEC", help="spec file (YAML); its inputs must be s3:// URIs")
    add_spec_options(submit)
    submit.add_argument("--follow", "-f", action="store_true",
                        help="then follow it: status changes and every host's CloudWatch log until it ends (a "
                             "tuning job: the table of its training jobs)")
    submit.set_defaults(func=submit_command)

    upload = commands.add_parser("upload", help="upload a local file or folder to S3 (for specs bound for SageMaker)")
    upload.add_argument("path", metavar="PATH", help="a file or a folder")
    upload.add_argument("destination", metavar="S3URI", help="s3://BUCKET/PREFIX; a folder's files keep their paths under it")
    upload.set_defaults(func=upload_command)

    imported = commands.add_parser("import", help="turn a SageMaker training job (or tuning job) into a local spec "
                                                  "(to rerun and debug it here)")
    imported.add_argument("job", metavar="JOB-NAME", help="the SageMaker training job's name (or tuning job's: a "
                                                         "training job of that name is looked for first)")
    imported.add_argument("--tuning", action="store_true",
                          help="JOB-NAME is a hyperparameter tuning job (skip looking for a training job)")
    imported.add_argument("-o", "--output", metavar="SPEC", help="write the spec to this file (default: print it)")
    imported.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    imported.add_argument("--no-history", action="store_true",
                          help="do not add the job to the job history (as a SageMaker job)")
    imported.set_defaults(func=import_command)


def submit_command(args) -> int:
    from workbench.engine.api import submit  # deferred: engine
    from workbench.spec import load_job_spec, read_spec_file  # deferred: spec (YAML, the API model)
    from workbench.spec.tuning import is_tuning_spec  # deferred: spec

    if is_tuning_spec(read_spec_file(Path(args.spec))):  # --- tuning ---
        return submit_tuning_command(args)
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


def submit_tuning_command(args) -> int:
    """CreateHyperParameterTuningJob with the tuning spec (`Workbench:` stripped)."""
    from workbench.cli.tuning_commands import follow_tuning  # deferred: the table, only when followed
    from workbench.engine.api import submit_tuning  # deferred: engine
    from workbench.spec.tuning import load_tuning_spec  # deferred: spec

    spec = load_tuning_spec(Path(args.spec), target="sagemaker", name=args.name, overrides=args.overrides)
    for warning in spec.warnings:
        print(warning.format(str(spec.source or "spec")), file=sys.stderr)
    record = submit_tuning(spec)
    name = record["HyperParameterTuningJobName"]
    region = record.get("Workbench", {}).get("Region", "")
    print(f"Submitted the tuning job {name} to SageMaker ({region}): {record.get('HyperParameterTuningJobArn', '')}",
          file=sys.stderr)
    print(f"Status: {record.get('HyperParameterTuningJobStatus', '?')}", file=sys.stderr)
    print(name)
    if not args.follow:
        print(f"Follow it: sm-workbench describe {name} --trials    Stop it: sm-workbench stop {name}", file=sys.stderr)
        return 0
    return follow_tuning(name, stop_on_interrupt=False)


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

    imported = import_job(args.job, output=args.output, force=args.force, history=not args.no_history,
                          tuning=True if args.tuning else None)
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    tuning = imported.kind == "tuning"
    status = imported.description.get("HyperParameterTuningJobStatus" if tuning else "TrainingJobStatus", "?")
    if args.output:
        print(f"Wrote {args.output} from {'the tuning job ' if tuning else ''}{args.job} ({status}); run it here with "
              f"`sm-workbench {'tune' if tuning else 'run'} {args.output}`", file=sys.stderr)
    else:
        sys.stdout.write(imported.text())
    return 0
