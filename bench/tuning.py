"""bench/tuning: how good the Bayesian strategy's proposals are, and what the tuner costs
per trial, each against its baseline in the same run.

1. Quality, no containers: the synthetic function the tuning tests' image prints
   (`objective` from tests/images/objective/objective.py, one definition; its best is
   1.1) over six hyperparameters (x, y, x1, x2 on [0, 1], lr on a log scale, kind among
   a/b/c), maximised for TRIALS trials by the engine's own strategy code (strategies.py's
   make_strategy over a Definition built from a tuning spec; the propose/tell the tuner
   calls), Bayesian against Random, over SEEDS RandomSeeds. Printed: mean and median
   best objective per strategy, and the regret (1.1 - best) of Bayesian as a share of
   Random's (mean regrets, and the median of the per-seed ratios). Goal: Bayesian clearly
   better, a regret ratio of at most 0.5.
2. Overhead, on Docker: a local tuning job of N trials, MaxParallelTrainingJobs 1, on
   smw-test/objective:latest (api.tune, the tuner in this process, each trial a detached
   training job as `sm-workbench tune` runs them), against the same N training specs
   (its trials' own hyperparameters) run one after another through the API as
   `sm-workbench run` runs a job (api.launch(spec).run()). Printed: seconds per trial of
   both, the difference and the ratio. Goal: the tuner adds at most 1 s per trial.

    .venv/bin/python bench/tuning.py [--trials 20] [--seeds 20] [--jobs 6] [--repeat 2] [--only 1|2] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "images" / "objective"))

from objective import objective  # noqa: E402  (one definition of the function: the image's own file)

IMAGE = "smw-test/objective:latest"
BEST = 1.1  # objective's maximum (every target hit, kind b)
METRIC = "objective"


def tuning_spec(strategy: str, seed: int, trials: int, parallel: int = 1) -> dict:
    """A CreateHyperParameterTuningJob body, as a user writes it."""
    return {
        "HyperParameterTuningJobName": f"bench-{strategy.lower()}-{seed}",
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "RandomSeed": seed,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": METRIC},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    *({"Name": name, "MinValue": "0", "MaxValue": "1", "ScalingType": "Linear"}
                      for name in ("x", "y", "x1", "x2")),
                    {"Name": "lr", "MinValue": "0.00001", "MaxValue": "0.1", "ScalingType": "Logarithmic"}],
                "CategoricalParameterRanges": [{"Name": "kind", "Values": ["a", "b", "c"]}],
            },
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                       "MetricDefinitions": [{"Name": METRIC, "Regex": r"objective=([-0-9.eE]+)"}]},
            "StaticHyperParameters": {"epochs": "2", "epoch_seconds": "0.1"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
        "Workbench": {"StopGracePeriodSeconds": 2},
    }


def best_found(strategy: str, seed: int, trials: int) -> float:
    """The best objective after `trials` proposals, told one by one as the tuner tells them."""
    from workbench.engine.tuning.strategies import make_strategy
    from workbench.spec.tuning import definitions

    data = tuning_spec(strategy, seed, trials)
    definition = definitions(data)[0]
    chooser = make_strategy(definition, data["HyperParameterTuningJobConfig"], data["HyperParameterTuningJobName"])
    best = float("-inf")
    for index in range(1, trials + 1):
        key = f"trial-{index:03d}"
        params = chooser.propose(key)
        value = objective(params)  # the image reads the same strings from hyperparameters.json
        chooser.tell(key, value)
        best = max(best, value)
    return best


def part_one(trials: int, seeds: int) -> float:
    print(f"1. quality: the best objective after {trials} trials (the maximum is {BEST}), "
          f"{seeds} RandomSeeds, the engine's strategies without containers")
    found = {strategy: [] for strategy in ("Random", "Bayesian")}
    took = {strategy: 0.0 for strategy in found}
    for seed in range(seeds):
        for strategy in found:
            started = time.perf_counter()
            found[strategy].append(best_found(strategy, seed, trials))
            took[strategy] += time.perf_counter() - started
    regret = {s: [BEST - v for v in values] for s, values in found.items()}
    for strategy, values in found.items():
        print(f"   {strategy:<8}: best mean {statistics.mean(values):.4f}, median {statistics.median(values):.4f}, "
              f"worst {min(values):.4f}; regret mean {statistics.mean(regret[strategy]):.4f}, "
              f"median {statistics.median(regret[strategy]):.4f}  "
              f"({took[strategy] / (seeds * trials) * 1000:.1f} ms a proposal)")
    ratio = statistics.mean(regret["Bayesian"]) / statistics.mean(regret["Random"])
    per_seed = statistics.median(b / r for b, r in zip(regret["Bayesian"], regret["Random"]) if r > 0)
    wins = sum(b > r for b, r in zip(found["Bayesian"], found["Random"]))
    print(f"   regret of Bayesian / Random: {ratio:.2f}x (means), {per_seed:.2f}x (median of the per-seed "
          f"ratios); Bayesian better on {wins} of {seeds} seeds")
    print(f"   goal: a regret ratio of at most 0.5: {'met' if ratio <= 0.5 else 'NOT MET'} ({ratio:.2f})")
    return ratio


def phases(tuning: str, started: float) -> dict[str, list[float]]:
    """Where a trial's time went, from the events of the tuning job and of its trials."""
    from workbench.engine import api
    from workbench.engine import events as ev

    out: dict[str, list[float]] = {"start": [], "create": [], "run": [], "notice": []}
    proposed = {e.name: e.time for e in api.job_events(tuning) if isinstance(e, ev.TrialProposed)}
    following = sorted(proposed.values())[1:] + [None]
    out["start"].append(min(proposed.values()) - started)
    for (name, at), nxt in zip(sorted(proposed.items(), key=lambda item: item[1]), following):
        events = api.job_events(name)
        created = next(e.time for e in events if isinstance(e, ev.JobCreated))
        finished = next(e.time for e in events if isinstance(e, ev.JobFinished))
        out["create"].append(created - at)
        out["run"].append(finished - created)
        if nxt is not None:
            out["notice"].append(nxt - finished)
    return out


