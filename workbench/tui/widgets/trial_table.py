"""A tuning job's training jobs as ListTrainingJobsForHyperParameterTuningJob lists them:
name, status, each tuned hyperparameter, the objective and whether it was stopped early.
The best training job's row is marked (★, in the theme's success colour)."""

from __future__ import annotations

from textual.widgets import DataTable

from workbench.tui.formatting import status_colour
from workbench.tui.widgets.cells import coloured


def summaries_of(record: dict) -> list[dict]:
    return [s for s in (record.get("Workbench") or {}).get("TrainingJobSummaries") or [] if isinstance(s, dict)]


def tuned_names(record: dict) -> list[str]:
    """The tuned hyperparameters: the ranges' names in the spec's order, then any other a trial got."""
    names: list[str] = []
    config = record.get("HyperParameterTuningJobConfig") or {}
    holders = [config.get("ParameterRanges"), (record.get("TrainingJobDefinition") or {}).get("HyperParameterRanges")]
    holders += [d.get("HyperParameterRanges") for d in record.get("TrainingJobDefinitions") or [] if isinstance(d, dict)]
    for ranges in holders:
        for kind in ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges"):
            for item in (ranges or {}).get(kind) or []:
                if isinstance(item, dict) and item.get("Name") not in names:
                    names.append(str(item.get("Name")))
    for summary in summaries_of(record):
        for name in summary.get("TunedHyperParameters") or {}:
            if name not in names:
                names.append(name)
    return names


def objective_text(summary: dict) -> str:
    value = (summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.6g}"
    return {"Failed": "failed", "Pending": "…"}.get(summary.get("ObjectiveStatus", ""), "-")


def early_stopped_text(record: dict, name: str) -> str:
    stopped = (((record.get("Workbench") or {}).get("Trials") or {}).get(name) or {}).get("EarlyStopped")
    if not stopped:
        return ""
    median = f" < median {stopped['Median']:.4g}" if isinstance(stopped.get("Median"), (int, float)) else ""
    return f"{stopped.get('Rule', 'Auto')} at epoch {stopped.get('Epoch', '?')}{median}"


class TrialTable(DataTable):
    DEFAULT_CSS = """
    TrialTable { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.record: dict = {}
        self.order: list[str] = []
        self.best: str | None = None  # the best training job's name (its row is marked)
        self._columns: list[str] = []

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw(force=True))

    @property
    def selected_name(self) -> str | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.order[self.cursor_row]

    def show(self, record: dict) -> None:
        self.record = record
        self._redraw()

    def _redraw(self, force: bool = False) -> None:
        record = self.record
        summaries = summaries_of(record)
        self.best = (record.get("BestTrainingJob") or {}).get("TrainingJobName")
        columns = ["name", "status", *[f"hp:{n}" for n in tuned_names(record)], "objective", "early"]
        names = [s.get("TrainingJobName", "?") for s in summaries]
        selected = self.selected_name
        if force or columns != self._columns:
            self.clear(columns=True)
            self._columns = columns
            for key in columns:
                self.add_column({"name": "Training job", "status": "Status", "objective": "Objective",
                                 "early": "Stopped early"}.get(key, key[3:]), key=key)
            self.order = []
        if names != self.order:
            self.clear()
            self.order = names
            for summary in summaries:
                self.add_row(*self._cells(summary), key=summary.get("TrainingJobName", "?"))
            if selected in names:
                self.move_cursor(row=names.index(selected), animate=False)
            return
        for summary in summaries:
            for key, value in zip(self._columns, self._cells(summary)):
                self.update_cell(summary.get("TrainingJobName", "?"), key, value, update_width=True)

    def _cells(self, summary: dict) -> tuple:
        name = summary.get("TrainingJobName", "?")
        status = summary.get("TrainingJobStatus", "?")
        tuned = summary.get("TunedHyperParameters") or {}
        best = name == self.best
        return (
            coloured(self, f"★ {name}", "success", bold=True) if best else f"  {name}",
            coloured(self, status, status_colour(status), bold=True),
            *[str(tuned.get(key[3:], "")) for key in self._columns[2:-2]],
            coloured(self, objective_text(summary), "success", bold=True) if best else objective_text(summary),
            coloured(self, early_stopped_text(self.record, name), "warning"),
        )
