"""`sm-workbench`: the command line. Thin: every command calls the same library code the TUI uses.

Every command module is imported to build the parser (`--help` lists them all), so the
engine, the spec model and Textual are imported inside the commands that use them (each
such import says `# deferred`): building the parser must not pay ~0.2 s for the engine,
and `sm-workbench run` is benchmarked against plain `docker run`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from workbench import __version__
from workbench.errors import WorkbenchError
from workbench.paths import state_dir

COMMAND_MODULES = ("spec_commands", "job_commands", "checkpoint_command", "image_commands", "doctor_command",
                   "gpu_command", "cloud_commands", "cache_commands", "tui_command",
                   "pool_commands",
                   "loop_commands",
                   "metrics_commands",
                   "serving_commands",
                   "tuning_commands",
                   )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit 2 with a one-line hint, as argparse does, never a traceback
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:

    parser = _Parser(
        prog="sm-workbench",
        description="A terminal workbench for SageMaker-style training containers. "
        "With no command, opens the workbench (TUI).",
    )
    parser.add_argument("--version", action="version", version=f"sm-workbench {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"workbench.cli.{name}").register(commands)
    return parser


def _crash_log(text: str) -> str:
    try:

        path = state_dir() / "crash.log"
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
        return str(path)
    except OSError:
        return "(could not write the crash log)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):  # no command: the workbench opens
        from workbench.cli.tui_command import open_tui  # deferred: textual

        args.func = open_tui
    try:
        code = args.func(args)
        return int(code or 0)
    except WorkbenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # a bug: keep the traceback out of the user's face, but keep it
        text = traceback.format_exc()
        if os.environ.get("SM_WORKBENCH_DEBUG"):
            print(text, file=sys.stderr)
        where = _crash_log(text)
        print(
            f"internal error: {text.strip().splitlines()[-1]} (a bug in sm-workbench; "
            f"details in {where}, or set SM_WORKBENCH_DEBUG=1)",
            file=sys.stderr,
        )
        return 70


def run() -> None:
    raise SystemExit(main())
