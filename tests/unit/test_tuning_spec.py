"""Tuning specs (spec/tuning.py) and the tuning record (engine/tuning/records.py), without
Docker: the generic walk of botocore's CreateHyperParameterTuningJob model for both
targets, the API's cross-field rules, --set overrides, trial names and trial specs, and
the record's counters as the folded events leave them."""

from __future__ import annotations

import copy
import re

import pytest

from workbench.engine import events as ev
from workbench.engine.record import apply_event
from workbench.engine.tuning.records import list_trials, new_tuning_record, trial_names
from workbench.errors import SpecInvalid
from workbench.spec.tuning import (
    OBJECTIVE_HYPERPARAMETER, check_tuning_spec, generate_tuning_name, is_tuning_spec, trial_name, trial_spec,
    validate_tuning,
)

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def tuning(**config) -> dict:
    """A small valid tuning spec (Random, one continuous and one categorical range); `config`
    replaces members of HyperParameterTuningJobConfig (None removes one)."""
    spec = {
        "HyperParameterTuningJobName": "tj",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "objective"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}],
                "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b", "c"]}],
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/objective:1",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "objective", "Regex": "objective=([0-9.eE+-]+)"}],
            },
            "StaticHyperParameters": {"epochs": "3"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }
    for key, value in config.items():
        if value is None:
            spec["HyperParameterTuningJobConfig"].pop(key, None)
        else:
            spec["HyperParameterTuningJobConfig"][key] = value
    return spec


def errors_of(spec: dict, target: str = "local") -> dict[str, str]:
    """path -> message of every error."""
    return {p.path: p.message for p in validate_tuning(spec, target=target) if p.severity == "error"}


def test_a_tuning_spec_is_recognised_by_its_keys():
    assert is_tuning_spec(tuning())
    assert is_tuning_spec({"HyperParameterTuningJobConfig": {}})
    assert not is_tuning_spec({"TrainingJobName": "t", "AlgorithmSpecification": {}})
    assert not is_tuning_spec(["HyperParameterTuningJobConfig"])


