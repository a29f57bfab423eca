"""Tuning jobs end to end on the real engine: the tuner launches each trial as an ordinary
training job of the synthetic objective image (tests/images/objective: it prints a known
function of its hyperparameters once per epoch), and everything is checked from the
records the tuning job and its trials keep."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from tests.integration.jobs import leftovers, wait_for
from tests.integration.tuning_jobs import describe, objective, summaries, trial_hyperparameters, trial_record, \
    tune, tuned, tuning_spec, wait_final
from workbench.engine.times import epoch

pytestmark = pytest.mark.usefixtures("images")

NAME = re.compile(r"^(?P<tuning>.+)-(?P<index>\d{3})-(?P<suffix>[0-9a-f]{8})$")


def most_at_once(record: dict) -> int:
    """The most trials running at one moment, from their own TrainingStartTime and TrainingEndTime."""
    points = []
    for summary in summaries(record):
        start, end = epoch(summary.get("TrainingStartTime")), epoch(summary.get("TrainingEndTime"))
        assert start and end, summary
        points += [(start, 1), (end, -1)]
    running = most = 0
    for _, step in sorted(points, key=lambda p: (p[0], p[1])):  # an end before a start at the same instant
        running += step
        most = max(most, running)
    return most


def early_stops(record: dict) -> dict[str, dict]:
    return {name: trial["EarlyStopped"] for name, trial in record["Workbench"]["Trials"].items()
            if trial.get("EarlyStopped")}


# --- launching trials as SageMaker does ------------------------------------------------------


def test_trials_are_named_and_given_their_hyperparameters_as_sagemaker_does(tmp_path):
    spec = tuning_spec(tmp_path, max_jobs=3, static={"seed_text": "kept"},
                       ranges={"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}],
                               "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "9"}],
                               "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b", "c"]}]})
    _, record = tune(spec, tmp_path)
    name = spec["HyperParameterTuningJobName"]
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    trials = summaries(record)
    assert len(trials) == 3
    assert sorted(int(NAME.match(t["TrainingJobName"])["index"]) for t in trials) == [1, 2, 3]
    for trial in trials:
        match = NAME.match(trial["TrainingJobName"])
        assert match and match["tuning"] == name, trial["TrainingJobName"]
        own = trial_record(trial["TrainingJobName"])
        assert own["TrainingJobStatus"] == "Completed"
        hyperparameters = trial_hyperparameters(trial["TrainingJobName"])
        tuned_values = trial["TunedHyperParameters"]
        assert set(tuned_values) == {"x", "n", "kind"}
        assert all(isinstance(v, str) for v in hyperparameters.values())
        assert hyperparameters == {"epochs": "2", "epoch_seconds": "0.05", "seed_text": "kept", **tuned_values,
                                   "_tuning_objective_metric": "objective"}
        assert 0 <= float(tuned_values["x"]) <= 1 and 1 <= int(tuned_values["n"]) <= 9
        assert tuned_values["kind"] in ("a", "b", "c")
        assert trial["TuningJobName"] == name
        assert own.get("TuningJobArn") == record["HyperParameterTuningJobArn"]
    best = max(trials, key=objective)
    assert record["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]


@pytest.mark.parametrize("parallel, local, limit", [(3, 2, 2), (1, 3, 1)])
def test_parallelism_is_never_exceeded(tmp_path, parallel, local, limit):
    """MaxParallelTrainingJobs, and Workbench.MaxLocalParallelTrainingJobs when it is lower:
    counted from the trials' own start and end times."""
    spec = tuning_spec(tmp_path, max_jobs=4, parallel=parallel, local=local)
    _, record = tune(spec, tmp_path)
    assert record["TrainingJobStatusCounters"]["Completed"] == 4
    for summary in summaries(record):  # the record's times are the trials' own
        own = trial_record(summary["TrainingJobName"])
        assert summary["TrainingStartTime"] == own["TrainingStartTime"]
        assert summary["TrainingEndTime"] == own["TrainingEndTime"]
    assert most_at_once(record) <= limit


