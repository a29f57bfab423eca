"""The spec composer: every part of a CreateTrainingJob request as a form, validated as
you type by the same code as `sm-workbench validate`, with a YAML preview.

The draft is only ever changed by the user's edits; a failed validation, save or run
leaves it as it is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, OptionList, RadioButton, RadioSet, Static, TextArea
from textual.widgets.option_list import Option

from workbench.engine import api
from workbench.spec import Problem, dump_spec
from workbench.tui.commands import ScreenCommands
from workbench.tui.composer_form import FORM, section_for
from workbench.tui.draft import SpecDraft, Validation, assign_problems
from workbench.tui.job_actions import JobActions
from workbench.tui.screens.channel_dialog import ChannelDialog
from workbench.tui.screens.draft_saving import DraftSaving
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.file_picker import pick_into_field
from workbench.tui.widgets.channel_list import ChannelList
from workbench.tui.widgets.footer import WorkbenchFooter
from workbench.tui.widgets.problems_list import ProblemsList
from workbench.tui.widgets.spec_fields import SpecField, TextField


class ComposerScreen(DraftSaving, Screen):
    HELP = """\
# Spec composer

Compose or edit a training job without touching YAML. Choose a part on the left; every
field is checked as you type by the same code as `sm-workbench validate`: problems show
under their field and in the list at the bottom (enter on one jumps to it).

