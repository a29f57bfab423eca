"""The tuning views: tuning jobs with their trials folded under them on the jobs screen,
the tuning monitor (counters, trials, the best, the chart, live updates, opening a trial,
stopping), and the tuning composer (fields, ranges, inline errors, saving).

Tuning jobs are made by folding events into a tuning record (tests/tui/fake_jobs.py
`make_tuning`), owned by this test process, so nothing runs and no Docker is needed.
"""

from __future__ import annotations

import yaml
from textual.widgets import Input, Select

from tests.tui.conftest import frozen_clock, wait_for
from tests.tui.fake_jobs import T0, TRIALS, TUNING_REQUEST, make_job, make_tuning, trial_job_name
from workbench.engine import api, control
from workbench.engine import events as ev
from workbench.engine.store import JobRecorder, existing_job, load_record
from workbench.spec import write_spec_file
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.confirm import ConfirmDialog
from workbench.tui.screens.jobs import JobsScreen
from workbench.tui.screens.monitor import MonitorScreen
from workbench.tui.screens.tuning import TuningScreen
from workbench.tui.screens.tuning_composer import TuningComposerScreen
from workbench.tui.widgets.ranges_editor import RangesEditor
from workbench.tui.widgets.trial_table import TrialTable

TUNING = "tune-xgb"
NAMES = [trial_job_name(TUNING, index) for index, *_ in TRIALS]
BEST = trial_job_name(TUNING, 3)  # 0.91, the highest objective (Maximize)


def app(**kwargs) -> WorkbenchApp:
    return WorkbenchApp(clock=frozen_clock, poll_seconds=0.2, **kwargs)


def history() -> None:
    make_job("train-resnet", start=T0 - 100)
    make_tuning(TUNING, start=T0)


async def jobs_listed(pilot) -> JobsScreen:
    screen = pilot.app.screen
    await wait_for(pilot, lambda: isinstance(screen, JobsScreen) and pilot.app.records is not None
                   and screen.table.row_count == 2, what="the jobs listed")
    return screen


async def tuning_monitor(pilot) -> TuningScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TuningScreen) and pilot.app.screen.loaded,
                   what="the tuning monitor")
    return pilot.app.screen


# --- the jobs screen ---------------------------------------------------------------------


async def test_trials_are_folded_under_their_tuning_job():
    """Seven records (a training job, a tuning job, its five trials): two rows, the trials
    folded; t unfolds them under the tuning job in launch order, and on a trial folds them
    again with the cursor back on the tuning job."""
    history()
    wb = app()
    async with wb.run_test(size=(140, 30)) as pilot:
        screen = await jobs_listed(pilot)
        table = screen.table
        assert table.order == [TUNING, "train-resnet"]  # trials are not top-level rows
        assert str(table.get_cell(TUNING, "name")).startswith("▸ tune-xgb · tuning (5 trials)")
        assert table.selected_name == TUNING
        assert table.check_action("toggle_trials", ()) is True
        assert screen.check_action("rerun", ()) is None  # a tuning spec is run again from its composer
        assert "t" in screen.active_bindings and screen.active_bindings["t"].binding.description == "Trials"

        await pilot.press("t")
        await pilot.pause()
        assert table.order == [TUNING, *NAMES, "train-resnet"]
        assert table.parent_of == {name: TUNING for name in NAMES}
        assert str(table.get_cell(TUNING, "name")).startswith("▾")
        assert str(table.get_cell(NAMES[0], "name")).strip().startswith("└")

        await pilot.press("down", "down")
        assert table.selected_name == NAMES[1]
        await pilot.press("t")
        await pilot.pause()
        assert table.order == [TUNING, "train-resnet"]
        assert table.selected_name == TUNING

        await pilot.press("down")  # a training job of its own: nothing to fold
        assert table.check_action("toggle_trials", ()) is None


async def test_a_filter_that_matches_a_trial_shows_it_under_its_tuning_job():
    history()
    wb = app()
    async with wb.run_test(size=(140, 30)) as pilot:
        screen = await jobs_listed(pilot)
        await pilot.press("slash", *"failed")
        await pilot.pause()
        assert screen.table.order == [TUNING, NAMES[3]]