# --- the strategies ------------------------------------------------------------------------


def test_grid_enumerates_exactly_the_categorical_grid(tmp_path):
    spec = tuning_spec(tmp_path, strategy="Grid", max_jobs=None, parallel=2,
                       ranges={"CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b", "c"]},
                                                              {"Name": "n", "Values": ["3", "5"]}]})
    _, record = tune(spec, tmp_path)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    combos = sorted((s["TunedHyperParameters"]["kind"], s["TunedHyperParameters"]["n"]) for s in summaries(record))
    assert combos == [(k, n) for k in "abc" for n in ("3", "5")]
    assert record["BestTrainingJob"]["TunedHyperParameters"] == {"kind": "b", "n": "5"}


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_scaling_type_and_random_seed_are_honoured(tmp_path, strategy):
    """Logarithmic: lr in [1e-5, 1e-1] drawn on a log scale (linearly, values under 1e-2
    would be 10% of the draws); ReverseLogarithmic: momentum in [0.9, 0.9999] close to 1
    (linearly, values over 0.99 would be 10%); the same RandomSeed proposes the same
    values again."""
    ranges = {"ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.00001", "MaxValue": "0.1",
                                             "ScalingType": "Logarithmic"},
                                            {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.9999",
                                             "ScalingType": "ReverseLogarithmic"}],
              "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "1000",
                                          "ScalingType": "Logarithmic"}]}
    runs = []
    for _ in range(2):
        spec = tuning_spec(tmp_path, strategy=strategy, max_jobs=4, parallel=4, local=4, ranges=ranges,
                           config={"RandomSeed": 7})
        _, record = tune(spec, tmp_path)
        assert record["HyperParameterTuningJobStatus"] == "Completed"
        runs.append(sorted((s["TunedHyperParameters"]["lr"], s["TunedHyperParameters"]["n"],
                            s["TunedHyperParameters"]["momentum"]) for s in summaries(record)))
    assert runs[0] == runs[1]
    lrs = [float(lr) for lr, _, _ in runs[0]]
    ns = [int(n) for _, n, _ in runs[0]]
    momenta = [float(m) for _, _, m in runs[0]]
    assert all(1e-5 <= v <= 0.1 for v in lrs) and all(1 <= n <= 1000 for n in ns)
    assert all(0.9 <= m <= 0.9999 for m in momenta)
    assert sum(m > 0.99 for m in momenta) >= 2, momenta  # 10% of linear draws
    assert sum(v < 1e-2 for v in lrs) >= 2, lrs  # 10% of linear draws
    assert sum(n < 100 for n in ns) >= 2, ns


def test_hyperband_stops_trials_from_their_intermediate_values(tmp_path):
    """Trials report the objective each epoch; Hyperband stops the ones behind at a rung;
    the best is the best objective of all. A trial whose own epochs end at MaxResource is
    left to end: stopped at its last epoch, it ended Stopped, its model never saved."""
    from workbench.engine.store import job_paths

    spec = tuning_spec(tmp_path, strategy="Hyperband", max_jobs=6, parallel=3, local=3,
                       static={"epochs": "9", "epoch_seconds": "0.25"},
                       config={"RandomSeed": 3, "StrategyConfig": {"HyperbandStrategyConfig": {
                           "MinResource": 1, "MaxResource": 9}}})
    _, record = tune(spec, tmp_path)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    stopped = early_stops(record)
    assert stopped and all(s["Rule"] == "Hyperband" for s in stopped.values())
    for name, stop in stopped.items():
        own = trial_record(name)
        assert own["TrainingJobStatus"] == "Stopped"
        assert stop["Epoch"] < 9
    finished = [s for s in summaries(record) if s["TrainingJobName"] not in stopped]
    assert finished
    for summary in finished:
        own = trial_record(summary["TrainingJobName"])
        assert own["TrainingJobStatus"] == summary["TrainingJobStatus"] == "Completed"
        assert (job_paths(summary["TrainingJobName"]).opt_ml("algo-1") / "model" / "result.json").exists()
    values = {s["TrainingJobName"]: objective(s) for s in summaries(record)}
    best = max((v, n) for n, v in values.items() if v is not None)[1]
    assert record["BestTrainingJob"]["TrainingJobName"] == best


