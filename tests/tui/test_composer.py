"""The composer: from nothing to a valid spec without YAML, problems inline as you type,
safe saves, and nothing lost when saving or running fails."""

import copy
from pathlib import Path

from textual.widgets import Input, TextArea

from tests.tui.conftest import field, frozen_clock, wait_for
from workbench.spec import read_spec_file
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.channel_dialog import ChannelDialog
from workbench.tui.screens.composer import ComposerScreen
from workbench.tui.screens.confirm import ChoiceDialog, ConfirmDialog
from workbench.tui.screens.file_picker import FilePicker
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.widgets.channel_list import ChannelList
from workbench.tui.widgets.key_value_editor import KeyValueEditor, KeyValueRow
from workbench.tui.widgets.problems_list import ProblemsList


def composer_app(**kwargs) -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=5, **kwargs)


async def settle(pilot) -> ComposerScreen:
    screen = pilot.app.screen
    await pilot.pause()
    await wait_for(pilot, lambda: screen.checked_generation == screen.generation, what="validation")
    return screen


def title(screen) -> str:
    return str(screen.query_one("#composer-title").content)


def section_label(screen, section: int | str) -> str:
    """The label of a section, by position or by its key (keys do not move when a wing adds a section)."""
    sections = screen.query_one("#sections")
    if isinstance(section, str):
        return str(sections.get_option(section).prompt)
    return str(sections.get_option_at_index(section).prompt)


def listed_problems(screen) -> list[str]:
    problems = screen.query_one(ProblemsList)
    return [str(problems.get_option_at_index(i).prompt) for i in range(problems.option_count)]


async def type_into(pilot, screen, path: str, text: str, clear: bool = True) -> None:
    control = field(screen, path).input
    screen.show_section(__import__("workbench.tui.screens.composer", fromlist=["x"]).section_for(path))
    control.focus()
    if clear:
        control.value = ""
    await pilot.press(*text)
    await settle(pilot)


