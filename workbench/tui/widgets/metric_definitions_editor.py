"""The composer's MetricDefinitions editor: rows of name and regex, each checked live
against the output of the spec's last run (`api.last_run`: a job of the spec's name, else
the newest that ran the same image and entrypoint), so a regex is fixed against real
output before the job runs again. Each row says how many lines it matches, how many give
a number, and shows the first match with the value read from it."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from workbench.engine import api
from workbench.errors import WorkbenchError
from workbench.spec.metrics import FIELD
from workbench.spec.paths import format_path
from workbench.tui.widgets.spec_fields import SpecField

PATH = format_path(list(FIELD))
CHECK_DELAY = 0.3  # seconds of quiet typing before the regexes are checked again
EXAMPLE_WIDTH = 60


def clip(text: str, width: int = EXAMPLE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def found_text(found, job: str) -> tuple[str, str]:
    """What a row's regex finds, in words, and its tone (success, warning, error)."""
    if found.problem:
        return found.problem, "error"
    if not found.lines:
        return f"matches no line of {job}", "warning"
    example = next(((host, line, value) for host, line, value in found.examples if value is not None), None)
    lines = f"{found.lines:,} line{'s' if found.lines != 1 else ''}"
    if example is None:
        host, line, _ = found.examples[0]
        return f"matches {lines} but reads no number, e.g. {host}: {clip(line)}", "warning"
    host, line, value = example
    return f"{lines}, {found.values:,} value{'s' if found.values != 1 else ''} · {host}: {clip(line)} → {value:g}", \
        "success"


class MetricRow(Vertical):
    DEFAULT_CSS = """
    MetricRow { height: auto; margin-bottom: 1; }
    MetricRow > Horizontal { height: 1; }
    MetricRow .md-name { width: 1fr; margin-right: 1; }
    MetricRow .md-regex { width: 2fr; }
    MetricRow Button { min-width: 5; width: 5; margin-left: 1; }
    MetricRow > .md-found { color: $text-muted; height: auto; }
    MetricRow > .md-found.-success { color: $text-success; }
    MetricRow > .md-found.-warning { color: $text-warning; }
    MetricRow > .md-found.-error { color: $text-error; }
    """

    def __init__(self, name: str = "", regex: str = "") -> None:
        super().__init__()
        self.initial = (name, regex)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(self.initial[0], placeholder="name, e.g. train:loss", classes="md-name", compact=True)
            yield Input(self.initial[1], placeholder="regex, e.g. loss=([0-9.]+)", classes="md-regex", compact=True)
            yield Button("✕", classes="md-remove", compact=True, tooltip="remove this metric")
        yield Static("", classes="md-found")

    @property
    def definition(self) -> tuple[str, str]:
        return (self.query_one(".md-name", Input).value, self.query_one(".md-regex", Input).value)

    def show_found(self, text: str, tone: str = "") -> None:
        found = self.query_one(".md-found", Static)
        found.update(escape(text))
        for name in ("success", "warning", "error"):
            found.set_class(tone == name, f"-{name}")