# --- early stopping --------------------------------------------------------------------------


def test_early_stopping_auto_stops_the_job_that_falls_behind(tmp_path):
    """Three good trials end first (one at a time); the fourth (x=0.95, far from the best
    x=0.3) is behind the median of their running averages at its first epoch and is
    stopped through the normal stop: SIGTERM (the container says so), status Stopped."""
    spec = tuning_spec(tmp_path, strategy="Grid", max_jobs=None, parallel=1,
                       static={"epochs": "4", "epoch_seconds": "0.5"},
                       ranges={"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.3", "0.35", "0.25",
                                                                                       "0.95"]}]},
                       config={"TrainingJobEarlyStoppingType": "Auto"})
    _, record = tune(spec, tmp_path)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    by_x = {s["TunedHyperParameters"]["x"]: s for s in summaries(record)}
    worse = by_x["0.95"]["TrainingJobName"]
    assert set(early_stops(record)) == {worse}
    stop = early_stops(record)[worse]
    assert stop["Rule"] == "Auto" and stop["Value"] < stop["Median"]
    assert by_x["0.95"]["TrainingJobStatus"] == "Stopped"
    own = trial_record(worse)
    assert own["TrainingJobStatus"] == "Stopped"
    from workbench.engine.store import job_paths

    assert "SIGTERM: stopping" in job_paths(worse).log("algo-1").read_text()
    assert all(by_x[x]["TrainingJobStatus"] == "Completed" for x in ("0.3", "0.35", "0.25"))
    assert record["TrainingJobStatusCounters"]["Stopped"] == 1


# --- the end of a tuning job ------------------------------------------------------------------


