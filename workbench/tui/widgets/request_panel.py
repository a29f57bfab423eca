"""An endpoint's request panel: a body, its content type and accept; the answer with its
status and latency; and the history of the endpoint's requests.

The panel only shows: its Send posts `RequestPanel.Send`, the screen sends the request
(a thread worker) and hands the outcome back to `show_answer` or `show_error`. The
history comes from the endpoint's event log (`EndpointInvoked` events), so requests sent
from a terminal (`sm-workbench invoke`) appear too, and a reopened endpoint shows them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static, TextArea

from workbench.engine import events as ev
from workbench.tui.formatting import clock_time
from workbench.tui.widgets.cells import coloured
from workbench.units import human_bytes

HISTORY_ROWS = 500
HISTORY_COLUMNS = (("Time", 12), ("Status", 9), ("Latency", 9), ("Sent", 8), ("Answer", 8), ("Content-Type", 16),
                   ("Error", 30))


def status_text(status: int | None, error: str = "") -> str:
    if status is None:
        return "no answer" if error else "…"
    return str(status)


class RequestPanel(Vertical):
    DEFAULT_CSS = """
    RequestPanel { height: 1fr; }
    RequestPanel > #exchange { height: 1fr; }
    RequestPanel #request, RequestPanel #response { width: 1fr; height: 1fr; }
    RequestPanel #request { margin-right: 1; }
    RequestPanel .request-row { height: 1; }
    RequestPanel .request-row > Label { width: 9; color: $text-muted; }
    RequestPanel .request-row > Input { width: 1fr; }
    RequestPanel TextArea { height: 1fr; }
    RequestPanel #send-row { height: 1; }
    RequestPanel #send-row > Button { min-width: 10; height: 1; border: none; }
    RequestPanel #send-row > Static { width: 1fr; padding-left: 1; color: $text-muted; }
    RequestPanel #answer-status { height: 1; padding: 0 1; background: $panel; }
    RequestPanel #answer-status.-error { color: $text-error; }
    RequestPanel #answer-status.-ok { color: $text-success; }
    RequestPanel #history-title { height: 1; color: $text-muted; padding: 0 1; }
    RequestPanel #history { height: 7; }
    """

    BINDINGS = [Binding("ctrl+s", "send", "Send", id="request.send")]

    @dataclass
    class Send(Message):
        """The user sends a request: the screen carries it out."""

        body: bytes
        content_type: str
        accept: str

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: list[ev.EndpointInvoked] = []
        self._seen: set[str] = set()
        self.answer_status = ""
        self.sending = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="exchange"):
            with Vertical(id="request"):
                with Horizontal(classes="request-row"):
                    yield Label("Type")
                    yield Input("application/json", placeholder="Content-Type, e.g. text/csv", id="content-type",
                                compact=True)
                with Horizontal(classes="request-row"):
                    yield Label("Accept")
                    yield Input("", placeholder="(not sent) e.g. application/json", id="accept", compact=True)
                yield TextArea("", id="body", compact=True, placeholder="the request body", soft_wrap=True)
                with Horizontal(id="send-row"):
                    yield Button("Send", id="send", variant="primary", compact=True)
                    yield Static("ctrl+s · at most 6 MiB, answered in 60 s", id="send-hint")
            with Vertical(id="response"):
                yield Static("No request sent yet.", id="answer-status")
                yield TextArea("", id="answer", read_only=True, compact=True, soft_wrap=True)
        yield Static("Requests sent to this endpoint, from here or any terminal (newest last)", id="history-title")
        table = DataTable(id="history", cursor_type="row", zebra_stripes=True)
        for label, width in HISTORY_COLUMNS:  # fixed widths: rows arrive while the table is shown
            table.add_column(label, width=width)
        yield table

    # --- input ------------------------------------------------------------------------

    @property
    def body(self) -> TextArea:
        return self.query_one("#body", TextArea)

    def set_request(self, body: str, content_type: str | None = None, accept: str | None = None) -> None:
        self.body.text = body
        if content_type is not None:
            self.query_one("#content-type", Input).value = content_type
        if accept is not None:
            self.query_one("#accept", Input).value = accept

    def action_send(self) -> None:
        if self.sending:
            self.app.notify("A request is on its way; wait for its answer", severity="warning")
            return
        self.sending = True
        self._show_status("sending…", "")
        self.post_message(self.Send(self.body.text.encode("utf-8"),
                                    self.query_one("#content-type", Input).value.strip(),
                                    self.query_one("#accept", Input).value.strip()))

    @on(Button.Pressed, "#send")
    def _send_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_send()

    # --- the answer -------------------------------------------------------------------

    def _show_status(self, text: str, kind: str) -> None:
        self.answer_status = text
        status = self.query_one("#answer-status", Static)
        status.update(text.replace("[", r"\["))
        status.set_class(kind == "error", "-error")
        status.set_class(kind == "ok", "-ok")

    def show_answer(self, status: int, body: bytes, content_type: str, latency_ms: float, error: str = "") -> None:
        self.sending = False
        line = f"{status} · {latency_ms:.1f} ms · {content_type or 'no Content-Type'} · {human_bytes(len(body))}"
        self._show_status(line + (f" · {error}" if error else ""), "ok" if 200 <= status < 300 else "error")
        self.query_one("#answer", TextArea).text = body[:256 * 1024].decode("utf-8", errors="replace")

    def show_error(self, message: str) -> None:
        """A request refused before it was sent, or given up on: said inline."""
        self.sending = False
        self._show_status(message, "error")
        self.query_one("#answer", TextArea).text = ""

    # --- the history ------------------------------------------------------------------

    def add_history(self, events: list[ev.Event]) -> None:
        table = self.query_one("#history", DataTable)
        for event in events:
            if not isinstance(event, ev.EndpointInvoked) or event.request_id in self._seen:
                continue
            self._seen.add(event.request_id)
            self.history.append(event)
            ok = event.status is not None and 200 <= event.status < 300
            table.add_row(
                clock_time(event.time, True),
                coloured(self, status_text(event.status, event.error), "success" if ok else "error", bold=True),
                f"{event.latency_ms:.1f} ms", human_bytes(event.request_bytes), human_bytes(event.response_bytes),
                event.response_type or event.content_type or "-",
                coloured(self, event.error[:80], "error"),
                key=event.request_id,
            )
            if table.row_count > HISTORY_ROWS:
                table.remove_row(table.coordinate_to_cell_key((0, 0)).row_key)
        if events:
            table.move_cursor(row=table.row_count - 1, animate=False)

    @on(DataTable.RowSelected, "#history")
    def _history_chosen(self, event: DataTable.RowSelected) -> None:
        """A past request's answer (as much as its event kept) in the answer pane."""
        event.stop()
        chosen = next((e for e in self.history if e.request_id == event.row_key.value), None)
        if chosen is None:
            return
        if chosen.status is None:
            self.show_error(chosen.error)
        else:
            self.show_answer(chosen.status, chosen.response_preview.encode("utf-8"), chosen.response_type,
                             chosen.latency_ms, chosen.error)
