"""TrainingJobEarlyStoppingType Auto: SageMaker's documented rule, as it words it.

"After each epoch of training, get the value of the objective metric. Compute the running
average of the objective metric for all previous training jobs up to the same epoch, and
then compute the median of all of the running averages. If the value of the objective
metric for the current training job is worse than the median value of running averages
up to the same epoch, SageMaker stops the current training job."
(automatic-model-tuning-early-stopping.md; docs/tuning.md)

Optuna's MedianPruner compares a trial's best value with the median of other trials'
values at the same step: a different rule, so this one is written out. What SageMaker
leaves unsaid (how many earlier jobs it needs) is decided here: MIN_HISTORY jobs that
ended and reported the objective for at least that many epochs.
"""

from __future__ import annotations

import statistics

MIN_HISTORY = 3


def median_of_running_averages(epoch: int, histories: list[list[float]]) -> float | None:
    """The median, over earlier jobs with `epoch` values or more, of each one's average of
    its first `epoch` values; None with fewer than MIN_HISTORY such jobs."""
    averages = [sum(history[:epoch]) / epoch for history in histories if len(history) >= epoch]
    if len(averages) < MIN_HISTORY:
        return None
    return statistics.median(averages)


def falls_behind(value: float, epoch: int, histories: list[list[float]], maximize: bool) -> float | None:
    """The median `value` is worse than (the job is to stop), else None."""
    median = median_of_running_averages(epoch, histories)
    if median is None:
        return None
    worse = value < median if maximize else value > median
    return median if worse else None
