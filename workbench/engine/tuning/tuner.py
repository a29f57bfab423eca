"""The tuning job's loop: propose, launch, watch, stop early, end.

Each trial is an ordinary training job, launched detached through the same engine as
`run --detach` (`local_jobs.launch`), so it has its own folder, record, logs, metrics
and monitor, and survives the tuner. The tuner reads each running trial's objective
values from its event log (the MetricSamples the metrics extension records) and its
status from its record; it runs at most min(MaxParallelTrainingJobs,
Workbench.MaxLocalParallelTrainingJobs) at once.

Everything the tuner decides is an event of the tuning job before it acts on it (a trial
proposed before its job is created, an early stop before the stop request, the end
before the trials are stopped), so a tuner that takes over a dead one's job rebuilds its
state from the event log and the trials' own folders: a proposed trial whose job exists
is followed, one whose job was never created is launched under its name, and none is
launched twice (a job's folder is created atomically).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

from workbench.engine import control
from workbench.engine import events as ev
from workbench.engine.local_jobs import launch, reconcile
from workbench.engine.metrics.record import FINAL
from workbench.engine.record import apply_event, is_final
from workbench.engine.store import EventTail, JobPaths, JobRecorder, job_paths, load_record, read_events, \
    remove_job_files
from workbench.engine.tuning import early_stopping
from workbench.engine.tuning.records import STATUS
from workbench.engine.tuning.strategies import Strategy, make_strategy
from workbench.errors import WorkbenchError
from workbench.spec import check_spec, read_spec_file
from workbench.spec.tuning import TuningSettings, TuningSpec, grid_size, inferred_max_resource, trial_name, trial_spec

FAILED_ATTEMPTS = 5  # "No training job succeeded after 5 attempts" (SageMaker's FailureReason)
IMPROVEMENT = 0.01  # BestObjectiveNotImproving: an improvement of 1% or more over the best


@dataclass
class Trial:
    name: str
    index: int
    definition: int
    params: dict[str, str]
    launched: bool = False
    status: str = "InProgress"
    secondary: str = ""
    start: str = ""
    end: str = ""
    failure: str = ""
    values: list[float] = field(default_factory=list)
    objective: float | None = None
    objective_status: str = "Pending"
    ended: bool = False
    early_stopped: bool = False
    stop_sent: bool = False
    tail: EventTail | None = None
    shown: tuple | None = None  # what the last TrialUpdated said

    @property
    def paths(self) -> JobPaths:
        return job_paths(self.name)


class Tuner:
    """Runs one tuning job whose folder, spec and record exist (`kinds.launch_tuning`)."""

    def __init__(self, paths: JobPaths, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, bus: ev.EventBus | None = None) -> None:
        self.paths = paths
        self.clock = clock
        self.sleep = sleep
        self.bus = bus or ev.EventBus()
        self.spec = TuningSpec(read_spec_file(paths.spec))
        self.name = self.spec.name
        self.config = self.spec.config
        self.items = self.spec.definitions
        self.settings = TuningSettings.from_spec(self.spec.data)
        limits = self.config.get("ResourceLimits") or {}
        self.strategy = self.config.get("Strategy", "Bayesian")
        self.parallel = max(1, min(int(limits.get("MaxParallelTrainingJobs") or 1), self.settings.local_parallelism))
        grid = sum(grid_size(item) for item in self.items) if self.strategy == "Grid" else None
        self.max_jobs = int(limits.get("MaxNumberOfTrainingJobs") or grid or 1)
        self.max_runtime = limits.get("MaxRuntimeInSeconds")
        self.early = self.config.get("TrainingJobEarlyStoppingType", "Off") == "Auto"
        band = (self.config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        self.min_resource = int(band.get("MinResource") or 1)
        self.max_resource = [int(band.get("MaxResource") or inferred_max_resource(item.static) or 1)
                             for item in self.items] if self.strategy == "Hyperband" else []
        self.criteria = self.config.get("TuningJobCompletionCriteria") or {}
        self.maximize = self.items[0].maximize if self.items else True
        self.strategies: list[Strategy] = [
            make_strategy(item, self.config, f"{self.name}-{item.index}",
                          self.max_resource[item.index] if self.max_resource else None) for item in self.items]
        self.exhausted = [False] * len(self.items)
        self.trials: dict[str, Trial] = {}
        self.ending: ev.TuningEnding | None = None
        self.stopping = False
        self.killing = False
        self.best: float | None = None
        self.not_improving = 0
        self.recorder: JobRecorder | None = None
        self.created = self.clock()

    # --- plumbing ----------------------------------------------------------------------

    def emit(self, event: ev.Event) -> None:
        self.bus.emit(event)

    def _attach(self) -> dict:
        record = load_record(self.paths)
        self.recorder = JobRecorder(self.paths, record)
        self.bus.subscribe(self.recorder)
        from workbench.engine.times import epoch  # light

        self.created = epoch(record.get("CreationTime")) or self.clock()
        return record

    @property
    def running(self) -> list[Trial]:
        return [t for t in self.trials.values() if not t.ended]

    # --- the lifecycle -----------------------------------------------------------------

    def run(self) -> dict:
        """Tune from the start; returns the final record."""
        record = self._attach()
        self.emit(ev.StatusChanged("InProgress", "Starting", f"at most {self.parallel} training jobs at a time"))
        self._warm_start(record)
        return self._loop()

    def adopt(self, previous_owner: dict | None = None) -> dict:
        """Take over a tuning job whose tuner died: its state from its events and its trials' folders."""
        record = self._attach()
        pid = (previous_owner or {}).get("pid", "?")
        self.emit(ev.Notice("warning", f"The sm-workbench process running this tuning job (pid {pid}) ended; a new "
                                       "one took over"))
        self._warm_start(record)
        early: set[str] = set()
        decided: list[ev.Event] = []
        for event in read_events(self.paths):
            if isinstance(event, (ev.TrialProposed, ev.TrialEarlyStopped, ev.TuningEnding)):
                decided.append(event)
            if isinstance(event, ev.TrialProposed):
                definition = next((i.index for i in self.items if i.name and i.name == event.definition), 0)
                self.trials.setdefault(event.name, Trial(event.name, event.index, definition,
                                                         dict(event.hyperparameters)))
            elif isinstance(event, ev.TrialEarlyStopped):
                early.add(event.name)
            elif isinstance(event, ev.TuningEnding):
                self.ending = event
                self.stopping = self.stopping or event.status == "Stopped"
            elif isinstance(event, ev.StatusChanged) and event.secondary == "Stopping":
                self.stopping = True
        if record.get(STATUS) == "Stopping":
            self.stopping = True
        # An event is logged before the record is saved: the dead tuner's last decisions may be
        # in its log only (a trial proposed, then killed: the trial ran, missing from the record).
        # Their folds are idempotent.
        self.recorder.update(lambda saved: [apply_event(saved, event) for event in decided])
        for trial in self.trials.values():
            trial.early_stopped = trial.early_stopped or trial.name in early
            self._resume(trial)
        for index, strategy in enumerate(self.strategies):
            strategy.resumed(sum(t.definition == index for t in self.trials.values()))
        if self.ending or self.stopping:  # decided, but the dead tuner may not have stopped them yet
            for trial in self.running:
                self._stop_trial(trial)
        return self._loop()

    def _resume(self, trial: Trial) -> None:
        """A trial the dead tuner had proposed: follow its job, or launch it if it never was."""
        paths = trial.paths
        strategy = self.strategies[trial.definition]
        if paths.root.exists() and not paths.describe.exists():
            remove_job_files(paths)  # the dead tuner died creating it: no worker ever ran it
        if not paths.describe.exists():
            if self.stopping or self.ending:
                trial.ended = True
                self._record_trial(trial, "Stopped", failure="the tuning job ended before this training job started")
                strategy.restore(trial.name, trial.params, None, finished=True)
                return
            strategy.restore(trial.name, trial.params, None, finished=False)
            self._start(trial)
            return
        trial.launched = True
        self._read_values(trial)
        try:
            record = load_record(paths)
        except WorkbenchError:
            record = {}
        finished = bool(record) and is_final(record)
        pruned = trial.early_stopped and self.strategy == "Hyperband"
        strategy.restore(trial.name, trial.params, self._final_value(trial, record) if finished else None,
                         finished=finished, pruned=pruned, intermediate=list(trial.values))
        trial.stop_sent = trial.early_stopped

    def _warm_start(self, record: dict) -> None:
        """Parent tuning jobs' results, as `kinds.launch_tuning` found them, seed the strategies."""
        for seed in (record.get("Workbench") or {}).get("WarmStart", {}).get("Seeds") or []:
            index = next((i.index for i in self.items if i.name and i.name == seed.get("Definition")), 0)
            if index < len(self.strategies):
                self.strategies[index].seed(dict(seed.get("TunedHyperParameters") or {}), float(seed["Value"]))

    def _loop(self) -> dict:
        poll = float(self.settings.PollSeconds)
        try:
            while True:
                self._take_requests()
                self._follow()
                self._check_runtime()
                if not self.ending and not self.stopping:
                    self._launch_more()
                if self._done():
                    break
                self.sleep(poll)
            return self._finish()
        except Exception as err:  # a bug: the tuning job fails, saying why, and its trials are stopped
            self.emit(ev.Notice("error", f"the tuner failed: {type(err).__name__}: {err}"))
            for trial in self.running:
                self._stop_trial(trial, kill=False)
            self.emit(ev.JobFinished("Failed", "Failed", f"InternalServerError: the tuner failed: "
                                                         f"{type(err).__name__}: {err}"))
            return self._close()

    # --- requests ----------------------------------------------------------------------

    def request_stop(self, kill: bool = False) -> None:
        """Signal-handler safe: the next turn of the loop stops the tuning job."""
        control.request(self.paths, "kill" if kill else "stop")

    def _take_requests(self) -> None:
        for action, _ in control.take_requests(self.paths):
            if action not in ("stop", "kill"):
                continue
            kill = action == "kill"
            if not self.stopping:
                self.stopping = True
                self.emit(ev.StatusChanged("Stopping", "Stopping", "Stopping the tuning job and its running training "
                                                                   "jobs"))
                self._end("Stopped", "Stopped", "StopHyperParameterTuningJob: the tuning job and its running training "
                                                "jobs were stopped")
            if kill and not self.killing:
                self.killing = True
                for trial in self.running:
                    self._stop_trial(trial, kill=True)

    # --- following the trials ----------------------------------------------------------

    def _read_values(self, trial: Trial) -> list[float]:
        """The objective values the trial reported since the last look (in order, every host's)."""
        if trial.tail is None:
            trial.tail = EventTail(trial.paths)
        metric = self.items[trial.definition].metric
        new = []
        for event in trial.tail.read():
            if isinstance(event, ev.MetricSamples):
                new.extend(value for _, name, value in event.points if name == metric)
            elif isinstance(event, ev.MetricSample) and event.metric == metric:
                new.append(event.value)
        trial.values.extend(new)
        return new

    def _follow(self) -> None:
        for trial in list(self.trials.values()):
            if trial.ended or not trial.launched:
                continue
            first = len(trial.values)
            new = self._read_values(trial)
            for offset, value in enumerate(new):
                self._check_early(trial, first + offset + 1, value)
            try:
                record = reconcile(trial.paths)  # a trial whose runner died is taken over as any job is
            except WorkbenchError as err:
                record = {"TrainingJobStatus": "Failed", "FailureReason": f"InternalServerError: {err}",
                          "TrainingJobName": trial.name}
            trial.status = record.get("TrainingJobStatus", trial.status)
            trial.secondary = record.get("SecondaryStatus", "")
            trial.start = record.get("TrainingStartTime", "") or ""
            trial.end = record.get("TrainingEndTime", "") or ""
            trial.failure = record.get("FailureReason", "") or ""
            if is_final(record):
                self._read_values(trial)  # what it printed last
                self._finalize(trial, record)
            else:
                trial.objective = trial.values[-1] if trial.values else None
                self._show(trial)

    def _final_value(self, trial: Trial, record: dict) -> float | None:
        """The objective as the tuning job takes it: the last value the job reported
        (FinalMetricDataList), none for a job that failed."""
        if record.get("TrainingJobStatus") == "Failed":
            return None
        metric = self.items[trial.definition].metric
        for entry in record.get(FINAL) or []:
            if entry.get("MetricName") == metric and isinstance(entry.get("Value"), (int, float)):
                return float(entry["Value"])
        return trial.values[-1] if trial.values else None

    def _finalize(self, trial: Trial, record: dict) -> None:
        trial.ended = True
        value = self._final_value(trial, record)
        trial.objective = value
        trial.objective_status = "Succeeded" if value is not None else "Failed"
        if value is None and not trial.failure and trial.status != "Failed":
            metric = self.items[trial.definition].metric
            trial.failure = (f"The training job reported no value of the objective metric {metric!r}; check its "
                             f"MetricDefinitions regex against its logs (`sm-workbench metrics {trial.name}`)")
        self._show(trial)
        if trial.tail is not None:
            trial.tail.close()
            trial.tail = None
        self.strategies[trial.definition].tell(trial.name, value,
                                               pruned=trial.early_stopped and self.strategy == "Hyperband")
        self._after_result(trial)

    def _show(self, trial: Trial) -> None:
        shown = (trial.status, trial.secondary, trial.start, trial.end, trial.failure, trial.objective,
                 trial.objective_status, len(trial.values))
        if shown != trial.shown:
            trial.shown = shown
            self.emit(ev.TrialUpdated(trial.name, trial.status, trial.secondary, trial.start, trial.end,
                                      trial.failure[:1024], trial.objective, trial.objective_status, len(trial.values)))

    def _record_trial(self, trial: Trial, status: str, failure: str) -> None:
        trial.status, trial.failure, trial.objective_status = status, failure, "Failed"
        self._show(trial)

    # --- early stopping ------------------------------------------------------------------

    def _check_early(self, trial: Trial, step: int, value: float) -> None:
        if trial.stop_sent or self.stopping:
            return
        if self.strategy == "Hyperband":
            limit = self.max_resource[trial.definition]
            prune = self.strategies[trial.definition].report(trial.name, step, value)
            # "Once a job reaches the MaxResource value, it is stopped"
            if step >= limit:
                if self._runs_past(trial, limit):
                    self._stop_trial(trial)
            elif prune and step >= self.min_resource:
                self._early_stop(trial, "Hyperband", step, value, None,
                                 f"Hyperband stopped it at epoch {step} (objective {value:g})")
            return
        if not self.early:
            return
        histories = [t.values for t in self.trials.values()
                     if t is not trial and t.ended and t.definition == trial.definition and t.values]
        median = early_stopping.falls_behind(value, step, histories, self.items[trial.definition].maximize)
        if median is not None:
            self._early_stop(trial, "Auto", step, value, median,
                             f"its objective {value:g} at epoch {step} is worse than the median {median:g} of earlier "
                             "training jobs' running averages")

    def _runs_past(self, trial: Trial, limit: int) -> bool:
        """Whether the trial would go on past MaxResource by itself. One whose own epochs
        (static or tuned) end there is left to end: stopped at its last epoch, it lost the
        model it was about to save and ended Stopped instead of Completed."""
        own = inferred_max_resource({**self.items[trial.definition].static, **trial.params})
        return own is None or own > limit

    def _early_stop(self, trial: Trial, rule: str, step: int, value: float, median: float | None, message: str) -> None:
        trial.early_stopped = True
        self.emit(ev.TrialEarlyStopped(trial.name, rule, step, value, median, message))
        self._stop_trial(trial)

    def _stop_trial(self, trial: Trial, kill: bool = False) -> None:
        """The normal stop (SIGTERM, the trial's grace, SIGKILL), from its control folder."""
        if not trial.launched or trial.ended or (trial.stop_sent and not kill):
            return
        trial.stop_sent = True
        try:
            record = reconcile(trial.paths)
            if not is_final(record):
                control.request(trial.paths, "kill" if kill else "stop")
        except WorkbenchError:
            pass

    # --- completion -----------------------------------------------------------------------

    def _after_result(self, trial: Trial) -> None:
        if self.ending or self.stopping:
            return
        value = trial.objective if trial.objective_status == "Succeeded" else None
        maximize = self.items[trial.definition].maximize
        if value is not None:
            if self.best is None:
                improved = True
            else:
                gain = value - self.best if maximize else self.best - value
                improved = gain > 0 and gain >= IMPROVEMENT * abs(self.best)
            self.not_improving = 0 if improved else self.not_improving + 1
            if self.best is None or (value > self.best if maximize else value < self.best):
                self.best = value
        target = self.criteria.get("TargetObjectiveMetricValue")
        if value is not None and isinstance(target, (int, float)) and (value >= target if maximize else value <= target):
            self._end("Completed", "TargetObjectiveMetricValue",
                      f"{trial.name} reached the target objective value {target:g} ({value:g})")
            return
        patience = (self.criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
        if isinstance(patience, int) and self.not_improving >= patience:
            self._end("Completed", "BestObjectiveNotImproving",
                      f"{self.not_improving} training jobs in a row did not improve the best objective by 1% or more")
            return
        ended = [t for t in self.trials.values() if t.ended]
        if len(ended) >= FAILED_ATTEMPTS and not any(t.objective_status == "Succeeded" for t in ended):
            self._end("Failed", "NoTrainingJobSucceeded",
                      f"No training job succeeded after {len(ended)} attempts. Please take a look at the training job "
                      "failures to get more details.")

    def _check_runtime(self) -> None:
        if self.ending or self.stopping or not self.max_runtime:
            return
        if self.clock() - self.created >= float(self.max_runtime):
            self._end("Stopped", "MaxRuntimeInSeconds", f"The tuning job reached ResourceLimits.MaxRuntimeInSeconds "
                                                        f"({self.max_runtime} s); its running training jobs were stopped")

    def _end(self, status: str, reason: str, message: str) -> None:
        if self.ending:
            return
        details = self.not_improving if self.criteria.get("BestObjectiveNotImproving") else None
        self.ending = ev.TuningEnding(status, reason, message, details)
        self.emit(self.ending)
        for trial in self.running:
            self._stop_trial(trial)

    # --- launching -------------------------------------------------------------------------

    def _launch_more(self) -> None:
        while len(self.running) < self.parallel and len(self.trials) < self.max_jobs:
            if all(self.exhausted):
                return
            index = len(self.trials) + 1
            definition = (index - 1) % len(self.items)
            while self.exhausted[definition]:
                definition = (definition + 1) % len(self.items)
            name = trial_name(self.name, index, os.urandom(4).hex())
            params = self.strategies[definition].propose(name)
            if params is None:
                self.exhausted[definition] = True
                continue
            trial = Trial(name, index, definition, params)
            self.trials[name] = trial
            self.emit(ev.TrialProposed(name, index, params, self.items[definition].name))
            self._start(trial)

    def _start(self, trial: Trial) -> None:
        """Create and start the trial's training job, detached; a job that cannot start fails the trial."""
        item = self.items[trial.definition]
        data = trial_spec(item.data, trial.name, trial.params, objective=item.metric,
                          settings=self.spec.training_settings, tuning_job=self.name, tags=self.spec.data.get("Tags"))
        try:
            spec = check_spec(data, source=str(self.paths.spec))
            launch(spec, detach=True)
        except WorkbenchError as err:
            trial.ended = True
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            self._record_trial(trial, "Failed", f"ClientError: the training job could not start: {first}")
            self.strategies[trial.definition].tell(trial.name, None)
            self._after_result(trial)
            return
        trial.launched = True
        self._show(trial)

    # --- the end ------------------------------------------------------------------------------

    def _done(self) -> bool:
        if self.running:
            return False
        if self.ending or self.stopping:
            return True
        return len(self.trials) >= self.max_jobs or all(self.exhausted)

    def _finish(self) -> dict:
        ended = list(self.trials.values())
        succeeded = [t for t in ended if t.objective_status == "Succeeded"]
        if self.ending is not None:
            status, reason = self.ending.status, (self.ending.message if self.ending.status == "Failed" else "")
        elif succeeded:
            status, reason = "Completed", ""
        elif any(t.status == "Failed" for t in ended) or not ended:
            status, reason = "Failed", (f"No training job succeeded after {len(ended)} attempts. Please take a look "
                                        "at the training job failures to get more details.")
        else:
            metric = self.items[0].metric if self.items else "?"
            status, reason = "Failed", f"No training job reported the objective metric {metric!r}"
        if self.ending is None:
            self.emit(ev.TuningEnding(status, "MaxNumberOfTrainingJobs" if status == "Completed" else "Failed",
                                      f"{len(ended)} training jobs ran" if status == "Completed" else reason,
                                      self.not_improving if self.criteria.get("BestObjectiveNotImproving") else None))
        self.emit(ev.JobFinished(status, status, reason))
        return self._close()

    def _close(self) -> dict:
        for trial in self.trials.values():
            if trial.tail is not None:
                trial.tail.close()
        record = self.recorder.record if self.recorder else load_record(self.paths)
        if self.recorder is not None:
            self.recorder.close()
        return record

