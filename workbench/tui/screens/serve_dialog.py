"""Serve a Completed training job's model: which inference image (its training image by
default), which port, which environment; checked by the engine as `sm-workbench serve`
checks them, problems shown here."""

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
from workbench.tui.screens.confirm import DIALOG_CSS


@dataclass
class ServeChoice:
    model: object  # the checked CreateModel request (spec.serving.ModelSpec)
    port: int | None = None


def parse_environment(text: str) -> dict[str, str]:
    """NAME=VALUE per line (blank lines and # comments skipped); WorkbenchError otherwise."""
    environment = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise WorkbenchError(f"environment line {number} {line!r}: write it as NAME=value")
        environment[name.strip()] = value
    return environment


class ServeDialog(ModalScreen[ServeChoice | None]):
    DEFAULT_CSS = DIALOG_CSS.format(name="ServeDialog") + """
    ServeDialog > Vertical { width: 76; }
    ServeDialog Input, ServeDialog TextArea { background: $boost; }
    ServeDialog TextArea { height: 3; }
    ServeDialog #serve-error { color: $text-error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="serve.cancel"),
        Binding("ctrl+r", "serve", "Serve", id="serve.serve", priority=True),
    ]

    def __init__(self, job: str, image: str = "") -> None:
        super().__init__()
        self.job = job
        self.image = image

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Serve {self.job}", classes="dialog-title")
            yield Static("`docker run IMAGE serve`, the model in /opt/ml/model, 8080 published on 127.0.0.1; it "
                         "keeps serving, in a background worker, until stopped.")
            yield Label("Inference image (default: the training image)")
            yield Input(self.image, placeholder="IMAGE", id="serve-image", compact=True)
            yield Label("Port on 127.0.0.1 (empty: a free one)")
            yield Input("", placeholder="e.g. 8080", id="serve-port", restrict=r"\d*", compact=True)
            yield Label("Environment, one NAME=VALUE per line")
            yield TextArea("", id="serve-env", compact=True, placeholder="NAME=value")
            yield Static("", id="serve-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Serve (ctrl+r)", variant="primary", id="serve-go")
                yield Button("Cancel", id="serve-cancel")

    def on_mount(self) -> None:
        self.query_one("#serve-image", Input).focus()

    def action_serve(self) -> None:
        port_text = self.query_one("#serve-port", Input).value.strip()
        try:
            environment = parse_environment(self.query_one("#serve-env", TextArea).text)
            port = int(port_text) if port_text else None
            if port is not None and not 0 < port < 65536:
                raise WorkbenchError(f"port {port} is not a port; give 1 to 65535, or nothing for a free one")
        except WorkbenchError as err:
            self._show_error(str(err))
            return
        self.query_one("#serve-error", Static).update("checking…")
        self._prepare(self.query_one("#serve-image", Input).value.strip() or None, port, environment)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="serve")
    def _prepare(self, image: str | None, port: int | None, environment: dict[str, str]) -> None:
        """The engine makes the model's CreateModel request (as `sm-workbench serve` does)."""
        try:
            model = api.serving_model(self.job, image=image, environment=environment)
        except WorkbenchError as err:
            self.app.call_from_thread(self._show_error, str(err))
            return
        self.app.call_from_thread(self.dismiss, ServeChoice(model, port))

    def _show_error(self, text: str) -> None:
        self.query_one("#serve-error", Static).update(text.replace("[", r"\["))

    @on(Button.Pressed, "#serve-go")
    def _go(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_serve()

    @on(Button.Pressed, "#serve-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)
