"""The tuning composer's document: a tuning spec (a CreateHyperParameterTuningJob request
in YAML) being edited. A `SpecDraft` (fields by path, the file, atomic saves that never
overwrite a file changed on disk) whose check is the tuning spec's own
(`spec.tuning.check_tuning_spec`, the same code as `sm-workbench tune` and `validate`).

Where the objective and the ranges live depends on the spec: in the tuning job's config,
or in its single TrainingJobDefinition; the composer edits them where the spec has them.
Pure Python (no Textual) so it is tested on its own.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from workbench.errors import SpecInvalid, WorkbenchError
from workbench.spec import Problem, dump_spec
from workbench.spec.model import request_model
from workbench.spec.paths import parse_path
from workbench.spec.tuning import CONFIG, RANGE_KINDS, TUNING_OPERATION, check_tuning_spec
from workbench.tui.draft import SpecDraft, Validation

OBJECTIVE = f"{CONFIG}.HyperParameterTuningJobObjective"
RANGES = f"{CONFIG}.ParameterRanges"
LIMITS = f"{CONFIG}.ResourceLimits"
DEFINITION = "TrainingJobDefinition"
DEFINITIONS = "TrainingJobDefinitions"
# Members of a definition the form edits itself (not in the definition's YAML box).
FORM_MEMBERS = ("TuningObjective", "HyperParameterRanges")
WHOLE_NUMBERS = (f"{LIMITS}.MaxNumberOfTrainingJobs", f"{LIMITS}.MaxParallelTrainingJobs",
                 f"{LIMITS}.MaxRuntimeInSeconds", f"{CONFIG}.RandomSeed")
STARTER = {
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:accuracy"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {"ContinuousParameterRanges": [
            {"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Logarithmic"}]},
    },
    "TrainingJobDefinition": {
        "AlgorithmSpecification": {"TrainingImage": "", "TrainingInputMode": "File", "MetricDefinitions": [
            {"Name": "validation:accuracy", "Regex": "accuracy=([0-9.]+)"}]},
        "StaticHyperParameters": {},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    },
}


def tuning_options(path: str) -> list[str]:
    """The enum values the CreateHyperParameterTuningJob model allows at `path`."""
    shape = request_model(TUNING_OPERATION).shape_at(parse_path(path))
    return list(shape.enum or []) if shape is not None else []


class TuningDraft(SpecDraft):
    """A tuning spec being edited (see the module's docstring)."""

    def __init__(self, data: dict | None = None, path=None, fingerprint=None) -> None:
        super().__init__(data, path, fingerprint)
        # Where the form's objective and ranges live, fixed when opened (an emptied range
        # list must not move them from the definition to the config)
        self.objective_path = f"{DEFINITION}.TuningObjective" if self.get(f"{DEFINITION}.TuningObjective") \
            is not None else OBJECTIVE
        self.ranges_path = f"{DEFINITION}.HyperParameterRanges" if self.get(
            f"{DEFINITION}.HyperParameterRanges") is not None else RANGES

    @property
    def several(self) -> bool:
        """TrainingJobDefinitions: each definition holds its own objective and ranges (YAML)."""
        return DEFINITIONS in self.data

    @property
    def definition_path(self) -> str:
        return DEFINITIONS if self.several else DEFINITION

    def typed(self, path: str, value: Any) -> Any:
        """A form value in the type the API takes: whole numbers for limits and the seed
        (a value that is not one is kept as typed, and the validator says why)."""
        if path in WHOLE_NUMBERS and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                return value
        return value

    # --- the training job definition as YAML ---

    def definition_yaml(self) -> str:
        """The definition(s) without what the form edits itself."""
        value = copy.deepcopy(self.get(self.definition_path))
        if isinstance(value, dict):
            for member in FORM_MEMBERS:
                value.pop(member, None)
        return dump_spec(value) if isinstance(value, dict) else (
            yaml.safe_dump(value, sort_keys=False, default_flow_style=False) if value else "")

    def set_definition_yaml(self, text: str) -> None:
        """Replace the definition(s) from YAML text, keeping what the form edits; raises
        WorkbenchError (with the line) when the text is not a YAML mapping (a list, for
        TrainingJobDefinitions)."""
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise WorkbenchError(f"not valid YAML{where}: {getattr(err, 'problem', None) or err}") from None
        wanted = list if self.several else dict
        if value is not None and not isinstance(value, wanted):
            raise WorkbenchError(f"must be a YAML {'list of definitions' if self.several else 'mapping'} "
                                 f"(AlgorithmSpecification, RoleArn, ResourceConfig, ...)")
        if isinstance(value, dict):
            old = self.get(self.definition_path)
            for member in FORM_MEMBERS:
                if isinstance(old, dict) and member in old:
                    value[member] = copy.deepcopy(old[member])
        self.set_value(self.definition_path, value)

    # --- the ranges ---

    def set_ranges(self, ranges: dict | None) -> None:
        """The three kinds of ranges from the editor; other members (AutoParameters) stay."""
        old = self.get(self.ranges_path)
        kept = {k: v for k, v in old.items() if k not in RANGE_KINDS} if isinstance(old, dict) else {}
        merged = {**kept, **(ranges or {})}
        self.set_value(self.ranges_path, merged or None)

    # --- checking ---

    def check(self, target: str = "local", data: dict | None = None) -> Validation:
        """Validation by the same code as `sm-workbench tune` (check_tuning_spec)."""
        document = copy.deepcopy(self.data if data is None else data)
        try:
            spec = check_tuning_spec(document, source=str(self.path) if self.path else "", base_dir=self.base_dir,
                                     target=target)
        except SpecInvalid as err:
            return Validation(list(err.problems))
        except WorkbenchError as err:
            return Validation([Problem("", str(err))])
        return Validation(list(spec.warnings), spec)  # type: ignore[arg-type]  # a TuningSpec: run with api.tune
