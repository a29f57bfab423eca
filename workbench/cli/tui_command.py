"""`sm-workbench` with no command, and `sm-workbench tui [SPEC|JOB]`: the Textual workbench.

Textual is imported only when the workbench opens, so other commands start fast.
"""

from __future__ import annotations

from pathlib import Path

from workbench.errors import WorkbenchError


def register(commands) -> None:
    tui = commands.add_parser("tui", help="open the workbench; a spec file opens the composer, a job its monitor")
    tui.add_argument("target", nargs="?", metavar="SPEC|JOB",
                     help="a spec file (YAML; a new file name starts an empty spec) or a job name")
    tui.set_defaults(func=open_tui)


def resolve_target(target: str | None) -> dict:
    """What to open: {"spec": path} or {"job": name} or {} (the jobs screen)."""
    if not target:
        return {}
    path = Path(target).expanduser()
    if path.is_file():
        return {"spec": path}
    if path.is_dir():
        raise WorkbenchError(f"{target} is a folder; give a spec file (YAML) or a job name")
    from workbench.engine.api import job_paths  # deferred: engine

    try:
        job_paths(target)
        return {"job": target}
    except WorkbenchError as err:
        if path.suffix in (".yaml", ".yml"):
            if not path.parent.resolve().is_dir():
                raise WorkbenchError(f"{target}: the folder {path.parent} does not exist") from None
            return {"spec": path}
        raise WorkbenchError(f"{target} is neither a spec file nor a job ({err}); "
                             "a new spec's file name must end in .yaml") from None


def open_tui(args) -> int:
    options = resolve_target(getattr(args, "target", None))
    from workbench.tui.app import WorkbenchApp  # deferred: textual

    WorkbenchApp(**options).run()
    return 0