async def test_new_trials_stay_folded_as_the_tuning_job_progresses():
    """A trial proposed while the jobs screen is open joins its tuning job, not the top."""
    history()
    wb = app()
    async with wb.run_test(size=(140, 30)) as pilot:
        screen = await jobs_listed(pilot)
        new = trial_job_name(TUNING, 6)
        paths = existing_job(TUNING)
        recorder = JobRecorder(paths, load_record(paths))
        recorder(ev.TrialProposed(new, 6, {"epochs": "2"}, time=T0 + 400))
        recorder.close()
        make_job(new, start=T0 + 400, running=True)
        await wait_for(pilot, lambda: "(6 trials)" in str(screen.table.get_cell(TUNING, "name")),
                       what="the sixth trial counted")
        assert screen.table.order == [TUNING, "train-resnet"]


# --- the tuning monitor ------------------------------------------------------------------


async def test_tuning_monitor_shows_counters_trials_the_best_and_the_chart():
    history()
    wb = app()
    async with wb.run_test(size=(140, 40)) as pilot:
        await jobs_listed(pilot)
        await pilot.press("enter")
        screen = await tuning_monitor(pilot)
        trials = screen.query_one(TrialTable)
        assert trials.order == NAMES
        assert trials.best == BEST
        assert str(trials.get_cell(BEST, "name")).startswith("★")
        assert not str(trials.get_cell(NAMES[0], "name")).startswith("★")
        assert [str(trials.get_cell(BEST, f"hp:{n}")) for n in ("epochs", "lr", "optimizer")] == ["5", "0.03", "adam"]
        assert str(trials.get_cell(BEST, "objective")) == "0.91"
        assert str(trials.get_cell(NAMES[3], "objective")) == "failed"
        assert str(trials.get_cell(NAMES[1], "early")).startswith("Auto at epoch 2")
        assert str(trials.get_cell(NAMES[0], "early")) == ""

        header = str(screen.query_one("#tuning-header").content)
        assert "Maximize validation:accuracy" in header and "strategy Bayesian" in header
        assert "2 Completed" in header and "1 NonRetryableError" in header and "1 Stopped" in header
        assert "3 Succeeded" in header and "1 Pending" in header and "1 Failed" in header

        await wait_for(pilot, lambda: screen.chart is not None and screen.chart.is_mounted, what="the chart")
        assert screen.chart.points == ([1.0, 2.0, 3.0], [0.82, 0.41, 0.91], [0.82, 0.82, 0.91])


async def test_tuning_monitor_follows_the_record_as_it_changes():
    """The running trial completes with the best objective: the monitor's best, counters
    and chart follow without reopening it."""
    history()
    wb = app(job=TUNING)
    async with wb.run_test(size=(140, 40)) as pilot:
        screen = await tuning_monitor(pilot)
        assert screen.query_one(TrialTable).best == BEST
        paths = existing_job(TUNING)
        recorder = JobRecorder(paths, load_record(paths))
        recorder(ev.TrialUpdated(NAMES[4], "Completed", "Completed", start="2026-01-01T00:05:01Z",
                                 end="2026-01-01T00:05:30Z", objective=0.95, objective_status="Succeeded",
                                 values=3, time=T0 + 400))
        recorder.close()
        await wait_for(pilot, lambda: screen.query_one(TrialTable).best == NAMES[4], what="the new best")
        assert "3 Completed" in str(screen.query_one("#tuning-header").content)
        await wait_for(pilot, lambda: screen.chart is not None and screen.chart.points[0] == [1.0, 2.0, 3.0, 5.0],
                       what="the chart redrawn")
        assert screen.chart.points[2][-1] == 0.95


async def test_enter_on_a_trial_opens_its_own_monitor():
    history()
    wb = app(job=TUNING)
    async with wb.run_test(size=(140, 40)) as pilot:
        await tuning_monitor(pilot)
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(wb.screen, MonitorScreen), what="the trial's monitor")
        assert wb.screen.job == NAMES[2]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(wb.screen, TuningScreen), what="back to the tuning monitor")


