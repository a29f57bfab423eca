"""The Build tab: Workbench.Build's output as the builder printed it, and how it ended
(the failing step and its error, or how many steps came from the layer cache)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Log, Static

from workbench.engine import events as ev

BUILD_LINES = 5_000


class BuildPanel(Vertical):
    DEFAULT_CSS = """
    BuildPanel { height: 1fr; }
    BuildPanel > #build-summary { height: auto; padding: 0 1; }
    BuildPanel > Log { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.image = ""
        self.finished: ev.BuildFinished | None = None
        self.lines = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="build-summary")
        yield Log(max_lines=BUILD_LINES, highlight=False)

    def on_mount(self) -> None:
        self._render_summary()

    def apply(self, events: list[ev.Event]) -> None:
        log = self.query_one(Log)
        changed = False
        for event in events:
            if isinstance(event, ev.BuildStarted):
                self.image, self.finished, changed = event.image, None, True
                log.write_line(f"# {event.image} from {event.context}"
                               + (f" ({event.dockerfile})" if event.dockerfile else "")
                               + (f", target {event.target}" if event.target else ""))
            elif isinstance(event, ev.BuildOutput):
                log.write_lines(list(event.lines))
                self.lines += len(event.lines)
            elif isinstance(event, ev.BuildFinished):
                self.finished, changed = event, True
        if changed:
            self._render_summary()

    def _render_summary(self) -> None:
        summary = self.query_one("#build-summary", Static)
        done = self.finished
        if done is None:
            summary.update(f"Building {self.image}…" if self.image else "No build yet")
        elif done.failure:
            summary.update(f"[$error]Build failed[/]: {_escape(done.failure)}")
        elif done.steps and done.cached == done.steps:
            summary.update(f"[$success]Built {done.image}[/] in {done.seconds:.1f}s: every step from the layer "
                           "cache, nothing rebuilt")
        else:
            summary.update(f"[$success]Built {done.image}[/] in {done.seconds:.1f}s: {done.cached} of {done.steps} "
                           "steps from the layer cache")


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
