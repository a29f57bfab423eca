"""Command palette providers: each screen offers its own actions by name, and the app
offers specs, jobs and themes everywhere."""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.engine.record import record_name, record_secondary, record_status

Command = tuple[str, Callable[[], object], str]  # title, callback, help


class CommandsProvider(Provider):
    """Commands from a callable of the screen (or app) that knows the current context."""

    def commands(self) -> Iterable[Command]:
        return ()

    async def discover(self) -> Hits:
        for title, callback, help_text in self.commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class ScreenCommands(CommandsProvider):
    """The invoking screen's `palette_commands()`."""

    def commands(self) -> Iterable[Command]:
        source = getattr(self.screen, "palette_commands", None)
        return source() if source else ()


class WorkbenchCommands(CommandsProvider):
    """Everywhere: compose or open a spec, the job history, open any job; then the
    themes, last (a long list that used to bury the actions)."""

    def commands(self) -> Iterable[Command]:
        app = self.app
        yield ("New spec", app.new_spec, "compose a training job from nothing")
        yield ("New tuning spec", app.new_tuning_spec, "compose a hyperparameter tuning job")
        yield ("Open spec file…", app.choose_spec_file, "open a spec YAML in the composer")
        yield ("Jobs", app.show_jobs, "the job history")
        for record in (app.records or [])[:200]:
            name = record_name(record)
            status = record_status(record)
            yield (f"Open job: {name}", partial(app.open_job, name), f"{status} · {record_secondary(record)}")
        for name in sorted(app.available_themes):
            if name == "textual-ansi":
                continue
            current = " (current)" if name == app.theme else ""
            yield (f"Theme: {name}{current}", partial(setattr, app, "theme", name),
                   "switch the colour theme (remembered)")
