"""The composer's problems: every error and warning the validator found, one line each.
Choosing one jumps to its field."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from workbench.spec import Problem


class ProblemsList(OptionList):
    DEFAULT_CSS = """
    ProblemsList { height: auto; max-height: 6; border-top: solid $panel-lighten-2; }
    ProblemsList.-valid { color: $text-success; }
    """

    @dataclass
    class Chosen(Message):
        problem: Problem

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, compact=True)
        self.problems: list[Problem] = []

    def show(self, problems: list[Problem], target: str) -> None:
        self.problems = list(problems)
        highlighted = self.highlighted
        self.clear_options()
        errors = [p for p in problems if p.severity == "error"]
        self.set_class(not errors, "-valid")
        if not problems:
            self.add_option(Option(Text(f"✔ valid for {target}: ctrl+r runs it, ctrl+s saves it"), id="valid"))
            return
        warnings = len(problems) - len(errors)
        head = (f"✘ {len(errors)} error{'s' if len(errors) != 1 else ''}" if errors else f"✔ valid for {target}")
        if warnings:
            head += f", {warnings} warning{'s' if warnings != 1 else ''}"
        self.add_option(Option(Text(head + " (enter on a line jumps to its field)"), id="head", disabled=True))
        for index, problem in enumerate(problems):
            style = "" if problem.severity == "error" else "italic"
            label = Text(f"{'warning: ' if problem.severity != 'error' else ''}"
                         f"{problem.path + ': ' if problem.path else ''}{problem.message}", style=style)
            self.add_option(Option(label, id=f"problem-{index}"))
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith("problem-"):
            self.post_message(self.Chosen(self.problems[int(option_id.split("-")[1])]))