async def test_stop_key_asks_then_stops_the_tuning_job_through_the_api():
    history()
    wb = app(job=TUNING)
    async with wb.run_test(size=(140, 40)) as pilot:
        screen = await tuning_monitor(pilot)
        assert screen.check_action("stop", ()) is True
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog), what="the confirmation")
        assert wb.screen.message.startswith("Every running training job gets SIGTERM")
        await pilot.press("y")
        await wait_for(pilot, lambda: control.take_requests(existing_job(TUNING)), what="the stop request")


async def test_a_finished_tuning_job_has_nothing_to_stop():
    make_tuning(TUNING, start=T0, running=False)
    wb = app(job=TUNING)
    async with wb.run_test(size=(140, 40)) as pilot:
        screen = await tuning_monitor(pilot)
        assert screen.record["HyperParameterTuningJobStatus"] == "Completed"
        assert screen.check_action("stop", ()) is None


# --- the tuning composer -----------------------------------------------------------------


def spec_file(tmp_path, **changes) -> str:
    data = yaml.safe_load(yaml.safe_dump({"HyperParameterTuningJobName": TUNING, **TUNING_REQUEST}))
    data.update(changes)
    path = tmp_path / "tuning.yaml"
    write_spec_file(path, data)
    return str(path)


async def composer(pilot) -> TuningComposerScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TuningComposerScreen), what="the tuning composer")
    screen = pilot.app.screen
    await checked(pilot, screen)
    return screen


async def checked(pilot, screen) -> None:
    await wait_for(pilot, lambda: screen.checked_generation == screen.generation, what="the check")


async def test_a_tuning_spec_opens_in_the_tuning_composer_with_its_fields(tmp_path):
    wb = app(spec=spec_file(tmp_path))
    async with wb.run_test(size=(140, 50)) as pilot:
        screen = await composer(pilot)
        assert screen.validation.errors == []
        config = "HyperParameterTuningJobConfig"
        assert screen.field(f"{config}.HyperParameterTuningJobObjective.MetricName").input.value == \
            "validation:accuracy"
        assert screen.field(f"{config}.Strategy").select.value == "Bayesian"
        assert screen.field(f"{config}.ResourceLimits.MaxParallelTrainingJobs").input.value == "2"
        assert screen.field(f"{config}.TrainingJobEarlyStoppingType").select.value == "Auto"
        ranges = screen.query_one(RangesEditor)
        assert [row.kind for row in ranges.rows] == ["IntegerParameterRanges", "ContinuousParameterRanges",
                                                     "CategoricalParameterRanges"]
        assert ranges.rows[1].query_one(".range-scaling", Select).value == "Logarithmic"
        definition = screen.query_one("#tuning-definition").text_area.text
        assert "TrainingImage: smw-test/objective:latest" in definition
        assert "HyperParameterRanges" not in definition and "TuningObjective" not in definition


async def test_tuning_composer_shows_errors_at_their_fields_and_edits_the_draft(tmp_path):
    wb = app(spec=spec_file(tmp_path))
    async with wb.run_test(size=(140, 50)) as pilot:
        screen = await composer(pilot)
        config = "HyperParameterTuningJobConfig"
        ranges = screen.query_one(RangesEditor)

        ranges.rows[0].query_one(".range-max", Input).value = "lots"  # an integer range's MaxValue
        await checked(pilot, screen)
        assert screen.draft.get(f"{config}.ParameterRanges.IntegerParameterRanges[0].MaxValue") == "lots"
        error = str(ranges.rows[0].query_one(".range-error").content)
        assert error.startswith("MaxValue:") and "whole number" in error
        assert ranges.rows[0].query_one(".range-max").has_class("-bad")
        assert not ranges.rows[1].has_class("-problems")
        ranges.rows[0].query_one(".range-max", Input).value = "8"

        metric = screen.field(f"{config}.HyperParameterTuningJobObjective.MetricName")
        metric.input.value = "validation:f1"  # not one of the MetricDefinitions
        await checked(pilot, screen)
        assert metric.problems and "validation:accuracy" in metric.problems[0].message
        metric.input.value = "validation:accuracy"

        parallel = screen.field(f"{config}.ResourceLimits.MaxParallelTrainingJobs")
        parallel.input.value = "3"
        screen.field(f"{config}.Strategy").select.value = "Grid"  # Grid takes categorical ranges only
        await checked(pilot, screen)
        assert screen.draft.get(f"{config}.ResourceLimits.MaxParallelTrainingJobs") == 3
        assert screen.draft.get(f"{config}.Strategy") == "Grid"
        assert any(row.has_class("-problems") for row in ranges.rows[:2]) or \
            screen.query_one(RangesEditor).problems
        assert screen.validation.errors


