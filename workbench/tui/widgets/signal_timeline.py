"""The signal timeline: SIGTERM, exits and SIGKILL per host, in order, with their timing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.engine import events as ev
from workbench.tui.formatting import clock_time
from workbench.tui.widgets.cells import coloured


class SignalTimeline(Vertical):
    DEFAULT_CSS = """
    SignalTimeline { height: 1fr; }
    SignalTimeline > #signal-summary { height: auto; padding: 0 1; }
    SignalTimeline > DataTable { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.first_signal: float | None = None
        self.outcomes: dict[str, ev.SignalOutcome] = {}
        self.rows = 0
        self.signals = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="signal-summary")
        table = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns("Time", "+s", "Host", "Event", "Detail")
        yield table

    def on_mount(self) -> None:
        self._render_summary()

    def apply(self, events: list[ev.Event]) -> None:
        table = self.query_one(DataTable)
        for event in events:
            row = self._row(event)
            if row is not None:
                table.add_row(*row)
                self.rows += 1
        self._render_summary()

    def _offset(self, moment: float) -> str:
        return f"{moment - self.first_signal:+.2f}" if self.first_signal is not None else ""

    def _row(self, event: ev.Event) -> tuple | None:
        if isinstance(event, ev.SignalSent):
            if self.first_signal is None:
                self.first_signal = event.time
            self.signals += 1
            colour = "error" if event.signal == "SIGKILL" else "warning"
            return (clock_time(event.time, True), self._offset(event.time), event.host,
                    coloured(self, event.signal, colour, bold=True), f"sent ({event.reason})")
        if isinstance(event, ev.HostExited):
            how = f"by {event.signal}" if event.signal else "by itself"
            oom = ", out of memory" if event.oom_killed else ""
            colour = "success" if event.exit_code == 0 else "error"
            return (clock_time(event.time, True), self._offset(event.time), event.host,
                    coloured(self, f"exit {event.exit_code}", colour), f"{how}{oom}")
        if isinstance(event, ev.SignalOutcome):
            self.outcomes[event.host] = event
            took = event.exit_time - event.sigterm_time
            killed_at = getattr(event, "sigkill_time", None)
            verdict = ("SIGKILL at once, no SIGTERM" if event.killed_at_once
                       else (f"SIGKILL {killed_at - event.sigterm_time:.2f}s after SIGTERM" if killed_at
                             else f"SIGKILL after the {event.grace:.0f}s grace") if event.killed
                       else f"exited {took:.2f}s after SIGTERM (grace {event.grace:.0f}s)")
            return (clock_time(event.exit_time, True), self._offset(event.exit_time), event.host,
                    coloured(self, "outcome", "error" if event.killed else "success"), verdict)
        if isinstance(event, ev.AttemptStarted):
            return (clock_time(event.time, True), self._offset(event.time), "all",
                    coloured(self, f"attempt {event.attempt}", "accent"), f"restarted ({event.reason})")
        if isinstance(event, ev.StatusChanged) and event.secondary in ("Interrupted", "Restarting"):
            return (clock_time(event.time, True), self._offset(event.time), "all",
                    coloured(self, event.secondary, "warning"), event.message)
        return None

    def _render_summary(self) -> None:
        summary = self.query_one("#signal-summary", Static)
        if not self.signals and not self.rows:
            summary.update("No signals sent and no host has exited yet. Stopping the job (s), its "
                           "MaxRuntimeInSeconds deadline or a failing host sends SIGTERM, then SIGKILL "
                           "after the grace period; each step appears here.")
            return
        if not self.signals:
            summary.update("No signals sent: every host exited by itself.")
            return
        lines = []
        for host, outcome in sorted(self.outcomes.items()):
            took = outcome.exit_time - outcome.sigterm_time
            if outcome.killed_at_once:
                lines.append(f"[$error]{host}: killed at once with SIGKILL[/]")
            elif outcome.killed:
                lines.append(f"[$error]{host}: did not exit within the {outcome.grace:.0f}s grace; SIGKILL[/]")
            else:
                lines.append(f"[$success]{host}: exited with {outcome.exit_code} {took:.2f}s after SIGTERM[/]")
        summary.update("\n".join(lines) or f"{self.signals} signal(s) sent")
