"""Job specs: CreateTrainingJob requests in YAML, plus a local-only `Workbench:` section.

The one entry point the CLI, the TUI and the engine share is `load_job_spec`: read,
override, resolve defaults, validate, and either return the spec or raise `SpecInvalid`
with every problem.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import SpecInvalid
from workbench.spec.document import dump_spec, parse_spec_text, parse_yaml_value, read_spec_file, write_spec_file
from workbench.spec.overrides import apply_override, apply_overrides
from workbench.spec.resolve import cloud_request, generate_job_name, resolve
from workbench.spec.settings import WORKBENCH_KEY, WorkbenchSettings
from workbench.spec.validate import TARGETS, Problem, errors, validate

__all__ = [
    "JobSpec", "Problem", "TARGETS", "WORKBENCH_KEY", "WorkbenchSettings", "apply_override",
    "apply_overrides", "check_spec", "cloud_request", "dump_spec", "generate_job_name",
    "load_job_spec", "parse_spec_text", "parse_yaml_value", "read_spec_file", "resolve", "validate",
    "write_spec_file",
]


@dataclass
class JobSpec:
    """A resolved, valid spec ready to run: the whole document, `Workbench:` included."""

    data: dict
    source: Path | None = None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data["TrainingJobName"]

    @property
    def image(self) -> str:
        return self.data["AlgorithmSpecification"]["TrainingImage"]

    @property
    def settings(self) -> WorkbenchSettings:
        return WorkbenchSettings.from_spec(self.data)

    @property
    def request(self) -> dict:
        return cloud_request(self.data)


def check_spec(
    data: dict,
    *,
    source: str = "spec",
    base_dir: Path | str | None = None,
    target: str = "local",
    name: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> JobSpec:
    """Override, resolve and validate a spec document; raises SpecInvalid with every problem."""
    base_dir = Path(base_dir).resolve() if base_dir else None
    document = apply_overrides(copy.deepcopy(data), overrides)
    resolved = resolve(document, target=target, base_dir=base_dir, name=name)
    problems = validate(resolved, target=target, base_dir=base_dir)
    if errors(problems):
        raise SpecInvalid(problems, source)
    return JobSpec(resolved, Path(source) if source else None, [p for p in problems if p.severity != "error"])


def load_job_spec(
    path: Path | str,
    *,
    target: str = "local",
    name: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> JobSpec:
    path = Path(path)
    return check_spec(
        read_spec_file(path), source=str(path), base_dir=path.resolve().parent,
        target=target, name=name, overrides=overrides,
    )
