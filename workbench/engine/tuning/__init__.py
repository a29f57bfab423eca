"""Hyperparameter tuning jobs run on this machine: the same CreateHyperParameterTuningJob
spec SageMaker's automatic model tuning takes (docs/tuning.md).

    records         the DescribeHyperParameterTuningJob-shaped record, its folds, the trials as
                    ListTrainingJobsForHyperParameterTuningJob lists them
    strategies      Random, Bayesian (TPE), Grid and Hyperband: what to try next (Optuna, imported
                    only here), each range's ScalingType, RandomSeed, warm start
    early_stopping  TrainingJobEarlyStoppingType Auto: SageMaker's median rule
    tuner           the tuning job's loop: launches trials as ordinary detached training jobs, reads
                    their objective, stops them early, ends the tuning job; rebuilt from its events
                    when it takes over a dead tuner's job
    kinds           tuning jobs as a kind of job of the history (`api.KINDS`): launch, take over,
                    stop (with their trials), remove (with their trials)
    worker          the detached process that runs a tuner (`python -m workbench.engine.worker tune`)
    cloud           tuning jobs submitted to SageMaker, followed and imported
"""