async def test_ranges_editor_adds_and_removes_ranges_of_each_kind(tmp_path):
    wb = app(spec=spec_file(tmp_path))
    async with wb.run_test(size=(140, 50)) as pilot:
        screen = await composer(pilot)
        path = "HyperParameterTuningJobConfig.ParameterRanges"
        ranges = screen.query_one(RangesEditor)
        await pilot.click(".add-categorical")
        await wait_for(pilot, lambda: len(ranges.rows) == 4, what="a new row")
        row = ranges.rows[3]
        row.query_one(".range-name", Input).value = "booster"
        row.query_one(".range-values", Input).value = "gbtree, dart"
        await checked(pilot, screen)
        assert screen.draft.get(f"{path}.CategoricalParameterRanges") == [
            {"Name": "optimizer", "Values": ["sgd", "adam"]}, {"Name": "booster", "Values": ["gbtree", "dart"]}]
        assert screen.validation.errors == []

        await pilot.click(ranges.rows[0].query_one(".range-remove"))
        await wait_for(pilot, lambda: len(ranges.rows) == 3, what="the row removed")
        await checked(pilot, screen)
        assert screen.draft.get(f"{path}.IntegerParameterRanges") is None
        assert screen.draft.get(f"{path}.ContinuousParameterRanges")[0]["ScalingType"] == "Logarithmic"


async def test_definition_yaml_errors_show_at_the_field_and_keep_the_draft(tmp_path):
    wb = app(spec=spec_file(tmp_path))
    async with wb.run_test(size=(140, 50)) as pilot:
        screen = await composer(pilot)
        editor = screen.query_one("#tuning-definition")
        before = screen.draft.get("TrainingJobDefinition")
        editor.text_area.load_text("AlgorithmSpecification: [unclosed\n")
        await checked(pilot, screen)
        assert "not valid YAML" in editor.problems[0].message
        assert screen.draft.get("TrainingJobDefinition") == before


async def test_tuning_composer_saves_the_spec_as_yaml(tmp_path):
    path = spec_file(tmp_path)
    wb = app(spec=path)
    async with wb.run_test(size=(140, 50)) as pilot:
        screen = await composer(pilot)
        screen.field("HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs").input.value = "12"
        await checked(pilot, screen)
        assert screen.draft.dirty
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not screen.draft.dirty, what="the save")
    saved = yaml.safe_load(open(path))
    assert saved["HyperParameterTuningJobConfig"]["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 12,
                                                                       "MaxParallelTrainingJobs": 2}
    assert saved["TrainingJobDefinition"]["StaticHyperParameters"] == {"batch": "32"}


async def test_edit_spec_from_the_tuning_monitor_opens_the_tuning_composer():
    history()
    wb = app(job=TUNING)
    async with wb.run_test(size=(140, 50)) as pilot:
        await tuning_monitor(pilot)
        await pilot.press("e")
        screen = await composer(pilot)
        assert "HyperParameterTuningJobName" not in screen.draft.data  # a new name when it runs
        assert screen.draft.get("HyperParameterTuningJobConfig.Strategy") == "Bayesian"
        assert api.tuning_objective(screen.draft.data)["MetricName"] == "validation:accuracy"


async def test_several_definitions_are_edited_as_yaml_with_their_own_objectives_and_ranges(tmp_path):
    """TrainingJobDefinitions: no config-level objective or ranges fields (the API refuses
    them there); the definitions, each with its TuningObjective and ranges, are the YAML."""
    config = TUNING_REQUEST["HyperParameterTuningJobConfig"]
    definition = {**TUNING_REQUEST["TrainingJobDefinition"], "DefinitionName": "small",
                  "TuningObjective": config["HyperParameterTuningJobObjective"],
                  "HyperParameterRanges": config["ParameterRanges"]}
    data = {"HyperParameterTuningJobName": TUNING, "TrainingJobDefinitions": [definition],
            "HyperParameterTuningJobConfig": {k: v for k, v in config.items()
                                              if k not in ("HyperParameterTuningJobObjective", "ParameterRanges")}}
    path = tmp_path / "several.yaml"
    write_spec_file(path, data)
    wb = app(spec=str(path))
    async with wb.run_test(size=(140, 50)) as pilot:
        screen = await composer(pilot)
        assert not screen.query(RangesEditor)
        assert "TuningObjective" in screen.query_one("#tuning-definition").text_area.text
        assert screen.validation.errors == []


