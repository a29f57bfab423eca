"""One synced folder (checkpoints, or TensorBoard, debugger or profiler output): every
file's sync state, size and lag per host, restores, and a summary."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.engine import api
from workbench.engine import events as ev
from workbench.engine.record import KIND_LOCAL, record_kind
from workbench.units import human_bytes
from workbench.tui.widgets.cells import coloured

_STATE_COLOURS = {"synced": "success", "pending": "warning", "uploading": "primary",
                  "retrying": "error", "deleted": "secondary"}


class CheckpointPanel(Vertical):
    DEFAULT_CSS = """
    CheckpointPanel { height: 1fr; }
    CheckpointPanel > #ckpt-summary { height: auto; padding: 0 1; }
    CheckpointPanel > DataTable { height: 1fr; }
    CheckpointPanel.-empty > DataTable { display: none; }
    """

    def __init__(self, id: str | None = None, sync: str = "checkpoints", label: str = "Checkpoints") -> None:
        super().__init__(id=id)
        self.sync = sync  # the synced folder shown: its events carry this name
        self.label = label
        self.config: dict | None = None
        self.kind = KIND_LOCAL
        self.files: dict[tuple[str, str], ev.CheckpointFileState] = {}
        self.restores: list[ev.CheckpointsRestored] = []
        self.summary: ev.CheckpointSummary | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="ckpt-summary")
        table = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns("Host", "File", "State", "Size", "Lag", "Error")
        yield table

    def on_mount(self) -> None:
        self._render_summary()

    def configure(self, record: dict) -> None:
        if self.sync == "checkpoints":
            self.config = record.get("CheckpointConfig") or None
        else:
            folder = next((f for f in api.synced_folders(record) if f.sync == self.sync), None)
            self.config = {"S3Uri": folder.uri, "LocalPath": folder.local_path} if folder else None
        self.kind = record_kind(record)
        self._render_summary()

    def apply(self, events: list[ev.Event]) -> None:
        table = self.query_one(DataTable)
        changed = False
        for event in events:
            if isinstance(event, (ev.CheckpointFileState, ev.CheckpointSummary)) and event.sync != self.sync:
                continue
            if isinstance(event, ev.CheckpointFileState):
                key = (event.host, event.path)
                row = self._row(event)
                if key in self.files:
                    for column, value in zip(table.columns, row):
                        table.update_cell(f"{key[0]}|{key[1]}", column, value)
                else:
                    table.add_row(*row, key=f"{key[0]}|{key[1]}")
                self.files[key] = event
                changed = True
            elif isinstance(event, ev.CheckpointsRestored) and self.sync == "checkpoints":
                self.restores.append(event)
                changed = True
            elif isinstance(event, ev.CheckpointSummary):
                self.summary = event
                changed = True
        if changed:
            self._render_summary()

    def _row(self, event: ev.CheckpointFileState) -> tuple:
        lag = f"{event.lag:.1f}s" if event.lag is not None else "-"
        return (event.host, event.path, coloured(self, event.state, _STATE_COLOURS.get(event.state, "foreground")),
                human_bytes(event.size), lag, event.error[:60])

    def _render_summary(self) -> None:
        if not self.is_mounted:
            return
        summary = self.query_one("#ckpt-summary", Static)
        has_activity = bool(self.files or self.restores or self.summary)
        self.set_class(not has_activity, "-empty")
        arrow = "⇄" if self.sync == "checkpoints" else "←"  # checkpoints come back at every start
        if not has_activity:
            if not self.config and self.sync != "checkpoints":
                summary.update(f"[b]{self.label} output not configured[/b] for this job.")
            elif not self.config:
                summary.update("[b]Checkpoints not configured[/b] for this job: set CheckpointConfig "
                               "(S3Uri and LocalPath) in the spec's Checkpoints section to sync "
                               "/opt/ml/checkpoints.")
            else:
                local = self.config.get("LocalPath") or "/opt/ml/checkpoints"
                summary.update(f"{self.label}: {self.config.get('S3Uri', '?')} {arrow} {local}\n"
                               f"No {'checkpoint' if self.sync == 'checkpoints' else self.label} activity recorded "
                               "for this job yet.")
            return
        lines = []
        if self.config:
            local = self.config.get("LocalPath") or "/opt/ml/checkpoints"
            lines.append(f"{self.config.get('S3Uri', '?')} {arrow} {local}")
        for restore in self.restores:
            lines.append(f"{restore.host}: restored {restore.files} files ({human_bytes(restore.bytes)}) "
                         f"in {restore.seconds:.1f}s from {restore.source}")
        if self.summary:
            s = self.summary
            age = f", oldest unsynced {s.oldest_unsynced_age:.1f}s" if s.oldest_unsynced_age else ""
            deleted = getattr(s, "deleted", 0)
            final = " · final" if getattr(s, "final", False) else ""
            colour = "$success" if not s.pending and not s.retrying else "$warning"
            lines.append(f"[{colour}]{s.files} files, {human_bytes(s.bytes)}: {s.synced} synced, "
                         f"{s.pending} pending, {s.retrying} retrying" + (f", {deleted} deleted" if deleted else "")
                         + f"{age}{final}[/]")
        summary.update("\n".join(lines))
