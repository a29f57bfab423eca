"""Saving, running and leaving a draft, shared by the composers (the training spec's and
the tuning spec's): save never overwrites a file changed on disk without asking; save as
picks a file; run validates for a local run and starts the job detached (it outlives the
TUI); escape asks before unsaved changes are lost.

The screen has a `draft` (a `SpecDraft`), posts its own `Saved(path)`,
`Failed(what, message, problems)` and `Launched(name)` messages, and says in `launch`
how its spec starts.
"""

from __future__ import annotations

from pathlib import Path

from textual import work

from workbench.errors import WorkbenchError
from workbench.tui.draft import ChangedOnDisk
from workbench.tui.screens.confirm import ChoiceDialog, ConfirmDialog
from workbench.tui.screens.file_picker import FilePicker


class DraftSaving:
    """Mixed into a Screen with `draft`, `Saved` and `Failed`."""

    NEW_FILE_NAME = "job.yaml"  # what save as offers for a draft with no file yet
    WHAT = "spec"

    def action_save(self) -> None:
        if self.draft.path is None:
            self.action_save_as()
            return
        self._save(self.draft.path, False)

    def action_save_as(self) -> None:
        start = self.draft.path.parent if self.draft.path else Path.cwd()
        initial = self.draft.path.name if self.draft.path else self.NEW_FILE_NAME

        def picked(path: Path | None) -> None:
            if path is not None:
                self._save(path, False)

        self.app.push_screen(FilePicker(f"Save the {self.WHAT} as", start=start, suffixes=(".yaml", ".yml"),
                                        must_exist=False, initial=initial), picked)

    def _save(self, path: Path, overwrite: bool) -> None:
        try:
            saved = self.draft.save(path, overwrite=overwrite)
        except ChangedOnDisk as err:
            self._ask_overwrite(path, str(err), new_path=path != self.draft.path)
            return
        except (OSError, WorkbenchError) as err:
            self.post_message(self.Failed("save", f"Not saved: {err}"))
            return
        self.post_message(self.Saved(saved))

    def _ask_overwrite(self, path: Path, reason: str, new_path: bool) -> None:
        def chosen(choice: str | None) -> None:
            if choice == "overwrite":
                self._save(path, True)
            elif choice == "save-as":
                self.action_save_as()
            else:
                self.notify("Not saved; your edits are still here", severity="warning")

        message = (f"{reason}.\nOverwrite it with this spec, or save under another name?" if new_path else
                   f"{reason}: someone else changed it.\nOverwrite their changes, or save yours under "
                   "another name?")
        self.app.push_screen(ChoiceDialog("The file changed on disk" if not new_path else "The file exists",
                                          message, [("overwrite", "Overwrite", "o"), ("save-as", "Save as", "a")]),
                             chosen)

    def launch(self, spec) -> str:
        """Start the checked spec detached; the job's name."""
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="composer-run")
    def _run(self, data: dict) -> None:
        validation = self.draft.check("local", data=data)
        if not validation.ok:
            count = len(validation.errors)
            self.post_message(self.Failed(
                "run", f"The {self.WHAT} has {count} problem{'s' if count != 1 else ''}; fix them first (see the "
                       "list below)", validation.problems))
            return
        try:
            name = self.launch(validation.spec)
        except WorkbenchError as err:
            self.post_message(self.Failed("run", str(err)))
            return
        self.post_message(self.Launched(name))

    def action_back(self) -> None:
        if not self.draft.dirty:
            self.dismiss()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.dismiss()

        self.app.push_screen(ConfirmDialog("Discard unsaved changes?",
                                           f"{self.draft.display_name} has changes that are not saved. "
                                           "Leave the composer and lose them?", yes="Discard"), answer)

