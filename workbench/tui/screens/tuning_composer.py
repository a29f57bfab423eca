"""The tuning composer: a tuning spec (a CreateHyperParameterTuningJob request in YAML)
as a form: its name, objective, strategy, limits, early stopping and seed, a ranges
editor for the three kinds of ranges, and the training job definition as YAML. Checked
as you type by the same code as `sm-workbench tune` (`spec.tuning`), problems at their
fields; saved as YAML; ctrl+r starts it as a tuning job.

A screen of its own beside the training composer (whose form is the CreateTrainingJob
request); both save through `DraftSaving`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from workbench.engine import api
from workbench.errors import WorkbenchError
from workbench.spec import Problem
from workbench.tui.commands import ScreenCommands
from workbench.tui.draft import Validation, assign_problems
from workbench.tui.job_actions import JobActions
from workbench.tui.screens.draft_saving import DraftSaving
from workbench.tui.tuning_draft import CONFIG, LIMITS, TuningDraft, tuning_options
from workbench.tui.widgets.definition_editor import DefinitionEditor
from workbench.tui.widgets.footer import WorkbenchFooter
from workbench.tui.widgets.problems_list import ProblemsList
from workbench.tui.widgets.ranges_editor import RangesEditor
from workbench.tui.widgets.spec_fields import ChoiceField, SpecField, TextField


class TuningComposerScreen(DraftSaving, Screen):
    HELP = """\
# Tuning composer

A hyperparameter tuning job's spec (CreateHyperParameterTuningJob in YAML), checked as you
type by the same code as `sm-workbench tune`: problems show under their field and in the
list at the bottom (enter on one jumps to it).

- The objective (a metric of the training job's MetricDefinitions, and Maximize or
  Minimize), the strategy, the limits, early stopping and the seed
- **Ranges**: + integer, + continuous (each with a min, a max and a scaling type) and
  + categorical (its values, comma-separated); ✕ removes one
- **Training job definition**: the training job each trial runs, as YAML
- **ctrl+s** saves, **f2** saves under a new name, **ctrl+r** starts the tuning job,
  **ctrl+t** validates for SageMaker instead of a local run, **escape** goes back