async def test_edit_spec_opens_the_users_own_tuning_spec_file_when_it_still_holds_what_ran(tmp_path):
    """`e` on a tuning job run from tuning.yaml opens that file (saving writes it), as a
    training job's monitor does for its spec file."""
    from workbench.spec.tuning import resolve_tuning

    path = spec_file(tmp_path)
    resolved = resolve_tuning(yaml.safe_load(open(path)), base_dir=tmp_path, name=TUNING)
    make_tuning(TUNING, start=T0, source=path, spec=resolved)
    wb = app(job=TUNING)
    async with wb.run_test(size=(140, 50)) as pilot:
        await tuning_monitor(pilot)
        await pilot.press("e")
        screen = await composer(pilot)
        assert str(screen.draft.path) == str(tmp_path.resolve() / "tuning.yaml")
        assert not screen.draft.dirty


async def test_deleting_a_finished_tuning_job_says_its_trials_go_with_it():
    make_tuning(TUNING, start=T0, running=False, trials=TRIALS[:4])
    wb = app()
    async with wb.run_test(size=(140, 30)) as pilot:
        screen = wb.screen
        await wait_for(pilot, lambda: wb.records is not None and screen.table.order == [TUNING], what="the row")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(wb.screen, ConfirmDialog), what="the confirmation")
        assert "its training jobs' folders" in wb.screen.message
        await pilot.press("y")
        await wait_for(pilot, lambda: not api.list_jobs(), what="the tuning job and its trials removed")


async def test_a_new_tuning_spec_starts_from_a_template_with_its_missing_image_shown_at_the_definition():
    wb = app()
    async with wb.run_test(size=(140, 50)) as pilot:
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen))
        wb.new_tuning_spec()
        screen = await composer(pilot)
        definition = screen.query_one("#tuning-definition")
        assert [p.path for p in definition.problems] == ["TrainingJobDefinition.AlgorithmSpecification.TrainingImage"]
        assert screen.draft.path is None and not screen.draft.dirty
        await pilot.press("escape")  # nothing edited: leaves without asking
        await wait_for(pilot, lambda: isinstance(wb.screen, JobsScreen), what="back to the jobs")


async def test_tuning_monitor_help_lists_its_keys():
    history()
    wb = app(job=TUNING)
    async with wb.run_test(size=(140, 40)) as pilot:
        await tuning_monitor(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(wb.screen).__name__ == "HelpScreen", what="the help")
        ids = {item.id for item in wb.screen.keys}
        assert {"tuning.stop", "tuning.edit-spec", "tuning.back"} <= ids  # enter: the table's own, which opens too


async def test_run_refuses_a_tuning_spec_with_problems_and_starts_a_valid_one(tmp_path, monkeypatch):
    """ctrl+r validates for a local run first: with a problem nothing starts and the error
    says how many; a valid draft goes to `api.tune`, detached, as the spec it checked."""
    from workbench.engine import api

    started = []
    monkeypatch.setattr(api, "tune", lambda spec, detach: started.append((spec, detach)) or
                        type("Job", (), {"name": spec.name})())
    wb = app(spec=spec_file(tmp_path))
    async with wb.run_test(size=(140, 50)) as pilot:
        screen = await composer(pilot)
        metric = screen.field("HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName")
        metric.input.value = "validation:f1"  # not one of the MetricDefinitions
        await checked(pilot, screen)
        await pilot.press("ctrl+r")
        error = screen.query_one("#tuning-composer-error")
        await wait_for(pilot, lambda: error.display and not screen.running, what="the refusal")
        assert str(error.content).startswith("The tuning spec has 1 problem;")
        assert started == []

        metric.input.value = "validation:accuracy"
        await checked(pilot, screen)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: started and not screen.running, what="the launch")
        spec, detach = started[0]
        assert detach is True and spec.name == TUNING