class MetricDefinitionsEditor(SpecField):
    """Rows of Name and Regex; every edit reports the whole list."""

    DEFAULT_CSS = """
    MetricDefinitionsEditor > .field-row > Button { width: auto; min-width: 9; }
    MetricDefinitionsEditor > .md-rows { height: auto; padding-left: 2; }
    MetricDefinitionsEditor > .md-empty { color: $text-muted; padding-left: 2; }
    MetricDefinitionsEditor > .md-source { color: $text-muted; padding-left: 2; margin-bottom: 1; }
    MetricDefinitionsEditor > .field-error { padding-left: 2; }
    """

    def __init__(self, label: str = "Definitions", *, help: str = "", id: str | None = None) -> None:
        super().__init__(PATH, label, help=help, id=id)
        self.job: str | None = None  # the run the regexes are checked against
        self.lines: list[tuple[float, str, str]] | None = None
        self._looked = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield Button("+ Add", classes="md-add", compact=True)
        if self.help:
            yield Static(self.help.replace("[", r"\["), classes="field-help")
        yield Static("", classes="md-source")
        yield Vertical(classes="md-rows")
        yield Static("(none)", classes="md-empty")
        yield Static("", classes="field-error")

    @property
    def rows(self) -> list[MetricRow]:
        return list(self.query(MetricRow))

    def definitions(self) -> list[dict]:
        return [{"Name": name, "Regex": regex} for name, regex in (row.definition for row in self.rows)
                if name.strip() or regex]

    def load(self, value: Any) -> None:
        container = self.query_one(".md-rows", Vertical)
        container.remove_children()
        items = value if isinstance(value, list) else []
        rows = [MetricRow(str(item.get("Name", "")), str(item.get("Regex", ""))) for item in items
                if isinstance(item, dict)]
        if rows:
            container.mount(*rows)
        self.query_one(".md-empty").display = not rows
        self._schedule()

    async def add_row(self, name: str = "", regex: str = "") -> MetricRow:
        row = MetricRow(name, regex)
        await self.query_one(".md-rows", Vertical).mount(row)
        self.query_one(".md-empty").display = False
        row.query_one(".md-name", Input).focus()
        return row

    def focus_control(self) -> None:
        rows = self.rows
        if rows:
            rows[0].query_one(".md-name", Input).focus()
        else:
            self.query_one(".md-add", Button).focus()

    @on(Button.Pressed, ".md-add")
    async def _add(self, event: Button.Pressed) -> None:
        event.stop()
        await self.add_row()

    @on(Button.Pressed, ".md-remove")
    async def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        row = next(a for a in event.button.ancestors if isinstance(a, MetricRow))
        await row.remove()
        self.query_one(".md-empty").display = not self.rows
        self._report()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._report()

    def _report(self) -> None:
        self.emit(self.definitions() or None)
        self._schedule()

    # --- the live check against the last run ---------------------------------------------

    def on_show(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if not self.is_mounted or not self.display:
            return
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.stop()
        self._timer = self.set_timer(CHECK_DELAY, self._check_now)

    def _check_now(self) -> None:
        draft = getattr(self.screen, "draft", None)  # the composer's
        spec = dict(draft.data) if draft is not None else {}
        rows = [(row, row.definition) for row in self.rows]
        self._check(spec, list(self.app.records or []) if hasattr(self.app, "records") else [], rows)

    @work(thread=True, exclusive=True, group="metric-definitions-check", exit_on_error=False)
    def _check(self, spec: dict, records: list[dict], rows: list) -> None:
        if not self._looked:
            self._looked = True
            self.job = api.last_run(records, spec)
            if self.job is not None:
                self.app.call_from_thread(self._say_source, f"Reading the output of {self.job}…")
                try:
                    self.lines = api.sample_output(self.job)
                except (WorkbenchError, OSError) as err:
                    self.lines = None
                    self.app.call_from_thread(self._say_source, f"Cannot read the output of {self.job}: {err}")
                    return
        if self.job is None or self.lines is None:
            self.app.call_from_thread(self._say_source, "No earlier run of this spec to check the regexes "
                                                        "against: run it once (ctrl+r), then edit them here.")
            return
        definitions = [{"Name": name, "Regex": regex} for _, (name, regex) in rows if regex]
        results = iter(api.preview_metrics(self.lines, definitions)) if definitions else iter(())
        found = [(row, next(results) if regex else None) for row, (_, regex) in rows]
        limit = (f"its first {len(self.lines):,} lines" if len(self.lines) >= api.PREVIEW_LINES
                 else f"{len(self.lines):,} lines")
        self.app.call_from_thread(self._show, f"Checked as you type against the output of {self.job} ({limit}).",
                                  found)

    def _say_source(self, text: str) -> None:
        self.query_one(".md-source", Static).update(escape(text))

    def _show(self, source: str, found: list) -> None:
        self._say_source(source)
        for row, result in found:
            if not row.is_mounted:
                continue
            if result is None:
                row.show_found("give a regex with one group ( ) around the number")
            else:
                row.show_found(*found_text(result, self.job or ""))
