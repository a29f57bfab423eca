"""What a tuning job tries next: its strategy, over one definition's ranges.

- Random: Optuna's RandomSampler, seeded with RandomSeed.
- Bayesian: Optuna's TPESampler (SageMaker's own is proprietary; Optuna's Gaussian-process
  sampler needs torch), seeded; with parallel trials its "constant liar" keeps proposals
  apart while earlier ones still run. Its random start is a quarter of
  MaxNumberOfTrainingJobs, 4 to 10 trials (`startup_trials`): Optuna's fixed 10 made a
  job of 10 trials or fewer pure Random (bench/tuning.py measures the difference).
- Hyperband: TPE with Optuna's HyperbandPruner (MinResource, MaxResource), fed each
  trial's objective values as they come (epoch = how many it reported).
- Grid: every combination of the categorical values, in the order the spec lists them
  (our own: Optuna's GridSampler misbehaves under ask-and-tell).

Each range's ScalingType is honoured: Logarithmic samples log-uniformly; ReverseLogarithmic
samples 1 - x log-uniformly (values close to 1); Auto is Linear, as SageMaker starts out.
Proposed values are strings, as training jobs get them. Optuna is imported here only
(about 0.8 s): never by the commands that do not tune.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

from workbench.spec.tuning import Definition


@dataclass(frozen=True)
class Dimension:
    """One tuned hyperparameter: its Optuna distribution, and how values go to and from strings."""

    name: str
    distribution: Any
    encode: Callable[[Any], str]
    decode: Callable[[str], Any]


def _float_text(value: float) -> str:
    return repr(float(value))


def dimensions(definition: Definition) -> list[Dimension]:
    # deferred: Optuna (~0.8 s), only the tuner needs it
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = []
    for kind, _, entry in definition.range_items():
        name = str(entry["Name"])
        scaling = entry.get("ScalingType", "Auto")
        if kind == "CategoricalParameterRanges":
            values = [str(v) for v in entry["Values"]]
            out.append(Dimension(name, CategoricalDistribution(values), str, str))
        elif kind == "IntegerParameterRanges":
            low, high = int(str(entry["MinValue"]).strip()), int(str(entry["MaxValue"]).strip())
            out.append(Dimension(name, IntDistribution(low, high, log=scaling == "Logarithmic"), str,
                                 lambda text: int(float(text))))
        else:
            low, high = float(entry["MinValue"]), float(entry["MaxValue"])
            if scaling == "ReverseLogarithmic":
                out.append(Dimension(name, FloatDistribution(1.0 - high, 1.0 - low, log=True),
                                     lambda u, lo=low, hi=high: _float_text(min(max(1.0 - u, lo), hi)),
                                     lambda text: 1.0 - float(text)))
            else:
                out.append(Dimension(name, FloatDistribution(low, high, log=scaling == "Logarithmic"), _float_text,
                                     float))
    return out


class Strategy:
    """Proposals for one definition: `propose` (None when there is nothing left to try),
    `report` an intermediate value (True: stop the trial), `tell` the outcome."""

    def propose(self, key: str) -> dict[str, str] | None:
        raise NotImplementedError

    def report(self, key: str, step: int, value: float) -> bool:
        return False

    def tell(self, key: str, value: float | None, pruned: bool = False) -> None:
        pass

    def restore(self, key: str, params: dict[str, str], value: float | None, *, finished: bool, pruned: bool = False,
                intermediate: list[float] = ()) -> None:
        """A trial a tuner that died had proposed (taking over its job)."""

    def seed(self, params: dict[str, str], value: float) -> bool:
        """A parent tuning job's result (warm start); False when it does not fit the ranges."""
        return False

    def resumed(self, count: int) -> None:
        """The `count` trials of a dead tuner are restored: proposals go on from there."""


class GridStrategy(Strategy):
    """Every combination of the categorical values, each once, in the spec's order."""

    def __init__(self, definition: Definition) -> None:
        names, choices = [], []
        for kind, _, entry in definition.range_items():
            if kind == "CategoricalParameterRanges":
                names.append(str(entry["Name"]))
                choices.append([str(v) for v in entry["Values"]])
        self.names = names
        self.remaining = [dict(zip(names, combo)) for combo in itertools.product(*choices)] if names else [{}]
        self.tried: list[dict[str, str]] = []

    def propose(self, key: str) -> dict[str, str] | None:
        while self.remaining:
            params = self.remaining.pop(0)
            if params not in self.tried:
                self.tried.append(params)
                return params
        return None

    def restore(self, key: str, params: dict[str, str], value: float | None, *, finished: bool, pruned: bool = False,
                intermediate: list[float] = ()) -> None:
        self.tried.append(dict(params))
        if params in self.remaining:
            self.remaining.remove(params)

    def seed(self, params: dict[str, str], value: float) -> bool:
        if params in self.remaining:  # a parent already ran this combination
            self.remaining.remove(params)
            self.tried.append(dict(params))
            return True
        return False