"""

    NEW_FILE_NAME = "tuning.yaml"
    WHAT = "tuning spec"
    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="tuning-composer.save"),
        Binding("f2", "save_as", "Save as", id="tuning-composer.save-as"),
        Binding("ctrl+r", "run", "Run", id="tuning-composer.run"),
        Binding("ctrl+t", "toggle_target", "Target", id="tuning-composer.target"),
        Binding("escape", "back", "Back", id="tuning-composer.back"),
    ]

    @dataclass
    class Checked(Message):
        validation: Validation
        generation: int

    @dataclass
    class Saved(Message):
        path: Path

    @dataclass
    class Failed(Message):
        what: str
        message: str
        problems: list[Problem] | None = None

    @dataclass
    class Launched(Message):
        name: str

    def __init__(self, draft: TuningDraft) -> None:
        super().__init__()
        self.draft = draft
        self.target = "local"
        self.validation = Validation()
        self.generation = 0
        self.checked_generation = -1
        self.running = False
        self.yaml_error = ""  # the definition's text is not YAML (the draft keeps the last that was)

    # --- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        draft = self.draft
        objective = draft.objective_path
        yield Static("", id="tuning-composer-title", classes="screen-title")
        with VerticalScroll(id="tuning-form"):
            yield TextField("HyperParameterTuningJobName", "Name",
                            placeholder="(generated from the image and the time when left out)")
            if not draft.several:  # several definitions: each has its own, in its YAML
                yield TextField(f"{objective}.MetricName", "Objective metric",
                                placeholder="a Name of the definition's MetricDefinitions")
                yield ChoiceField(f"{objective}.Type", "Objective type", tuning_options(
                    "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type"))
            yield ChoiceField(f"{CONFIG}.Strategy", "Strategy", tuning_options(f"{CONFIG}.Strategy"),
                              blank="(Bayesian)")
            yield TextField(f"{LIMITS}.MaxNumberOfTrainingJobs", "Max training jobs")
            yield TextField(f"{LIMITS}.MaxParallelTrainingJobs", "Max parallel jobs")
            yield TextField(f"{LIMITS}.MaxRuntimeInSeconds", "Max runtime (s)", placeholder="(no limit)")
            yield ChoiceField(f"{CONFIG}.TrainingJobEarlyStoppingType", "Early stopping",
                              tuning_options(f"{CONFIG}.TrainingJobEarlyStoppingType"), blank="(Off)")
            yield TextField(f"{CONFIG}.RandomSeed", "Random seed", placeholder="(random)")
            if not draft.several:
                yield RangesEditor(draft.ranges_path, id="tuning-ranges")
            yield DefinitionEditor(draft.definition_path, id="tuning-definition")
        yield Static("", id="tuning-composer-error")
        yield ProblemsList(id="problems")
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        self.query_one("#tuning-composer-error").display = False
        self.load_fields()
        self.check()
        self.query_one(TextField).focus_control()

    def load_fields(self) -> None:
        for field in self.query(SpecField):
            if isinstance(field, DefinitionEditor):
                field.load(self.draft.definition_yaml())
            else:
                field.load(self.draft.get(field.path))

    def field(self, path: str) -> SpecField:
        return next(f for f in self.query(SpecField) if f.path == path)

    # --- editing ---------------------------------------------------------------------

    @on(SpecField.Changed)
    def _field_changed(self, event: SpecField.Changed) -> None:
        event.stop()
        if isinstance(event.field, DefinitionEditor):
            try:
                self.draft.set_definition_yaml(str(event.value or ""))
                self.yaml_error = ""
            except WorkbenchError as err:
                self.yaml_error = str(err)
        elif isinstance(event.field, RangesEditor):
            self.draft.set_ranges(event.value)
        else:
            self.draft.set_value(event.path, self.draft.typed(event.path, event.value))
        self.check()

    # --- validation ------------------------------------------------------------------

    def check(self) -> None:
        """Validate a snapshot of the draft in a thread; the latest result wins."""
        self.generation += 1
        self._render_title()
        self._check(copy.deepcopy(self.draft.data), self.target, self.generation)

    @work(thread=True, exclusive=True, group="tuning-composer-check")
    def _check(self, data: dict, target: str, generation: int) -> None:
        self.post_message(self.Checked(self.draft.check(target, data=data), generation))

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        if event.generation < self.checked_generation:
            return
        self.checked_generation = event.generation
        self.validation = event.validation
        problems = list(event.validation.problems)
        if self.yaml_error:
            problems.insert(0, Problem(self.draft.definition_path, self.yaml_error))
        fields = list(self.query(SpecField))
        shown, _ = assign_problems(problems, [f.path for f in fields])
        for field in fields:
            field.show_problems(shown[field.path])
        self.query_one(ProblemsList).show(problems, self.target)
        self._render_title()

    @on(ProblemsList.Chosen)
    def _problem_chosen(self, event: ProblemsList.Chosen) -> None:
        event.stop()
        fields = list(self.query(SpecField))
        shown, _ = assign_problems([event.problem], [f.path for f in fields])
        best = next((f for f in fields if shown[f.path]), None)
        if best is not None:
            best.focus_control()
            best.scroll_visible(animate=False)

    def action_toggle_target(self) -> None:
        self.target = "sagemaker" if self.target == "local" else "local"
        self.notify(f"Validating for {self.target}" + (": exactly what CreateHyperParameterTuningJob accepts"
                                                       if self.target == "sagemaker" else ": a local run"))
        self.check()

    def _render_title(self) -> None:
        errors = len(self.validation.errors) + (1 if self.yaml_error else 0)
        state = "checking…" if self.checked_generation < self.generation else (
            f"{errors} problem{'s' if errors != 1 else ''}" if errors else "valid")
        modified = " · modified" if self.draft.dirty else ""
        self.query_one("#tuning-composer-title", Static).update(
            f"tuning composer · {self.draft.display_name}{modified} · {state} for {self.target}"
            + (" · starting…" if self.running else ""))

    # --- saving, running ---------------------------------------------------------------

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self.query_one("#tuning-composer-error").display = False
        self.notify(f"Saved {self.draft.display_name}")
        self._render_title()

    @on(Failed)
    def _failed(self, event: Failed) -> None:
        self.running = False
        error = self.query_one("#tuning-composer-error", Static)
        error.update(event.message.replace("[", r"\["))
        error.display = True
        self.notify(event.message.splitlines()[0], severity="error", title=f"Could not {event.what}")
        self._render_title()

    def action_run(self) -> None:
        if self.running:
            return
        if self.yaml_error:
            self.notify("The training job definition is not valid YAML; fix it first", severity="error")
            return
        self.running = True
        self._render_title()
        self._run(copy.deepcopy(self.draft.data))

    def launch(self, spec) -> str:
        return api.tune(spec, detach=True).name

    @on(Launched)
    def _launched(self, event: Launched) -> None:
        self.running = False
        self._render_title()
        self.post_message(JobActions.Launched(event.name))

    def palette_commands(self):
        yield ("Run this tuning spec", self.action_run, "validate and start it as a tuning job (ctrl+r)")
        yield ("Save", self.action_save, "write the tuning spec to its file (ctrl+s)")
        yield ("Save as…", self.action_save_as, "write it under a new name (f2)")
        yield (f"Validate for {'sagemaker' if self.target == 'local' else 'local'}", self.action_toggle_target,
               "switch the validation target (ctrl+t)")