def test_target_objective_value_ends_the_tuning_job(tmp_path):
    spec = tuning_spec(tmp_path, strategy="Grid", max_jobs=None, parallel=1,
                       ranges={"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.9", "0.31", "0.8",
                                                                                       "0.1"]}]},
                       config={"TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 0.99}})
    _, record = tune(spec, tmp_path)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    assert tuned(record, "x") == ["0.9", "0.31"]
    assert record["Workbench"]["Ending"]["Reason"] == "TargetObjectiveMetricValue"
    assert record["BestTrainingJob"]["TunedHyperParameters"] == {"x": "0.31"}


def test_best_objective_not_improving_ends_the_tuning_job(tmp_path):
    spec = tuning_spec(tmp_path, strategy="Grid", max_jobs=None, parallel=1,
                       ranges={"CategoricalParameterRanges": [{"Name": "x", "Values": [
                           "0.3", "0.9", "0.8", "0.7", "0.31", "0.29"]}]},
                       config={"TuningJobCompletionCriteria": {
                           "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}}})
    _, record = tune(spec, tmp_path)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    assert tuned(record, "x") == ["0.3", "0.9", "0.8", "0.7"]
    assert record["Workbench"]["Ending"]["Reason"] == "BestObjectiveNotImproving"
    assert record["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3


def test_max_runtime_ends_the_tuning_job_and_stops_its_trials(tmp_path, docker_client):
    """ResourceLimits.MaxRuntimeInSeconds (120 s at least, as the API says) on a clock that
    runs 100 times faster: the running trials are stopped and the job ends Stopped."""
    from workbench.engine.tuning.kinds import launch_tuning
    from workbench.spec.tuning import check_tuning_spec

    spec = tuning_spec(tmp_path, max_jobs=6, static={"epochs": "200", "epoch_seconds": "0.1"},
                       limits={"MaxRuntimeInSeconds": 120})
    start = time.time()
    job = launch_tuning(check_tuning_spec(spec, base_dir=tmp_path), detach=False,
                        clock=lambda: start + (time.time() - start) * 100)
    record = job.run()
    assert record["HyperParameterTuningJobStatus"] == "Stopped"
    assert record["Workbench"]["Ending"]["Reason"] == "MaxRuntimeInSeconds"
    assert summaries(record) and all(s["TrainingJobStatus"] == "Stopped" for s in summaries(record))
    for summary in summaries(record):
        assert trial_record(summary["TrainingJobName"])["TrainingJobStatus"] == "Stopped"
        assert leftovers(docker_client, summary["TrainingJobName"]) == []


def test_stopping_the_tuning_job_stops_its_running_trials(tmp_path, docker_client):
    from workbench.engine import api

    spec = tuning_spec(tmp_path, max_jobs=4, static={"epochs": "300", "epoch_seconds": "0.1"})
    name = spec["HyperParameterTuningJobName"]
    tune(spec, tmp_path, detach=True)
    wait_for(lambda: sum(s.get("TrainingStartTime") is not None and s["TrainingJobStatus"] == "InProgress"
                         for s in summaries(describe(name))) == 2, 90, "two running trials")
    record = api.stop_job(name, timeout=90)
    assert record["HyperParameterTuningJobStatus"] == "Stopped"
    trials = summaries(record)
    assert len(trials) == 2
    for summary in trials:
        own = trial_record(summary["TrainingJobName"])
        assert own["TrainingJobStatus"] == "Stopped" and summary["TrainingJobStatus"] == "Stopped"
        assert leftovers(docker_client, summary["TrainingJobName"]) == []
    counters = record["TrainingJobStatusCounters"]
    assert counters["Stopped"] == 2 and counters["InProgress"] == 0


def test_a_killed_tuner_is_taken_over_with_no_trial_launched_twice_or_orphaned(tmp_path, docker_client):
    """SIGKILL the tuner's worker while its first trials run; a read of the history takes
    the job over: the trials that ended meanwhile are counted, the rest launched, each once.

    The dead tuner had also logged its proposal of one more trial, and died before saving
    its record and creating the trial's job: the trial ran under its name, but was missing
    from the tuning job's record. And with a RandomSeed, the tuner that took over proposed
    again, in order, the values the dead one had tried (its sampler started over)."""
    from workbench.engine.record import is_final
    from workbench.engine.store import job_paths, load_record
    from workbench.paths import jobs_dir

    from workbench.engine import events as ev
    from workbench.engine.store import append_event

    spec = tuning_spec(tmp_path, max_jobs=5, static={"epochs": "8", "epoch_seconds": "0.25"},
                       config={"RandomSeed": 11})
    name = spec["HyperParameterTuningJobName"]
    job, _ = tune(spec, tmp_path, detach=True)
    wait_for(lambda: sum(s["TrainingJobStatus"] == "InProgress" and s.get("TrainingStartTime") is not None
                         for s in summaries(describe(name))) >= 1, 90, "a running trial")
    os.kill(job.pid, signal.SIGKILL)
    wait_for(lambda: _gone(job.pid), 10, "the tuner to die")
    # The trials it launched run on, and end, while no tuner runs (nothing reads the history).
    launched = summaries(load_record(job_paths(name)))
    assert 1 <= len(launched) < 5
    wait_for(lambda: all(is_final(trial_record(s["TrainingJobName"])) for s in launched), 60, "its trials to end")
    ghost = f"{name}-{len(launched) + 1:03d}-deadbeef"
    append_event(job_paths(name), ev.TrialProposed(ghost, len(launched) + 1, {"x": "0.123"}, ""))
    assert describe(name)["HyperParameterTuningJobStatus"] == "InProgress"  # this read takes it over
    record = wait_final(name, timeout=150)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    trials = summaries(record)
    names = [s["TrainingJobName"] for s in trials]
    assert len(names) == len(set(names)) == 5
    assert sorted(int(NAME.match(n)["index"]) for n in names) == [1, 2, 3, 4, 5]
    assert ghost in names and trial_hyperparameters(ghost)["x"] == "0.123"
    assert len({s["TunedHyperParameters"]["x"] for s in trials}) == 5, tuned(record, "x")
    on_disk = sorted(p.name for p in jobs_dir().iterdir() if p.name.startswith(name + "-"))
    assert on_disk == sorted(names)
    for trial_name in names:
        own = trial_record(trial_name)
        assert own["TrainingJobStatus"] == "Completed", own.get("FailureReason")
        assert leftovers(docker_client, trial_name) == []
    assert record["TrainingJobStatusCounters"] == {"Completed": 5, "InProgress": 0, "RetryableError": 0,
                                                   "NonRetryableError": 0, "Stopped": 0}
    assert record["ObjectiveStatusCounters"] == {"Succeeded": 5, "Pending": 0, "Failed": 0}
    assert any("took over" in n["Message"] for n in record["Workbench"]["Notices"])


def test_a_tuner_that_died_after_deciding_the_end_has_its_trials_stopped_by_the_next(tmp_path, docker_client):
    """A user's `stop` reached the tuner, which recorded that the tuning job was ending
    (TuningEnding Stopped) and was killed before it stopped the running trials: the tuner
    that took over knew the job was ending but left the trials running to their last
    epoch (a minute here, hours for a real job) before the job ended Stopped."""
    from workbench.engine import events as ev
    from workbench.engine.store import append_event, job_paths

    spec = tuning_spec(tmp_path, max_jobs=4, static={"epochs": "600", "epoch_seconds": "0.1"})
    name = spec["HyperParameterTuningJobName"]
    job, _ = tune(spec, tmp_path, detach=True)
    wait_for(lambda: sum(s["TrainingJobStatus"] == "InProgress" and s.get("TrainingStartTime") is not None
                         for s in summaries(describe(name))) == 2, 90, "two running trials")
    os.kill(job.pid, signal.SIGKILL)
    wait_for(lambda: _gone(job.pid), 10, "the tuner to die")
    append_event(job_paths(name), ev.TuningEnding("Stopped", "Stopped", "StopHyperParameterTuningJob"))
    record = wait_final(name, timeout=50)
    assert record["HyperParameterTuningJobStatus"] == "Stopped"
    for summary in summaries(record):
        assert trial_record(summary["TrainingJobName"])["TrainingJobStatus"] == "Stopped"
        assert leftovers(docker_client, summary["TrainingJobName"]) == []


def test_an_older_read_of_a_tuning_job_that_has_ended_is_not_taken_over(tmp_path):
    """The jobs screen read the history while the tuning job ran, and the tuner wrote its
    final record and exited before the screen checked its owner: the ended tuning job
    was taken over from that older read (a second tuner ran it again, saying it took over)."""
    from workbench.engine.store import job_paths
    from workbench.engine.tuning.kinds import reconcile_tuning

    spec = tuning_spec(tmp_path, max_jobs=2)
    name = spec["HyperParameterTuningJobName"]
    job, _ = tune(spec, tmp_path, detach=True)
    older = describe(name)
    assert older["HyperParameterTuningJobStatus"] == "InProgress"
    wait_final(name, timeout=90)
    wait_for(lambda: _gone(job.pid), 30, "the tuner to exit")
    paths = job_paths(name)
    record = reconcile_tuning(paths, older)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    assert not (paths.control / "previous-owner.json").exists()


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# --- the record ---------------------------------------------------------------------------------


def test_counters_count_a_failed_and_a_silent_trial_and_say_why(tmp_path):
    """x above fail_above fails the training job (its FailureReason is the container's);
    silent=true completes without printing the objective (its objective Failed, and why)."""
    spec = tuning_spec(tmp_path, strategy="Grid", max_jobs=None, parallel=2, static={"fail_above": "0.5"},
                       ranges={"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.3", "0.9"]},
                                                              {"Name": "silent", "Values": ["false", "true"]}]})
    _, record = tune(spec, tmp_path)
    assert record["HyperParameterTuningJobStatus"] == "Completed"
    assert record["TrainingJobStatusCounters"] == {"Completed": 2, "InProgress": 0, "RetryableError": 0,
                                                   "NonRetryableError": 2, "Stopped": 0}
    assert record["ObjectiveStatusCounters"] == {"Succeeded": 1, "Pending": 0, "Failed": 3}
    by = {(s["TunedHyperParameters"]["x"], s["TunedHyperParameters"]["silent"]): s for s in summaries(record)}
    for silent in ("false", "true"):
        failed = by[("0.9", silent)]
        assert failed["TrainingJobStatus"] == "Failed" and failed["ObjectiveStatus"] == "Failed"
        assert "too big" in failed["FailureReason"]
        assert "FinalHyperParameterTuningJobObjectiveMetric" not in failed
    quiet = by[("0.3", "true")]
    assert quiet["TrainingJobStatus"] == "Completed" and quiet["ObjectiveStatus"] == "Failed"
    assert "objective" in quiet["FailureReason"] and "MetricDefinitions" in quiet["FailureReason"]
    assert record["BestTrainingJob"]["TrainingJobName"] == by[("0.3", "false")]["TrainingJobName"]
    from workbench.engine import api

    name = spec["HyperParameterTuningJobName"]
    assert [s["TrainingJobName"] for s in api.tuning_trials(name, sort_by="FinalObjectiveMetricValue")] == \
        [by[("0.3", "false")]["TrainingJobName"]]
    assert sorted(s["TrainingJobName"] for s in api.tuning_trials(name, status="Failed")) == \
        sorted(by[("0.9", silent)]["TrainingJobName"] for silent in ("false", "true"))


def test_a_tuning_job_whose_trials_all_fail_fails_and_says_why(tmp_path):
    spec = tuning_spec(tmp_path, strategy="Grid", max_jobs=None, parallel=2, static={"fail_above": "0.5"},
                       ranges={"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.8", "0.9"]}]})
    _, record = tune(spec, tmp_path)
    assert record["HyperParameterTuningJobStatus"] == "Failed"
    assert record["FailureReason"].startswith("No training job succeeded after 2 attempts")
    assert record["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert "BestTrainingJob" not in record
    from workbench.engine import api
    from workbench.paths import jobs_dir

    name = spec["HyperParameterTuningJobName"]
    api.remove_job(name)  # with its training jobs
    assert sorted(p.name for p in jobs_dir().iterdir() if p.name.startswith(name)) == []


def test_warm_start_seeds_from_a_finished_parent(tmp_path):
    """IdenticalDataAndAlgorithm: the child's record names its parent's results, and its
    OverallBestTrainingJob is the parent's best when the child's own are worse; a Grid
    child does not run again a combination its parent ran."""
    parent = tuning_spec(tmp_path, strategy="Grid", max_jobs=None,
                         ranges={"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.3", "0.9"]}]})
    _, first = tune(parent, tmp_path)
    assert first["HyperParameterTuningJobStatus"] == "Completed"
    child = tuning_spec(tmp_path, strategy="Grid", max_jobs=None,
                        ranges={"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.9", "0.8", "0.7"]}]},
                        WarmStartConfig={"WarmStartType": "IdenticalDataAndAlgorithm",
                                         "ParentHyperParameterTuningJobs": [
                                             {"HyperParameterTuningJobName": parent["HyperParameterTuningJobName"]}]})
    _, second = tune(child, tmp_path)
    assert second["HyperParameterTuningJobStatus"] == "Completed"
    assert sorted(tuned(second, "x")) == ["0.7", "0.8"]
    seeds = second["Workbench"]["WarmStart"]["Seeds"]
    assert sorted(s["TunedHyperParameters"]["x"] for s in seeds) == ["0.3", "0.9"]
    assert second["BestTrainingJob"]["TunedHyperParameters"] == {"x": "0.7"}
    assert second["OverallBestTrainingJob"]["TrainingJobName"] == first["BestTrainingJob"]["TrainingJobName"]
    assert second["WarmStartConfig"]["ParentHyperParameterTuningJobs"][0]["HyperParameterTuningJobName"] == \
        parent["HyperParameterTuningJobName"]

