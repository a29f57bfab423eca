"""Bring a SageMaker job home: its DescribeTrainingJob turned back into a spec.

The spec holds the CreateTrainingJob fields the description reports (the API model says
which: members of both the request and the description), the tags from ListTags, and
nothing else. Left out: the job name (SageMaker never reuses one; a new name is made on
submit or run), empty values the service reports for members never set (`KmsKeyId: ""`),
and the defaults the service writes into the description when the request left them
out, so that importing a job and submitting the spec sends the request that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.cloud.client import sagemaker_client
from workbench.cloud.jobs import describe_training_job, user_tags
from workbench.spec import dump_spec
from workbench.spec.unemulated import unhonoured

# The API's documented defaults, which DescribeTrainingJob reports although nobody sent
# them. "*" stands for every item of a list.
SERVICE_DEFAULTS: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("EnableNetworkIsolation",), False),
    (("EnableInterContainerTrafficEncryption",), False),
    (("EnableManagedSpotTraining",), False),
    (("AlgorithmSpecification", "EnableSageMakerMetricsTimeSeries"), False),
    (("OutputDataConfig", "CompressionType"), "GZIP"),
    (("InputDataConfig", "*", "CompressionType"), "None"),
    (("InputDataConfig", "*", "RecordWrapperType"), "None"),
    (("InputDataConfig", "*", "DataSource", "S3DataSource", "S3DataDistributionType"), "FullyReplicated"),
)
# Members the description reports that CreateTrainingJob does not accept (read-only).
READ_ONLY = (("ResourceConfig", "SelectedInstanceType"), ("ResourceConfig", "SelectedInstanceCount"))


@dataclass
class ImportedSpec:
    """An imported job: the spec, and what to tell the user about it."""

    name: str
    data: dict
    description: dict
    warnings: list[str] = field(default_factory=list)
    kind: str = "training"  # --- tuning: "tuning" for a tuning job (cloud/tuning.py)

    def header(self) -> str:
        d = self.description
        if self.kind == "tuning":  # --- tuning: a tuning job brought home ---
            return self._tuning_header()
        lines = [f"Imported from the SageMaker training job {self.name}",
                 f"({d.get('TrainingJobArn', '')}), created {d.get('CreationTime', '?')}",
                 f"Status: {d.get('TrainingJobStatus', '?')} ({d.get('SecondaryStatus', '')})"]
        failure = (d.get("FailureReason") or "").strip().splitlines()
        if failure:
            lines.append(f"FailureReason: {failure[0][:200]}")
        lines.append("Run it here with `sm-workbench run SPEC`; submit it again with `sm-workbench submit SPEC`.")
        members = sorted({u.path for u in unhonoured(self.data)})
        if members:
            lines.append("A local run does not honour: " + ", ".join(members) + " (`sm-workbench validate` says what "
                         "SageMaker does with each)")
        return "".join(f"# {line}\n" for line in lines)

    def text(self) -> str:
        return self.header() + dump_spec(self.data)

    def _tuning_header(self) -> str:
        d = self.description
        counts = d.get("TrainingJobStatusCounters") or {}
        lines = [f"Imported from the SageMaker tuning job {self.name}",
                 f"({d.get('HyperParameterTuningJobArn', '')}), created {d.get('CreationTime', '?')}",
                 f"Status: {d.get('HyperParameterTuningJobStatus', '?')}; training jobs: "
                 + ", ".join(f"{k} {v}" for k, v in counts.items())]
        best = d.get("BestTrainingJob") or {}
        if best:
            metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
            lines.append(f"Best: {best.get('TrainingJobName')} ({metric.get('MetricName')} = {metric.get('Value')})")
        lines.append("Tune it here with `sm-workbench tune SPEC`; submit it again with `sm-workbench submit SPEC`.")
        return "".join(f"# {line}\n" for line in lines)


def request_fields(client=None) -> list[str]:
    """Request members that DescribeTrainingJob reports, and Tags (from ListTags), in the
    request's order."""
    model = (client or sagemaker_client()).meta.service_model
    request = model.operation_model("CreateTrainingJob").input_shape.members
    described = model.operation_model("DescribeTrainingJob").output_shape.members
    return [name for name in request if (name in described or name == "Tags") and name != "TrainingJobName"]


def _prune_empty(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ("", None, {}, [])}
    if isinstance(value, list):
        return [_prune_empty(v) for v in value]
    return value


def _drop_default(data: Any, path: tuple[str, ...], default: Any) -> None:
    if not path or not isinstance(data, (dict, list)):
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in data if isinstance(data, list) else []:
            _drop_default(item, rest, default)
        return
    if not isinstance(data, dict) or head not in data:
        return
    if rest:
        _drop_default(data[head], rest, default)
    elif data[head] == default and type(data[head]) is type(default):
        del data[head]


def spec_from_description(description: dict, fields: list[str], tags: list[dict] | None = None) -> dict:
    """The spec a description stands for (see the module docstring for what is left out)."""
    spec: dict = {}
    for name in fields:
        if name == "Tags":
            if tags:
                spec[name] = tags
        elif name in description:
            spec[name] = description[name]
    spec = _prune_empty(spec)
    for path, default in SERVICE_DEFAULTS:
        _drop_default(spec, path, default)
    for parent, member in READ_ONLY:
        if isinstance(spec.get(parent), dict):
            spec[parent].pop(member, None)
    return spec


def import_training_job(name: str, region: str | None = None) -> ImportedSpec:
    description = describe_training_job(name, region)
    client = sagemaker_client(region)
    tags, warning = user_tags(description["TrainingJobArn"], region)
    spec = spec_from_description(description, request_fields(client), tags)
    warnings = [warning] if warning else []
    warnings += [f"{u.line()} (a local run of this spec)" for u in unhonoured(spec)]
    return ImportedSpec(name, spec, description, warnings)
