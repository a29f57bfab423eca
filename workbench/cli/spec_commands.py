"""`validate`: check specs for a local run or for SageMaker."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.errors import SpecError, SpecInvalid, WorkbenchError


def add_spec_options(parser, *, name: bool = True) -> None:
    """--set (and --name) shared by every command that takes a spec."""
    if name:
        parser.add_argument("--name", help="job name (default: from the spec, else image name + timestamp)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="override a field, e.g. HyperParameters.epochs=5 or InputDataConfig[0].InputMode=Pipe (repeatable)",
    )


def register(commands) -> None:
    parser = commands.add_parser("validate", help="check specs against the API model (CreateTrainingJob, "
                                                  "CreateModel, CreateTransformJob or CreateHyperParameterTuningJob, "
                                                  "told apart by their keys)")
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML)")
    parser.add_argument("--target", choices=("local", "sagemaker"), default="local",
                        help="local (default): local paths allowed; sagemaker: exactly what the API accepts")
    add_spec_options(parser, name=False)
    parser.set_defaults(func=validate_command)

    lint = commands.add_parser("lint", help="check the spec's image for what will bite on SageMaker (signals, /opt/ml, "
                                            "train; for a CreateModel spec: serve, port 8080, /ping)")
    lint.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    add_spec_options(lint, name=False)
    lint.set_defaults(func=lint_command)


def load_any_spec(path: Path, *, target: str = "local", overrides=()):
    """A training, CreateModel, CreateTransformJob or tuning spec, checked (which one: by its keys)."""
    from workbench.spec import load_job_spec, read_spec_file  # deferred: spec (YAML, the API model)
    from workbench.spec.serving import TRAINING_OPERATION, load_serving_spec, spec_operation  # deferred: spec
    from workbench.spec.tuning import is_tuning_spec, load_tuning_spec  # deferred: spec

    data = read_spec_file(path)
    if is_tuning_spec(data):  # --- tuning ---
        return load_tuning_spec(path, target=target, overrides=overrides)
    if spec_operation(data) == TRAINING_OPERATION:
        return load_job_spec(path, target=target, overrides=overrides)
    return load_serving_spec(path, target=target, overrides=overrides)


def validate_command(args) -> int:
    failed = False
    for spec_path in args.specs:
        try:
            spec = load_any_spec(Path(spec_path), target=args.target, overrides=args.overrides)
        except SpecInvalid as err:
            failed = True
            for problem in err.problems:
                print(problem.format(spec_path), file=sys.stderr)
            continue
        except (SpecError, WorkbenchError) as err:
            failed = True
            print(str(err) if str(err).startswith(spec_path) else f"{spec_path}: {err}", file=sys.stderr)
            continue
        for warning in spec.warnings:
            print(warning.format(spec_path), file=sys.stderr)
        print(f"{spec_path}: valid for {args.target}")
    return 2 if failed else 0


def lint_command(args) -> int:
    """Exit 1 when the image has findings (they never block a run), 0 when clean. A
    CreateModel spec's image is started once (`serve`) to see it listen and answer /ping."""
    from workbench.engine.api import lint_model, lint_spec  # deferred: engine
    from workbench.spec.serving import ModelSpec  # deferred: spec (YAML, the API model)

    spec = load_any_spec(Path(args.spec), overrides=args.overrides)
    if isinstance(spec, ModelSpec):
        print(f"{spec.image}: starting `serve` once to check port 8080 and GET /ping ...", file=sys.stderr)
        findings = lint_model(spec, probe=True)
    elif hasattr(spec, "image"):
        findings = lint_spec(spec)
    else:
        raise WorkbenchError(f"{args.spec} is a CreateTransformJob spec: lint its model's CreateModel spec "
                             "(`sm-workbench lint MODEL_SPEC`); `transform` reports the findings as it starts")
    for finding in findings:
        print(finding.format())
    if not findings:
        print(f"{spec.image}: no findings")
    return 1 if findings else 0