- **ctrl+s** saves (it never overwrites a file changed on disk without asking), **f2** saves under a new name
- **ctrl+r** runs the spec as a job (in a background worker) and opens its monitor
- **ctrl+t** switches validation between a local run and SageMaker
- Channels: **a** adds, **enter**/**e** edits in a dialog, **x** removes
- **escape** goes back (asks first when there are unsaved changes)
"""

    COMMANDS = {ScreenCommands}
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="composer.save"),
        Binding("f2", "save_as", "Save as", id="composer.save-as"),
        Binding("ctrl+r", "run", "Run", id="composer.run"),
        Binding("ctrl+t", "toggle_target", "Target", id="composer.target"),
        Binding("escape", "back", "Back", id="composer.back"),
    ]

    @dataclass
    class Checked(Message):
        validation: Validation
        yaml: str
        generation: int

    @dataclass
    class Saved(Message):
        path: Path

    @dataclass
    class SaveConflict(Message):
        path: Path
        reason: str
        new_path: bool

    @dataclass
    class Failed(Message):
        """A save or run that did not happen; the draft is untouched."""

        what: str
        message: str
        problems: list[Problem] | None = None

    @dataclass
    class Launched(Message):
        name: str

    def __init__(self, draft: SpecDraft) -> None:
        super().__init__()
        self.draft = draft
        self.target = "local"
        self.validation = Validation()
        self.generation = 0
        self.checked_generation = -1
        self.running = False
        self.error_for: dict | None = None  # the draft as it was when the error shown was raised

    # --- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="composer-title", classes="screen-title")
        with Horizontal(id="composer-body"):
            yield OptionList(*[Option(section.title, id=section.key) for section in FORM], id="sections",
                             compact=True)
            with ContentSwitcher(initial=f"section-{FORM[0].key}", id="section-switcher"):
                for section in FORM:
                    with section.container():
                        for part in section.parts:
                            yield from part.compose()
        yield Static("", id="composer-error")
        yield ProblemsList(id="problems")
        yield WorkbenchFooter()

    def on_mount(self) -> None:
        self.query_one("#composer-error").display = False
        self.load_fields()
        self._show_resource_mode()
        self._render_title()
        self.query_one("#sections", OptionList).highlighted = 0
        self.check()
        self.query_one("#sections").focus()

    def load_fields(self) -> None:
        """Show the draft in every field (on open, and after changes made for the user)."""
        for field in self.query(SpecField):
            field.load(self.draft.get(field.path))

    # --- sections --------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#sections")
    def _section_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id:
            self.show_section(event.option.id)

    @on(OptionList.OptionSelected, "#sections")
    def _section_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.show_section(event.option.id, focus=True)

    def show_section(self, key: str, focus: bool = False) -> None:
        self.query_one("#section-switcher", ContentSwitcher).current = f"section-{key}"
        sections = self.query_one("#sections", OptionList)
        index = next(i for i, section in enumerate(FORM) if section.key == key)
        if sections.highlighted != index:
            with sections.prevent(OptionList.OptionHighlighted):
                sections.highlighted = index
        if focus:
            fields = list(self.query_one(f"#section-{key}").query(SpecField))
            if fields:
                fields[0].focus_control()
            elif key == "yaml":
                self.query_one("#yaml-preview").focus()

    # --- editing ---------------------------------------------------------------------

    @on(SpecField.Changed)
    def _field_changed(self, event: SpecField.Changed) -> None:
        event.stop()
        self.draft.set_value(event.path, event.value)
        self.check()

    @on(RadioSet.Changed, "#resource-mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.draft.set_resource_mode("groups" if event.pressed.id == "mode-groups" else "single")
        for field in self.query_one("#section-resources").query(SpecField):
            field.load(self.draft.get(field.path))
        self._show_resource_mode()
        self.check()

    def _show_resource_mode(self) -> None:
        """The draft's resource mode (what the other mode held, the draft keeps aside)."""
        groups = self.draft.resource_mode == "groups"
        radio = self.query_one("#mode-groups" if groups else "#mode-single", RadioButton)
        if not radio.value:
            with self.query_one("#resource-mode", RadioSet).prevent(RadioSet.Changed):
                radio.value = True
        self.query_one("#single-resources").display = not groups or self.draft.mixed_resources  # both: to fix
        self.query_one("#groups-editor").display = groups

    @on(TextField.BrowseRequested)
    def _browse(self, event: TextField.BrowseRequested) -> None:
        event.stop()
        pick_into_field(self, event.field, self.draft.base_dir, f"Choose a local folder for {event.field.label}",
                        must_exist=False)

    @on(ChannelList.EditRequested)
    def _edit_channel(self, event: ChannelList.EditRequested) -> None:
        event.stop()
        index = event.index

        def done(channel: dict | None) -> None:
            if channel is None:
                return
            channels = list(self.draft.get("InputDataConfig") or [])
            if index is None:
                channels.append(channel)
            else:
                channels[index] = channel
            self.draft.set_value("InputDataConfig", channels)
            self.query_one(ChannelList).load(self.draft.get("InputDataConfig"))
            self.query_one(ChannelList).focus_channel(len(channels) - 1 if index is None else index)
            self.check()

        self.app.push_screen(ChannelDialog(self.draft, index, self.target), done)

    @on(ChannelList.RemoveRequested)
    def _remove_channel(self, event: ChannelList.RemoveRequested) -> None:
        event.stop()
        index = event.index
        channels = list(self.draft.get("InputDataConfig") or [])
        name = channels[index].get("ChannelName", f"#{index + 1}") if isinstance(channels[index], dict) else index

        def done(yes: bool | None) -> None:
            if yes:
                self.draft.delete(f"InputDataConfig[{index}]")
                if not self.draft.get("InputDataConfig"):
                    self.draft.delete("InputDataConfig")
                self.query_one(ChannelList).load(self.draft.get("InputDataConfig"))
                self.check()

        self.app.push_screen(ConfirmDialog("Remove channel?", f"Remove the channel {name!r} from this spec?",
                                           yes="Remove"), done)

    # --- validation ------------------------------------------------------------------

    def check(self) -> None:
        """Validate a snapshot of the draft in a thread; the latest result wins."""
        if self.error_for is not None and self.draft.data != self.error_for:
            self._hide_error()  # a failed run or save was about the spec as it was then
        self.generation += 1
        self._render_title()
        self._check(copy.deepcopy(self.draft.data), self.target, self.generation)

    @work(thread=True, exclusive=True, group="composer-check")
    def _check(self, data: dict, target: str, generation: int) -> None:
        validation = self.draft.check(target, data=data)
        self.post_message(self.Checked(validation, dump_spec(data) if data else "", generation))

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        if event.generation < self.checked_generation:
            return
        self.checked_generation = event.generation
        self.validation = event.validation
        problems = event.validation.problems
        fields = list(self.query(SpecField))
        shown, _ = assign_problems(problems, [f.path for f in fields])
        for field in fields:
            field.show_problems(shown[field.path])
        self.query_one(ProblemsList).show(problems, self.target)
        counts: dict[str, int] = {}
        for problem in problems:
            if problem.severity == "error":
                counts[section_for(problem.path)] = counts.get(section_for(problem.path), 0) + 1
        sections = self.query_one("#sections", OptionList)
        for index, section in enumerate(FORM):
            label = f"{section.title} ✘" if counts.get(section.key) else section.title
            sections.replace_option_prompt_at_index(index, label)
        preview = self.query_one("#yaml-preview", TextArea)
        if preview.text != event.yaml:
            preview.load_text(event.yaml)
        self._render_title()

    @on(ProblemsList.Chosen)
    def _problem_chosen(self, event: ProblemsList.Chosen) -> None:
        event.stop()
        self.jump_to(event.problem.path)

    def jump_to(self, path: str) -> None:
        """Show the field a problem is about (the closest one that holds its path)."""
        fields = list(self.query(SpecField))
        shown, _ = assign_problems([Problem(path, "")], [f.path for f in fields])
        best = next((f for f in fields if shown[f.path]), None)
        section = section_for(path)
        self.show_section(section)
        if best is None:
            return
        if isinstance(best, ChannelList):
            try:
                index = int(path.split("[", 1)[1].split("]", 1)[0])
            except (IndexError, ValueError):
                index = 0
            best.focus_channel(index)
        else:
            best.focus_control()
        best.scroll_visible(animate=False)

    def action_toggle_target(self) -> None:
        self.target = "sagemaker" if self.target == "local" else "local"
        self.notify(f"Validating for {self.target}" + (": exactly what the CreateTrainingJob API accepts"
                                                       if self.target == "sagemaker" else ": a local run"))
        self.check()

    def _render_title(self) -> None:
        errors = len(self.validation.errors)
        state = "checking…" if self.checked_generation < self.generation else (
            f"{errors} problem{'s' if errors != 1 else ''}" if errors else "valid")
        modified = " · modified" if self.draft.dirty else ""
        self.query_one("#composer-title", Static).update(
            f"composer · {self.draft.display_name}{modified} · {state} for {self.target}"
            + (" · starting…" if self.running else ""))

    # --- saving (DraftSaving saves; the outcome shows here) ---------------------------

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self._hide_error()
        self.notify(f"Saved {self.draft.display_name}")
        self._render_title()

    @on(Failed)
    def _failed(self, event: Failed) -> None:
        self.running = False
        error = self.query_one("#composer-error", Static)
        error.update(event.message.replace("[", r"\["))
        error.display = True
        self.error_for = copy.deepcopy(self.draft.data)
        self.notify(event.message.splitlines()[0], severity="error", title=f"Could not {event.what}")
        self._render_title()
        if event.problems:
            self.query_one(ProblemsList).focus()

    def _hide_error(self) -> None:
        self.query_one("#composer-error").display = False
        self.error_for = None

    # --- running ---------------------------------------------------------------------

    def action_run(self) -> None:
        if self.running:
            return
        self.running = True
        self._hide_error()
        self._render_title()
        self._run(copy.deepcopy(self.draft.data))

    def launch(self, spec) -> str:
        return api.launch(spec, detach=True).name

    @on(Launched)
    def _launched(self, event: Launched) -> None:
        self.running = False
        self._render_title()
        self.post_message(JobActions.Launched(event.name))

    # --- leaving ---------------------------------------------------------------------

    def palette_commands(self):
        yield ("Run this spec", self.action_run, "validate and start it as a job (ctrl+r)")
        yield ("Save", self.action_save, "write the spec to its file (ctrl+s)")
        yield ("Save as…", self.action_save_as, "write the spec under a new name (f2)")
        yield (f"Validate for {'sagemaker' if self.target == 'local' else 'local'}", self.action_toggle_target,
               "switch the validation target (ctrl+t)")
        for section in FORM:
            yield (f"Go to: {section.title}", lambda key=section.key: self.show_section(key, focus=True),
                   "composer section")