def part_two(jobs: int, repeat: int) -> None:
    home = tempfile.mkdtemp(prefix="smw-bench-tuning-")
    os.environ["SM_WORKBENCH_HOME"] = home
    from workbench.engine import api
    from workbench.engine.docker_client import connect
    from workbench.images import TEST_IMAGES, build_all
    from workbench.spec import check_spec, read_spec_file
    from workbench.spec.tuning import check_tuning_spec

    connect()  # a clear error when there is no engine (scripts/ensure-docker starts one)
    build_all([TEST_IMAGES], names=[IMAGE], log=lambda line: None)
    out = Path(home) / "output"
    print(f"2. overhead: {jobs} trials of {IMAGE} (2 epochs of 0.1 s each), one at a time, {repeat} rounds")
    times: dict[str, list[float]] = {"tuning": [], "by hand": [], "detached": []}
    where: dict[str, list[float]] = {}
    for round_ in range(repeat):
        data = tuning_spec("Random", round_, jobs)
        data["HyperParameterTuningJobName"] = f"bench-overhead-{round_}"
        data["TrainingJobDefinition"]["OutputDataConfig"] = {"S3OutputPath": str(out)}
        spec = check_tuning_spec(data, source="bench")
        started = time.perf_counter()
        wall = time.time()
        record = api.tune(spec, detach=False).run()
        times["tuning"].append(time.perf_counter() - started)
        status = record.get("HyperParameterTuningJobStatus")
        trials = api.tuning_trials(spec.name, sort_by="CreationTime")
        if status != "Completed" or len(trials) != jobs:
            raise SystemExit(f"the tuning job ended {status} with {len(trials)} trials: "
                             f"{record.get('FailureReason', '')}")
        for key, values in phases(spec.name, wall).items():
            where.setdefault(key, []).extend(values)
        for label, detach in (("by hand", False), ("detached", True)):
            specs = []
            for index, trial in enumerate(trials):  # the same training specs, under names of their own
                trial_data = copy.deepcopy(read_spec_file(api.job_paths(trial["TrainingJobName"]).spec))
                trial_data["TrainingJobName"] = f"bench-{label.replace(' ', '-')}-{round_}-{index:03d}"
                trial_data.get("Workbench", {}).pop("TuningJob", None)
                specs.append(check_spec(trial_data, source="bench"))
            started = time.perf_counter()
            for trial_spec in specs:
                if detach:  # `run --detach`, then waiting for it: a worker process per job, as the tuner's
                    api.launch(trial_spec, detach=True)
                    done = api.wait_for_job(trial_spec.name, poll=0.1)
                else:  # `sm-workbench run`: the job runs in this process
                    done = api.launch(trial_spec).run()
                if done.get("TrainingJobStatus") != "Completed":
                    raise SystemExit(f"{trial_spec.name} ended {done.get('TrainingJobStatus')}: "
                                     f"{done.get('FailureReason', '')}")
            times[label].append(time.perf_counter() - started)
        print(f"   round {round_ + 1}: tuning job {times['tuning'][-1]:.2f} s; one after another by hand "
              f"{times['by hand'][-1]:.2f} s, each detached and waited for {times['detached'][-1]:.2f} s")
    per = {label: statistics.median(values) / jobs for label, values in times.items()}
    print(f"   per trial (medians): the tuning job {per['tuning']:.2f} s; by hand through the API "
          f"(api.launch(spec).run(), as `run` does) {per['by hand']:.2f} s: {per['tuning'] - per['by hand']:+.2f} s, "
          f"{per['tuning'] / per['by hand']:.2f}x")
    print(f"   second baseline, each detached (`run --detach`, a worker process per job) and waited for: "
          f"{per['detached']:.2f} s: the tuning job {per['tuning'] / per['detached']:.2f}x of it")
    print(f"   where a trial's time went (medians): the tuner's start to its first proposal "
          f"{statistics.median(where['start']):.2f} s (once); proposal to the job created (the worker process "
          f"starting) {statistics.median(where['create']):.2f} s; the job {statistics.median(where['run']):.2f} s; "
          f"its end to the next proposal {statistics.median(where['notice'] or [0]):.2f} s")
    print(f"   goal: the tuner adds at most 1 s a trial to running the jobs by hand: "
          f"{'met' if per['tuning'] - per['by hand'] <= 1.0 else 'NOT MET'} ({per['tuning'] - per['by hand']:+.2f} s)")
    shutil.rmtree(home, ignore_errors=True)  # the jobs' folders and outputs: nothing else was written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per strategy and seed in part 1")
    parser.add_argument("--seeds", type=int, default=20, help="RandomSeeds in part 1")
    parser.add_argument("--jobs", type=int, default=6, help="training jobs per round of part 2")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of part 2")
    parser.add_argument("--only", type=int, choices=(1, 2), help="run one part")
    parser.add_argument("--quick", action="store_true", help="fewer seeds and jobs (a smoke test: 5 seeds, "
                                                             "3 jobs, 1 round)")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.jobs, args.repeat = min(args.seeds, 5), min(args.jobs, 3), 1
    print(f"bench/tuning on {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.only != 2:
        part_one(args.trials, args.seeds)
    if args.only != 1:
        part_two(args.jobs, args.repeat)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