async def test_compose_from_nothing_with_inline_errors_then_save(tmp_path, monkeypatch):
    """Checks what the fields, the problems list and the title hold, never where the
    screen wraps a line: it waited for "does not exist" on screen, which a longer
    temporary folder's path wrapped between "does" and "not"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("hi\n")
    app = composer_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        image = field(screen, "AlgorithmSpecification.TrainingImage")
        assert "is required" in str(image.query_one(".field-error").content)  # a missing section shows at its first field
        assert section_label(screen, "algorithm") == "Algorithm ✘"

        await type_into(pilot, screen, "AlgorithmSpecification.TrainingImage", "sm-workbench/shell:latest")
        assert not image.has_class("-error")

        # a count that is not a number: kept as typed, flagged at the field by the validator
        await type_into(pilot, screen, "ResourceConfig.InstanceCount", "two")
        count = field(screen, "ResourceConfig.InstanceCount")
        assert count.has_class("-error") and "must be an integer" in str(count.query_one(".field-error").content)
        assert screen.draft.get("ResourceConfig.InstanceCount") == "two"
        assert any("ResourceConfig.InstanceCount: must be an integer" in line
                   for line in listed_problems(screen))  # and in the problems list
        assert section_label(screen, "resources") == "Resources ✘"
        await type_into(pilot, screen, "ResourceConfig.InstanceCount", "2")
        assert not count.has_class("-error") and screen.draft.get("ResourceConfig.InstanceCount") == 2

        # hyperparameters: an editable key/value table
        screen.show_section("hyperparameters")
        editor = screen.query_one(KeyValueEditor)
        await pilot.pause()
        await pilot.click(".kv-add")
        await wait_for(pilot, lambda: editor.query(KeyValueRow) and screen.focused is
                       editor.query_one(KeyValueRow).query_one(".kv-key"), what="a new row with the focus")
        await pilot.press(*"epochs", "tab", *"4")
        await settle(pilot)
        assert screen.draft.get("HyperParameters") == {"epochs": "4"}
        assert len(editor.query(KeyValueRow)) == 1

        # a channel through its dialog, with the data folder relative to the spec
        screen.show_section("channels", focus=True)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelDialog))
        dialog = app.screen
        source = field(dialog, "InputDataConfig[0].DataSource.S3DataSource.S3Uri").input
        source.focus()
        await pilot.press(*"nowhere/")
        uri = field(dialog, "InputDataConfig[0].DataSource.S3DataSource.S3Uri")
        await wait_for(pilot, lambda: "does not exist" in str(uri.query_one(".field-error").content),
                       what="the channel's inline error")
        source.value = "data/"
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        await settle(pilot)
        assert screen.draft.get("InputDataConfig[0].ChannelName") == "train"
        assert screen.draft.get("InputDataConfig[0].DataSource.S3DataSource.S3Uri") == "data/"
        assert screen.query_one(ChannelList).table.row_count == 1
        assert screen.validation.ok and "valid for local" in title(screen)

        # the YAML preview is what will be written
        preview = screen.query_one("#yaml-preview", TextArea).text
        assert "TrainingImage: sm-workbench/shell:latest" in preview and "InstanceCount: 2" in preview

        # ctrl+s on a new spec asks for a file name
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker))
        path_input = app.screen.query_one("#picker-path", Input)
        path_input.value = "my-job.yaml"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen) and not screen.draft.dirty)
        saved = read_spec_file(tmp_path / "my-job.yaml")
        assert saved["ResourceConfig"]["InstanceCount"] == 2 and saved["HyperParameters"] == {"epochs": "4"}
        assert "my-job.yaml" in title(screen) and "modified" not in title(screen)


async def test_save_asks_before_overwriting_a_file_changed_on_disk(tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\nHyperParameters:\n  a: '1'\n")
    app = composer_app(spec=spec)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        await type_into(pilot, screen, "AlgorithmSpecification.TrainingImage", "img:2")
        spec.write_text("AlgorithmSpecification:\n  TrainingImage: edited-elsewhere\n")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="the overwrite question")
        await pilot.press("escape")
        await pilot.pause()
        assert "edited-elsewhere" in spec.read_text()  # not overwritten
        assert screen.draft.get("AlgorithmSpecification.TrainingImage") == "img:2"  # nothing lost
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("o")
        await wait_for(pilot, lambda: "img:2" in spec.read_text(), what="the overwrite")
        assert read_spec_file(spec)["HyperParameters"] == {"a": "1"}


async def test_a_failed_run_keeps_everything_and_says_why(tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\nStoppingCondition:\n  MaxRuntimeInSeconds: 0\n")
    app = composer_app(spec=spec)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        before = copy.deepcopy(screen.draft.data)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.query_one("#composer-error").display, what="the run error")
        assert "fix them first" in str(screen.query_one("#composer-error").content)
        assert screen.draft.data == before and isinstance(app.screen, ComposerScreen)
        assert screen.focused is screen.query_one(ProblemsList)
        await pilot.press("down", "enter")  # the problem jumps to its field
        await pilot.pause()
        assert screen.focused is field(screen, "StoppingCondition.MaxRuntimeInSeconds").input
        await type_into(pilot, screen, "StoppingCondition.MaxRuntimeInSeconds", "60")
        await type_into(pilot, screen, "AlgorithmSpecification.TrainingImage", "no-such-image:never")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "no-such-image:never" in str(screen.query_one("#composer-error").content),
                       what="the engine's error")
        assert isinstance(app.screen, ComposerScreen)
        assert screen.draft.get("AlgorithmSpecification.TrainingImage") == "no-such-image:never"
        assert screen.draft.get("StoppingCondition") == {"MaxRuntimeInSeconds": 60}


async def test_instance_groups_and_back_without_losing_anything(tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\n"
                    "ResourceConfig:\n  InstanceType: ml.c5.xlarge\n  InstanceCount: 3\n")
    app = composer_app(spec=spec)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        screen.show_section("resources")
        await pilot.pause()
        await pilot.click("#mode-groups")
        await settle(pilot)
        assert screen.draft.get("ResourceConfig") == {"InstanceGroups": [
            {"InstanceGroupName": "group-1", "InstanceType": "ml.c5.xlarge", "InstanceCount": 3}]}
        await pilot.click(".group-add")
        await settle(pilot)
        assert len(screen.draft.get("ResourceConfig.InstanceGroups")) == 2
        await pilot.click("#mode-single")
        await settle(pilot)
        assert screen.draft.get("ResourceConfig") == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 3}
        await pilot.click("#mode-groups")
        await settle(pilot)
        assert len(screen.draft.get("ResourceConfig.InstanceGroups")) == 2  # restored


async def test_workbench_settings_are_generated_from_their_metadata():
    from workbench.spec.settings import setting_fields

    app = composer_app(new_spec=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        paths = {f.path for f in screen.query_one("#section-workbench").query("SpecField")}
        assert paths == {f"Workbench.{name}" for name, spec_field in setting_fields().items()
                         if not spec_field.metadata.get("internal")}  # TuningJob is set on trials, not by users
        await type_into(pilot, screen, "Workbench.StopGracePeriodSeconds", "-4")
        grace = field(screen, "Workbench.StopGracePeriodSeconds")
        assert "too small" in str(grace.query_one(".field-error").content)
        await type_into(pilot, screen, "Workbench.StopGracePeriodSeconds", "3")
        assert screen.draft.get("Workbench") == {"StopGracePeriodSeconds": 3}
        screen.action_toggle_target()
        await settle(pilot)
        assert "for sagemaker" in title(screen)
        assert any(p.path == "RoleArn" for p in screen.validation.problems)


async def test_leaving_with_unsaved_changes_asks_first():
    app = composer_app(new_spec=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        await type_into(pilot, screen, "TrainingJobName", "draft-job")
        screen.query_one("#sections").focus()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and screen.draft.get("TrainingJobName") == "draft-job"
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the quit question")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_a_spec_with_fields_the_form_has_no_place_for_keeps_them(tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\nTags:\n  - Key: team\n    Value: ml\n"
                    "VpcConfig:\n  SecurityGroupIds: [sg-1]\n  Subnets: [subnet-1]\n")
    app = composer_app(spec=spec)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        await type_into(pilot, screen, "AlgorithmSpecification.TrainingImage", "img:2")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "img:2" in spec.read_text())
        data = read_spec_file(spec)
        assert data["Tags"] == [{"Key": "team", "Value": "ml"}] and data["VpcConfig"]["Subnets"] == ["subnet-1"]
        assert Path(spec).read_text().index("Tags") < Path(spec).read_text().index("VpcConfig")  # order kept


async def test_browse_for_a_channel_folder(tmp_path):
    (tmp_path / "datasets" / "train").mkdir(parents=True)
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\n")
    app = composer_app(spec=spec)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        screen.show_section("channels", focus=True)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ChannelDialog))
        dialog = app.screen
        await pilot.pause()
        await pilot.click(".field-browse")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), what="the file picker")
        app.screen.query_one("#picker-path", Input).value = "datasets/train/"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is dialog)
        source = field(dialog, "InputDataConfig[0].DataSource.S3DataSource.S3Uri")
        await wait_for(pilot, lambda: source.input.value == "datasets/train/", what="the picked folder")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert screen.draft.get("InputDataConfig[0].DataSource.S3DataSource.S3Uri") == "datasets/train/"
        assert screen.validation.ok


async def test_a_run_error_goes_once_the_spec_changes(tmp_path):
    """Tour: ctrl+r on a spec whose image is not in the local Docker engine showed the
    error; changing the image (or anything else) left it on screen, no longer true."""
    spec = tmp_path / "job.yaml"
    spec.write_text("AlgorithmSpecification:\n  TrainingImage: img:1\nStoppingCondition:\n  MaxRuntimeInSeconds: 0\n")
    app = composer_app(spec=spec)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        error = screen.query_one("#composer-error")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: error.display, what="the run error")
        screen.action_toggle_target()  # not an edit: the error still applies
        await settle(pilot)
        assert error.display
        await type_into(pilot, screen, "StoppingCondition.MaxRuntimeInSeconds", "60")
        assert not error.display


async def test_every_label_breaks_between_words_at_80_columns():
    """Tour at 80x24: the Workbench section's labels were the settings' names, so
    "CheckpointDrainTimeoutSeconds" broke mid-word ("CheckpointDrainTi" / "meoutSeconds")."""
    app = composer_app(new_spec=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        for key in ("workbench", "stopping", "job", "algorithm", "resources"):
            screen.show_section(key)
            await pilot.pause()
            for spec_field in screen.query_one(f"#section-{key}").query("SpecField"):
                label = spec_field.query_one(".field-label")
                width = label.content_region.width
                if not spec_field.label or not spec_field.display:  # a check box carries its own label
                    continue
                longest = max(len(word) for word in spec_field.label.split())
                assert longest <= width, f"{spec_field.label!r} breaks mid-word in {width} columns"
        drain = field(screen, "Workbench.CheckpointDrainTimeoutSeconds")
        assert "CheckpointDrainTimeoutSeconds" in drain.help  # the name to write in YAML is still there


async def test_the_form_is_built_from_its_table():
    """The composer's sections, their order and every field in them come from the one
    table in workbench.tui.composer_form: each path it lists has its field in its
    section's pane, and no pane has a field the table does not list."""
    from textual.widgets import OptionList

    from workbench.tui.composer_form import FORM, SECTION_OF, Field, section_for

    app = composer_app(new_spec=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ComposerScreen))
        screen = await settle(pilot)
        sections = screen.query_one("#sections", OptionList)
        assert [sections.get_option_at_index(i).id for i in range(sections.option_count)] == [s.key for s in FORM]
        assert [section_label(screen, i).removesuffix(" ✘") for i in range(len(FORM))] == [s.title for s in FORM]
        for section in FORM:
            pane = screen.query_one(f"#section-{section.key}")
            assert [f.path for f in pane.query("SpecField")] == list(section.paths()), section.key
            for part in section.parts:
                if isinstance(part, Field):
                    assert field(screen, part.path).label == part.label
            for member in section.members():
                assert SECTION_OF[member] == section.key and section_for(f"{member}.X") == section.key
        assert section_for("VpcConfig.Subnets") == "yaml"  # no field for it: the YAML shows it