@pytest.mark.parametrize("target", ["local", "sagemaker"])
def test_a_valid_spec_is_valid_for_both_targets(target):
    data = tuning()
    data["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] = 3  # YAML's number
    spec = check_tuning_spec(data, target=target)
    assert spec.name == "tj"
    assert spec.strategy == "Random"
    # The static hyperparameters are strings, as the API takes them.
    assert spec.data["TrainingJobDefinition"]["StaticHyperParameters"] == {"epochs": "3"}
    assert "Workbench" not in spec.request


@pytest.mark.parametrize("target", ["local", "sagemaker"])
def test_the_generic_walk_of_the_model_finds_unknown_members_bad_enums_and_types(target):
    spec = tuning(Strategy="Randum", RandomSeeds=3)
    spec["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = "two"
    spec["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingInputMode"] = "Filed"
    found = errors_of(spec, target)
    assert "did you mean Random" in found["HyperParameterTuningJobConfig.Strategy"]
    assert "RandomSeed" in found["HyperParameterTuningJobConfig.RandomSeeds"]
    assert "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs" in found
    assert "File" in found["TrainingJobDefinition.AlgorithmSpecification.TrainingInputMode"]


def test_numbers_in_ranges_are_sent_as_the_strings_the_api_takes():
    """`MinValue: 0` and `Values: [16, 32]` in YAML were refused ("must be a string, not an
    integer 0") while the static hyperparameters' numbers were taken: the SDK sends both as
    strings, and so does a spec now."""
    spec = tuning()
    ranges = spec["HyperParameterTuningJobConfig"]["ParameterRanges"]
    ranges["ContinuousParameterRanges"][0].update(MinValue=0, MaxValue=0.5)
    ranges["CategoricalParameterRanges"][0]["Values"] = [16, 32, "64"]
    ranges["IntegerParameterRanges"] = [{"Name": "n", "MinValue": 1, "MaxValue": 9}]
    checked = check_tuning_spec(spec, target="sagemaker").request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert checked["ContinuousParameterRanges"][0] == {"Name": "x", "MinValue": "0", "MaxValue": "0.5"}
    assert checked["CategoricalParameterRanges"][0]["Values"] == ["16", "32", "64"]
    assert checked["IntegerParameterRanges"][0] == {"Name": "n", "MinValue": "1", "MaxValue": "9"}
    ranges["CategoricalParameterRanges"][0]["Values"] = [True]  # YAML's yes: not a value anyone meant
    with pytest.raises(SpecInvalid):
        check_tuning_spec(spec)


def test_sagemaker_takes_s3_only_and_local_takes_local_paths(tmp_path):
    spec = tuning()
    spec["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = "out/"
    assert "TrainingJobDefinition.OutputDataConfig.S3OutputPath" in errors_of(spec, "sagemaker")
    checked = check_tuning_spec(spec, target="local", base_dir=tmp_path)
    assert checked.data["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"].startswith("file://")


def test_a_tuning_job_name_longer_than_32_characters_is_refused():
    """SageMaker's limit for tuning job names is 32 (its training jobs get 63)."""
    spec = tuning()
    spec["HyperParameterTuningJobName"] = "t" * 33
    assert "HyperParameterTuningJobName" in errors_of(spec)
    spec["HyperParameterTuningJobName"] = "t" * 32
    assert "HyperParameterTuningJobName" not in errors_of(spec)


def test_the_generated_name_fits_in_32_characters():
    name = generate_tuning_name("123456789012.dkr.ecr.us-east-1.amazonaws.com/a-very-long-image-name-indeed:1", 0)
    assert len(name) <= 32
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", name)
    checked = check_tuning_spec({k: v for k, v in tuning().items() if k != "HyperParameterTuningJobName"})
    assert len(checked.name) <= 32


def test_the_objective_metric_must_be_one_of_the_metric_definitions():
    spec = tuning(HyperParameterTuningJobObjective={"Type": "Maximize", "MetricName": "validation:acc"})
    message = errors_of(spec)["HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName"]
    assert "'validation:acc'" in message and "defined: objective" in message


def test_grid_takes_categorical_ranges_only_and_as_many_jobs_as_combinations():
    found = errors_of(tuning(Strategy="Grid"))
    assert "categorical ranges only" in found["HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0]"]
    spec = tuning(Strategy="Grid")
    del spec["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"]
    assert "must equal the number of combinations" in errors_of(spec)[
        "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs"]
    spec["HyperParameterTuningJobConfig"]["ResourceLimits"] = {"MaxNumberOfTrainingJobs": 3,
                                                                "MaxParallelTrainingJobs": 2}
    assert errors_of(spec) == {}
    # Left out, the grid's size is the number of training jobs.
    spec["HyperParameterTuningJobConfig"]["ResourceLimits"] = {"MaxParallelTrainingJobs": 2}
    assert errors_of(spec) == {}


def test_hyperband_takes_no_early_stopping_type_and_needs_a_max_resource():
    spec = tuning(Strategy="Hyperband", TrainingJobEarlyStoppingType="Auto")
    assert "must be Off with Hyperband" in errors_of(spec)["HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType"]
    spec = tuning(Strategy="Hyperband")
    assert errors_of(spec) == {}  # MaxResource from StaticHyperParameters.epochs
    del spec["TrainingJobDefinition"]["StaticHyperParameters"]
    assert "MaxResource" in " ".join(errors_of(spec))
    spec = tuning(Strategy="Random", StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 3}})
    assert "only for the Hyperband strategy" in errors_of(spec)["HyperParameterTuningJobConfig.StrategyConfig"]


def test_resource_limits_against_parallelism():
    spec = tuning(ResourceLimits={"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 3})
    assert "3 is more than the 2 training jobs" in errors_of(spec)[
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs"]
    spec = tuning(ResourceLimits={"MaxParallelTrainingJobs": 1})
    assert "is required" in errors_of(spec)["HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs"]
    # More at once than this machine runs: a warning, never an error.
    spec = tuning(ResourceLimits={"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 4})
    spec["Workbench"] = {"MaxLocalParallelTrainingJobs": 1}
    problems = validate_tuning(spec)
    assert [p.severity for p in problems if p.path.endswith("MaxParallelTrainingJobs")] == ["warning"]


def test_training_job_definition_or_definitions_not_both_nor_neither():
    spec = tuning()
    spec["TrainingJobDefinitions"] = [dict(copy.deepcopy(spec["TrainingJobDefinition"]), DefinitionName="a")]
    assert "not both" in errors_of(spec)["TrainingJobDefinitions"]
    del spec["TrainingJobDefinition"], spec["TrainingJobDefinitions"]
    assert "is required" in errors_of(spec)["TrainingJobDefinition"]


def test_several_definitions_each_carry_their_objective_and_ranges():
    spec = tuning()
    config = spec["HyperParameterTuningJobConfig"]
    one = copy.deepcopy(spec.pop("TrainingJobDefinition"))
    spec["TrainingJobDefinitions"] = [dict(copy.deepcopy(one), DefinitionName="a"),
                                      dict(copy.deepcopy(one), DefinitionName="b")]
    found = errors_of(spec)
    assert "give each definition its own HyperParameterRanges" in found["HyperParameterTuningJobConfig.ParameterRanges"]
    assert "TrainingJobDefinitions[0].TuningObjective" in found
    ranges, objective = config.pop("ParameterRanges"), config.pop("HyperParameterTuningJobObjective")
    for item in spec["TrainingJobDefinitions"]:
        item["HyperParameterRanges"], item["TuningObjective"] = copy.deepcopy(ranges), copy.deepcopy(objective)
    assert errors_of(spec) == {}
    spec["TrainingJobDefinitions"][1]["TuningObjective"]["Type"] = "Minimize"
    assert "the same Type" in errors_of(spec)["TrainingJobDefinitions"]


def test_range_rules():
    spec = tuning()
    ranges = spec["HyperParameterTuningJobConfig"]["ParameterRanges"]
    ranges["ContinuousParameterRanges"] = [{"Name": "x", "MinValue": "1", "MaxValue": "0"},
                                           {"Name": "lr", "MinValue": "0", "MaxValue": "1",
                                            "ScalingType": "Logarithmic"},
                                           {"Name": "epochs", "MinValue": "0", "MaxValue": "1"}]
    ranges["IntegerParameterRanges"] = [{"Name": "n", "MinValue": "1.5", "MaxValue": "3"}]
    found = errors_of(spec)
    base = "HyperParameterTuningJobConfig.ParameterRanges"
    assert "more than MaxValue" in found[f"{base}.ContinuousParameterRanges[0].MinValue"]
    assert "greater than 0" in found[f"{base}.ContinuousParameterRanges[1].MinValue"]
    assert "also a static hyperparameter" in found[f"{base}.ContinuousParameterRanges[2].Name"]
    assert "whole number" in found[f"{base}.IntegerParameterRanges[0].MinValue"]


def test_set_overrides_reach_the_config_the_definition_and_the_workbench_section():
    spec = check_tuning_spec(tuning(), overrides=[
        "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs=6",
        "TrainingJobDefinition.StaticHyperParameters.epochs=5",
        "Workbench.MaxLocalParallelTrainingJobs=1",
        "Workbench.StopGracePeriodSeconds=2",
    ])
    assert spec.config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6
    assert spec.data["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] == "5"
    assert spec.settings.MaxLocalParallelTrainingJobs == 1
    assert spec.training_settings == {"StopGracePeriodSeconds": 2}
    with pytest.raises(SpecInvalid) as caught:
        check_tuning_spec(tuning(), overrides=["HyperParameterTuningJobConfig.Strategy=Grided"])
    assert "HyperParameterTuningJobConfig.Strategy" in str(caught.value)


def test_an_unknown_workbench_setting_is_refused_once_with_a_suggestion():
    """`Workbench: {MaxLocalParallelTrainingJob: 2}` (one letter short) gave two errors for
    the key: the tuning's, and the trial spec's, whose list of known settings had neither
    tuning setting but TuningJob, which a tuning spec refuses."""
    spec = tuning()
    spec["Workbench"] = {"MaxLocalParallelTrainingJob": 2, "StopGracePeriodSeconds": -1}
    problems = [p for p in validate_tuning(spec) if p.path == "Workbench.MaxLocalParallelTrainingJob"]
    assert len(problems) == 1, problems
    assert "did you mean MaxLocalParallelTrainingJobs" in problems[0].message
    assert "TuningJob," not in problems[0].message
    # A training setting's value is still checked (by the trial's spec).
    assert "too small" in errors_of(spec)["Workbench.StopGracePeriodSeconds"]


def test_trial_names_as_sagemaker_names_them():
    name = trial_name("tj", 7, "0a1b2c3d")
    assert name == "tj-007-0a1b2c3d"
    longest = trial_name("t" * 32, 500, "ffffffff")
    assert len(longest) == 45 <= 63  # a training job name's limit


def test_a_trial_spec_has_static_tuned_and_objective_hyperparameters_as_strings():
    definition = check_tuning_spec(tuning()).data["TrainingJobDefinition"]
    spec = trial_spec(definition, "tj-001-00000000", {"x": 0.25, "kind": "b"}, objective="objective",
                      settings={"StopGracePeriodSeconds": 2}, tuning_job="tj", tags=[{"Key": "k", "Value": "v"}])
    assert spec["HyperParameters"] == {"epochs": "3", "x": "0.25", "kind": "b", OBJECTIVE_HYPERPARAMETER: "objective"}
    assert spec["TrainingJobName"] == "tj-001-00000000"
    assert spec["Workbench"] == {"StopGracePeriodSeconds": 2, "TuningJob": "tj"}
    assert spec["Tags"] == [{"Key": "k", "Value": "v"}]
    assert spec["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "objective"


# --- the record ---------------------------------------------------------------------------


def folded(*events: ev.Event, maximize: bool = True) -> dict:
    request = tuning(HyperParameterTuningJobObjective={"Type": "Maximize" if maximize else "Minimize",
                                                       "MetricName": "objective"})
    record = new_tuning_record(request, "arn:aws:sagemaker:us-east-1:0:hyper-parameter-tuning-job/tj", 1000.0,
                               {"Region": "us-east-1", "AccountId": "000000000000"})
    for event in events:
        apply_event(record, event)
    return record


def trial_events(name: str, index: int, status: str, objective: float | None, failure: str = "",
                 objective_status: str | None = None) -> list[ev.Event]:
    if objective_status is None:
        objective_status = "Succeeded" if objective is not None and status != "Failed" else "Failed"
    return [ev.TrialProposed(name, index, {"x": str(index / 10)}, time=1000.0 + index),
            ev.TrialUpdated(name, "InProgress", "Training", time=1001.0 + index),
            ev.TrialUpdated(name, status, status, "2026-12-01T00:00:00Z", "2026-12-01T00:01:00Z", failure, objective,
                            objective_status, 3 if objective is not None else 0, time=1002.0 + index)]


def test_the_new_record_shows_the_objective_hyperparameter_as_sagemaker_does():
    record = folded()
    assert record["HyperParameterTuningJobStatus"] == "InProgress"
    assert record["TrainingJobDefinition"]["StaticHyperParameters"][OBJECTIVE_HYPERPARAMETER] == "objective"
    assert record["TrainingJobStatusCounters"] == {"Completed": 0, "InProgress": 0, "RetryableError": 0,
                                                   "NonRetryableError": 0, "Stopped": 0}
    assert record["ObjectiveStatusCounters"] == {"Succeeded": 0, "Pending": 0, "Failed": 0}


def test_counters_best_and_failures_as_the_api_counts_them():
    events = [*trial_events("tj-001-a", 1, "Completed", 0.5),
              *trial_events("tj-002-b", 2, "Failed", None, "AlgorithmError: x is too big"),
              *trial_events("tj-003-c", 3, "Completed", None,
                            "The training job reported no value of the objective metric 'objective'"),
              *trial_events("tj-004-d", 4, "Completed", 0.9),
              *trial_events("tj-005-e", 5, "Stopped", 0.7),
              *trial_events("tj-006-f", 6, "Failed", None, "InternalServerError: the runner died"),
              ev.TrialProposed("tj-007-g", 7, {"x": "0.7"}, time=1010.0),
              ev.TrialUpdated("tj-007-g", "InProgress", "Training", objective=0.2, objective_status="Pending",
                              values=1, time=1011.0)]
    record = folded(*events)
    assert record["TrainingJobStatusCounters"] == {"Completed": 3, "InProgress": 1, "RetryableError": 1,
                                                   "NonRetryableError": 1, "Stopped": 1}
    assert record["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 1, "Failed": 3}
    best = record["BestTrainingJob"]
    assert best["TrainingJobName"] == "tj-004-d"
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {"Type": "Maximize", "MetricName": "objective",
                                                                   "Value": 0.9}
    no_objective = next(s for s in record["Workbench"]["TrainingJobSummaries"] if s["TrainingJobName"] == "tj-003-c")
    assert no_objective["ObjectiveStatus"] == "Failed"
    assert "no value of the objective metric" in no_objective["FailureReason"]
    assert "FinalHyperParameterTuningJobObjectiveMetric" not in no_objective
    assert trial_names(record) == [f"tj-00{i}-{c}" for i, c in zip(range(1, 8), "abcdefg")]
    ended = folded(*events, ev.JobFinished("Completed", "Completed", "", time=1100.0))
    assert ended["HyperParameterTuningJobStatus"] == "Completed"
    assert ended["HyperParameterTuningEndTime"]
    assert ended["ConsumedResources"] == {"RuntimeInSeconds": 100}


def test_minimize_picks_the_lowest_and_a_proposal_folds_once():
    record = folded(*trial_events("tj-001-a", 1, "Completed", 0.5), *trial_events("tj-002-b", 2, "Completed", 0.1),
                    ev.TrialProposed("tj-001-a", 1, {"x": "0.1"}, time=1200.0), maximize=False)
    assert record["BestTrainingJob"]["TrainingJobName"] == "tj-002-b"
    assert len(record["Workbench"]["TrainingJobSummaries"]) == 2


def test_list_trials_filters_and_sorts_as_the_api_does():
    record = folded(*trial_events("tj-001-a", 1, "Completed", 0.5),
                    *trial_events("tj-002-b", 2, "Failed", None, "AlgorithmError: boom"),
                    *trial_events("tj-003-c", 3, "Completed", 0.9))
    assert [s["TrainingJobName"] for s in list_trials(record, status="Completed")] == ["tj-001-a", "tj-003-c"]
    by_value = list_trials(record, sort_by="FinalObjectiveMetricValue", sort_order="Descending")
    assert [s["TrainingJobName"] for s in by_value] == ["tj-003-c", "tj-001-a"]  # no objective: left out
    assert [s["TrainingJobName"] for s in list_trials(record, sort_by="Name", sort_order="Descending")] == [
        "tj-003-c", "tj-002-b", "tj-001-a"]


def test_an_early_stopped_trial_says_why():
    record = folded(*trial_events("tj-001-a", 1, "Stopped", 0.3),
                    ev.TrialEarlyStopped("tj-001-a", "Auto", 2, 0.3, 0.6, "worse than the median", time=1005.0))
    stopped = record["Workbench"]["Trials"]["tj-001-a"]["EarlyStopped"]
    assert stopped["Rule"] == "Auto" and stopped["Median"] == 0.6 and stopped["Epoch"] == 2
    assert record["TrainingJobStatusCounters"]["Stopped"] == 1
