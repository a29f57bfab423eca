"""Rerun a job: optionally a new name and `--set` overrides, then run it or edit it first."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from workbench.engine import api
from workbench.errors import WorkbenchError
from workbench.spec import JobSpec, apply_overrides
from workbench.tui.screens.confirm import DIALOG_CSS


@dataclass
class RerunChoice:
    action: str  # "run" (spec is ready) or "edit" (open the job's spec in the composer)
    spec: JobSpec | None = None
    document: dict | None = None


class RerunDialog(ModalScreen[RerunChoice | None]):
    DEFAULT_CSS = DIALOG_CSS.format(name="RerunDialog") + """
    RerunDialog > Vertical { width: 76; }
    RerunDialog TextArea { height: 5; }
    RerunDialog #rerun-error { color: $text-error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="rerun.cancel"),
        Binding("ctrl+r", "run", "Run", id="rerun.run", priority=True),
        Binding("ctrl+o", "edit", "Edit first", id="rerun.edit", priority=True),
    ]

    def __init__(self, job: str) -> None:
        super().__init__()
        self.job = job

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Rerun {self.job}", classes="dialog-title")
            yield Label("New name (empty: from the image and the time)")
            yield Input(placeholder="name", id="rerun-name")
            yield Label("Overrides, one PATH=VALUE per line (as --set), e.g. HyperParameters.epochs=5")
            yield TextArea("", id="rerun-overrides", show_line_numbers=False)
            yield Static("", id="rerun-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run (ctrl+r)", variant="primary", id="rerun-run")
                yield Button("Edit first (ctrl+o)", id="rerun-edit")
                yield Button("Cancel", id="rerun-cancel")

    def on_mount(self) -> None:
        self.query_one("#rerun-name", Input).focus()

    def _overrides(self) -> list[str]:
        text = self.query_one("#rerun-overrides", TextArea).text
        return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]

    def action_run(self) -> None:
        self.query_one("#rerun-error", Static).update("checking…")
        self._prepare(self.query_one("#rerun-name", Input).value.strip() or None, self._overrides(), "run")

    def action_edit(self) -> None:
        self._prepare(self.query_one("#rerun-name", Input).value.strip() or None, self._overrides(), "edit")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="rerun")
    def _prepare(self, name: str | None, overrides: list[str], action: str) -> None:
        """The engine builds the spec (as `sm-workbench rerun` does); problems stay here."""
        try:
            if action == "edit":
                document = api.job_spec(self.job)
                document.pop("TrainingJobName", None)
                apply_overrides(document, overrides)
                if name:
                    document = {"TrainingJobName": name, **document}
                self.app.call_from_thread(self.dismiss, RerunChoice("edit", document=document))
                return
            spec = api.rerun_spec(self.job, new_name=name, overrides=overrides)
        except WorkbenchError as err:
            self.app.call_from_thread(self._show_error, str(err))
            return
        self.app.call_from_thread(self.dismiss, RerunChoice("run", spec=spec))

    def _show_error(self, text: str) -> None:
        self.query_one("#rerun-error", Static).update(text.replace("[", r"\["))

    @on(Button.Pressed, "#rerun-run")
    def _run(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_run()

    @on(Button.Pressed, "#rerun-edit")
    def _edit(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_edit()

    @on(Button.Pressed, "#rerun-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)
