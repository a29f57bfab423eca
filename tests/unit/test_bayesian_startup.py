"""The Bayesian strategy models its trials from early on, whatever the budget.

Optuna's TPESampler starts with 10 random trials (n_startup_trials). A tuning job of
MaxNumberOfTrainingJobs 10, Strategy Bayesian, RandomSeed 7 therefore proposed exactly
the 10 hyperparameter sets Random proposes with RandomSeed 7 (found by bench/tuning.py,
where Bayesian over 20 trials only modelled its last 10). Now the random start is a
quarter of the budget, 4 to 10 trials.
"""

from __future__ import annotations

from workbench.engine.tuning.strategies import make_strategy, startup_trials
from workbench.spec.tuning import definitions


def spec(strategy: str, trials: int) -> dict:
    return {
        "HyperParameterTuningJobName": "startup",
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy, "RandomSeed": 7,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "objective"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"ContinuousParameterRanges": [
                {"Name": "x", "MinValue": "0", "MaxValue": "1"}, {"Name": "y", "MinValue": "0", "MaxValue": "1"}]},
        },
        "TrainingJobDefinition": {"AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"}},
    }


def proposals(strategy: str, trials: int) -> list[dict[str, str]]:
    data = spec(strategy, trials)
    chooser = make_strategy(definitions(data)[0], data["HyperParameterTuningJobConfig"], "startup")
    out = []
    for index in range(trials):
        params = chooser.propose(str(index))
        chooser.tell(str(index), 1 - (float(params["x"]) - 0.3) ** 2 - (float(params["y"]) - 0.7) ** 2)
        out.append(params)
    return out


def test_a_ten_trial_bayesian_job_is_not_random_search():
    random, bayesian = proposals("Random", 10), proposals("Bayesian", 10)
    assert bayesian[:4] == random[:4]  # the random start: the same seed draws the same points
    assert bayesian[4:] != random[4:]  # then TPE's own proposals


def test_the_random_start_is_a_quarter_of_the_budget_within_4_to_10():
    assert [startup_trials({"ResourceLimits": {"MaxNumberOfTrainingJobs": n}}) for n in (1, 10, 20, 40, 500)] == \
        [4, 4, 5, 10, 10]
    assert startup_trials({}) == 10