class OptunaStrategy(Strategy):
    """Ask-and-tell on an in-memory Optuna study, from the tuner's one thread."""

    def __init__(self, definition: Definition, strategy: str, seed: int | None, study_name: str,
                 min_resource: int = 1, max_resource: int | None = None, startup: int = 10) -> None:
        import optuna  # deferred: Optuna (~0.8 s)

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.dimensions = {d.name: d for d in dimensions(definition)}
        self.distributions = {name: d.distribution for name, d in self.dimensions.items()}
        self.kind, self.random_seed, self.startup = strategy, seed, startup
        sampler = self._sampler(seed)
        pruner = None
        if strategy == "Hyperband":
            pruner = optuna.pruners.HyperbandPruner(min_resource=max(min_resource, 1),
                                                    max_resource=max_resource or "auto", reduction_factor=3)
        self.hyperband = pruner is not None
        self.study = optuna.create_study(direction="maximize" if definition.maximize else "minimize",
                                         sampler=sampler, pruner=pruner or optuna.pruners.NopPruner(),
                                         study_name=study_name)
        self.live: dict[str, Any] = {}

    def _sampler(self, seed: int | None) -> Any:
        if self.kind == "Random":
            return self.optuna.samplers.RandomSampler(seed=seed)
        return self.optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup)

    def resumed(self, count: int) -> None:
        """A sampler seeded as the dead tuner's started over: it proposed again, in the same
        order, what the dead one had (the restored trials come from `add_trial`, not from
        it). Seeded past them instead, as reproducible as a takeover allows."""
        if count and self.random_seed is not None:
            self.study.sampler = self._sampler(int(self.random_seed) + count)

    def _encode(self, params: dict[str, Any]) -> dict[str, str]:
        return {name: self.dimensions[name].encode(value) for name, value in params.items()}

    def _decode(self, params: dict[str, str]) -> dict[str, Any] | None:
        try:
            decoded = {name: self.dimensions[name].decode(params[name]) for name in self.dimensions}
        except (KeyError, ValueError, TypeError):
            return None
        for name, value in decoded.items():
            distribution = self.dimensions[name].distribution
            if not distribution._contains(distribution.to_internal_repr(value)):
                return None
        return decoded

    def propose(self, key: str) -> dict[str, str] | None:
        trial = self.study.ask(self.distributions)
        self.live[key] = trial
        return self._encode(trial.params)

    def report(self, key: str, step: int, value: float) -> bool:
        trial = self.live.get(key)
        if trial is None or not math.isfinite(value):
            return False
        trial.report(value, step)
        return self.hyperband and trial.should_prune()

    def tell(self, key: str, value: float | None, pruned: bool = False) -> None:
        trial = self.live.pop(key, None)
        if trial is None:
            return
        state = self.optuna.trial.TrialState
        if pruned:
            self.study.tell(trial, state=state.PRUNED)
        elif value is None or not math.isfinite(value):
            self.study.tell(trial, state=state.FAIL)
        else:
            self.study.tell(trial, value)

    def restore(self, key: str, params: dict[str, str], value: float | None, *, finished: bool, pruned: bool = False,
                intermediate: list[float] = ()) -> None:
        decoded = self._decode(params)
        if decoded is None:
            return
        if not finished:
            self.study.enqueue_trial(decoded)
            trial = self.study.ask(self.distributions)
            self.live[key] = trial
            for step, past in enumerate(intermediate, start=1):
                trial.report(past, step)
            return
        state = self.optuna.trial.TrialState
        steps = {step: past for step, past in enumerate(intermediate, start=1) if math.isfinite(past)}
        if pruned:
            frozen = self.optuna.trial.create_trial(state=state.PRUNED, params=decoded,
                                                    distributions=self.distributions, intermediate_values=steps)
        elif value is None:
            frozen = self.optuna.trial.create_trial(state=state.FAIL, params=decoded, distributions=self.distributions)
        else:
            frozen = self.optuna.trial.create_trial(value=value, params=decoded, distributions=self.distributions,
                                                    intermediate_values=steps)
        self.study.add_trial(frozen)

    def seed(self, params: dict[str, str], value: float) -> bool:
        decoded = self._decode(params)
        if decoded is None or not math.isfinite(value):
            return False  # TransferLearning may have changed the ranges: a parent's value outside them is left out
        self.study.add_trial(self.optuna.trial.create_trial(value=value, params=decoded,
                                                            distributions=self.distributions))
        return True


def startup_trials(config: dict) -> int:
    """How many random trials TPE starts with: a quarter of the budget, 4 to 10 (with
    Optuna's default 10, a 20-trial job models only its last 10; a 10-trial job none)."""
    most = (config.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs")
    return max(4, min(10, int(most) // 4)) if isinstance(most, int) and most > 0 else 10


def make_strategy(definition: Definition, config: dict, study_name: str, max_resource: int | None = None) -> Strategy:
    """The strategy the tuning config asks for, over this definition's ranges."""
    strategy = config.get("Strategy", "Bayesian")
    if strategy == "Grid":
        return GridStrategy(definition)
    band = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
    return OptunaStrategy(definition, strategy, config.get("RandomSeed"), study_name,
                          min_resource=int(band.get("MinResource") or 1), max_resource=max_resource,
                          startup=startup_trials(config))
