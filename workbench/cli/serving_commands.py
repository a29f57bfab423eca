"""Serving commands: serve (a local endpoint), invoke (a request to it), transform (a batch
transform job). `stop`, `jobs`, `describe`, `logs` and `rm` take endpoints and transform
jobs like any job."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.cli.job_commands import run_stopping_on_ctrl_c
from workbench.cli.spec_commands import add_spec_options
from workbench.errors import WorkbenchError


def _environment(pairs: list[str]) -> dict[str, str]:
    environment = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise WorkbenchError(f"--env {pair!r}: write it as NAME=value")
        environment[key] = value
    return environment


def register(commands) -> None:
    serve = commands.add_parser(
        "serve", help="serve a trained model in its inference container, as a SageMaker endpoint runs it "
                      "(`docker run IMAGE serve`, port 8080)")
    serve.add_argument("source", metavar="JOB|MODEL_TAR_GZ|MODEL_DIR|MODEL_SPEC",
                       help="a Completed training job, a model.tar.gz, a model folder (or s3:// URI), or a "
                            "CreateModel spec (YAML)")
    serve.add_argument("--image", help="the inference image (default: the job's training image, or the spec's)")
    serve.add_argument("--port", type=int, help="this machine's port (127.0.0.1) for the container's 8080 "
                                                "(default: a free one)")
    serve.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                       help="an environment variable of the container (repeatable)")
    add_spec_options(serve)
    serve.add_argument("--detach", action="store_true", help="serve from a background worker; print the endpoint's "
                                                             "name and return (`sm-workbench stop NAME` ends it)")
    serve.set_defaults(func=serve_command)

    invoke = commands.add_parser("invoke", help="send a request to a local endpoint, as InvokeEndpoint does "
                                                "(its 6 MiB and 60 s limits); prints the answer")
    invoke.add_argument("endpoint", metavar="ENDPOINT")
    invoke.add_argument("--body", required=True, metavar="FILE|-", help="the request body: a file, or - for stdin")
    invoke.add_argument("--content-type", help="the body's MIME type (Content-Type), e.g. text/csv")
    invoke.add_argument("--accept", help="the answer's MIME type wanted (Accept), e.g. application/json")
    invoke.add_argument("--custom-attributes", help="X-Amzn-SageMaker-Custom-Attributes, passed on verbatim")
    invoke.add_argument("--timeout", type=float, help="give up sooner than InvokeEndpoint's 60 s")
    invoke.add_argument("--output", "-o", metavar="FILE", help="write the answer to FILE instead of stdout")
    invoke.set_defaults(func=invoke_command)

    transform = commands.add_parser("transform", help="run a batch transform job (a CreateTransformJob spec) with "
                                                      "the model's inference container")
    transform.add_argument("spec", metavar="SPEC", help="a CreateTransformJob spec (YAML)")
    transform.add_argument("--model", metavar="SOURCE",
                           help="the model: a training job, a model.tar.gz, a folder or a CreateModel spec "
                                "(default: Workbench.Model, else the training job named ModelName)")
    transform.add_argument("--image", help="the inference image (default: the model's)")
    add_spec_options(transform)
    transform.add_argument("--detach", action="store_true", help="run in a background worker")
    transform.set_defaults(func=transform_command)


def _follow(job, printer, noun: str) -> dict:
    """Run a foreground endpoint or transform job; Ctrl-C stops it (twice: at once)."""
    return run_stopping_on_ctrl_c(job, printer, f"Ctrl-C: stopping the {noun} (SIGTERM now, SIGKILL after the "
                                                "grace period); press Ctrl-C again to kill it at once")


def serve_command(args) -> int:
    from workbench.cli.printer import TerminalPrinter, exit_code_for, summary_lines  # deferred: engine (events)
    from workbench.engine.api import serve, serving_model  # deferred: engine

    model = serving_model(args.source, image=args.image, environment=_environment(args.env), overrides=args.overrides)
    for warning in model.warnings:
        print(warning.format(str(model.source or "model")), file=sys.stderr)
    from workbench.engine.events import StatusChanged  # deferred: engine (events)

    printer = TerminalPrinter()
    names: list[str] = []

    def hint(event) -> None:
        if isinstance(event, StatusChanged) and event.status == "InService" and names:
            printer.note(f"InService: `sm-workbench invoke {names[0]} --body FILE --content-type TYPE` sends a "
                         f"request; Ctrl-C (or `sm-workbench stop {names[0]}`) stops it")

    job = serve(model, name=args.name, port=args.port, detach=args.detach, subscribers=[printer, hint],
                source=args.source)
    names.append(job.name)
    if args.detach:
        print(job.name)
        return 0
    record = _follow(job, printer, "endpoint")
    print("", file=sys.stderr)
    for line in summary_lines(record):
        print(line, file=sys.stderr)
    return exit_code_for(record)


def invoke_command(args) -> int:
    from workbench.engine.api import invoke, job_kind  # deferred: engine
    from workbench.units import human_bytes

    job_kind(args.endpoint)  # an unknown name is said before stdin is waited on
    if args.body == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            body = Path(args.body).read_bytes()
        except OSError as err:
            raise WorkbenchError(f"Cannot read the body {args.body}: {err.strerror or err}") from None
    if args.timeout is not None and not 0 < args.timeout <= 60:
        raise WorkbenchError("--timeout must be more than 0 and at most 60 seconds (InvokeEndpoint's limit)")
    result = invoke(args.endpoint, body, content_type=args.content_type, accept=args.accept,
                    custom_attributes=args.custom_attributes, timeout=args.timeout)
    if args.output:
        Path(args.output).write_bytes(result.body)
    else:
        sys.stdout.buffer.write(result.body)
        if result.body and not result.body.endswith(b"\n") and sys.stdout.isatty():
            sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
    print(f"{result.status} {result.content_type or '-'}, {human_bytes(len(result.body))} in "
          f"{result.latency_ms:.1f} ms", file=sys.stderr)
    if not result.ok:
        print(f"error: {result.model_error()}", file=sys.stderr)
        return 1
    return 0


def transform_command(args) -> int:
    from workbench.cli.printer import TerminalPrinter, exit_code_for, summary_lines  # deferred: engine (events)
    from workbench.engine.api import transform  # deferred: engine
    from workbench.spec.serving import TransformSpec, load_serving_spec  # deferred: spec (YAML, the API model)

    spec = load_serving_spec(Path(args.spec), name=args.name, overrides=args.overrides)
    if not isinstance(spec, TransformSpec):
        raise WorkbenchError(f"{args.spec} is a CreateModel spec; `sm-workbench serve {args.spec}` serves it, "
                             "`transform` takes a CreateTransformJob spec (TransformInput, TransformOutput)")
    for warning in spec.warnings:
        print(warning.format(args.spec), file=sys.stderr)
    printer = TerminalPrinter()
    job = transform(spec, model=args.model, image=args.image, detach=args.detach, subscribers=[printer])
    if args.detach:
        print(job.name)
        return 0
    record = _follow(job, printer, "transform job")
    print("", file=sys.stderr)
    for line in summary_lines(record):
        print(line, file=sys.stderr)
    return exit_code_for(record)
