"""Hyperparameter tuning jobs on SageMaker: create, describe, list their training jobs,
stop, and bring one home as a spec (DescribeHyperParameterTuningJob turned back into the
CreateHyperParameterTuningJob request)."""

from __future__ import annotations

import copy

from workbench.cloud.client import call, sagemaker_client
from workbench.cloud.errors import aws_error_types, cloud_error, error_code
from workbench.cloud.importer import ImportedSpec, _prune_empty
from workbench.cloud.jobs import Submitted, json_ready, user_tags
from workbench.errors import JobNotFound

OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
# What DescribeHyperParameterTuningJob reports of the CreateHyperParameterTuningJob request.
REQUEST_FIELDS = ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions",
                  "WarmStartConfig", "Autotune")


def create_tuning_job(request: dict, region: str | None = None) -> Submitted:
    client = sagemaker_client(region)
    name = request.get("HyperParameterTuningJobName", "")
    response = call(client, "create_hyper_parameter_tuning_job", f"submit the tuning job {name} to SageMaker",
                    **request)
    return Submitted(name, response["HyperParameterTuningJobArn"], client.meta.region_name)


def describe_tuning_job(name: str, region: str | None = None, *, quick: bool = False) -> dict:
    """DescribeHyperParameterTuningJob as plain JSON; JobNotFound when SageMaker has none."""
    client = sagemaker_client(region, quick=quick)
    try:
        response = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    except aws_error_types() as err:
        message = str((getattr(err, "response", None) or {}).get("Error", {}).get("Message", "")).lower()
        # SageMaker answers ResourceNotFound, "Amazon SageMaker can't find a tuning job called X. Type another name."
        if error_code(err) == "ResourceNotFound" or (error_code(err) == "ValidationException" and any(
                words in message for words in ("not found", "could not find", "can't find", "does not exist"))):
            raise JobNotFound(f"SageMaker has no tuning job named {name!r} in {client.meta.region_name}; check the "
                              "name, and AWS_PROFILE / AWS_DEFAULT_REGION") from None
        raise cloud_error(err, f"describe the SageMaker tuning job {name}", "DescribeHyperParameterTuningJob") from None
    response.pop("ResponseMetadata", None)
    return json_ready(response)


def list_tuning_trials(name: str, region: str | None = None, *, quick: bool = False) -> list[dict]:
    """Every training job of the tuning job (ListTrainingJobsForHyperParameterTuningJob, all pages)."""
    client = sagemaker_client(region, quick=quick)
    summaries: list[dict] = []
    token = None
    while True:
        params = {"HyperParameterTuningJobName": name, "MaxResults": 100, **({"NextToken": token} if token else {})}
        page = call(client, "list_training_jobs_for_hyper_parameter_tuning_job",
                    f"list the training jobs of the tuning job {name}", **params)
        summaries.extend(json_ready(page.get("TrainingJobSummaries") or []))
        token = page.get("NextToken")
        if not token:
            return summaries


def stop_tuning_job(name: str, region: str | None = None) -> None:
    """SageMaker stops the tuning job and every training job it runs."""
    call(sagemaker_client(region), "stop_hyper_parameter_tuning_job", f"stop the SageMaker tuning job {name}",
         HyperParameterTuningJobName=name)


def spec_from_tuning_description(description: dict, tags: list[dict] | None = None) -> dict:
    """The CreateHyperParameterTuningJob request a description stands for: its request
    members (without `_tuning_objective_metric`, which SageMaker adds to the static
    hyperparameters, as the SDK drops it when it attaches to a tuning job), and the tags."""
    spec: dict = {}
    for name in REQUEST_FIELDS:
        if name in description:
            spec[name] = copy.deepcopy(description[name])
    for item in [spec.get("TrainingJobDefinition"), *(spec.get("TrainingJobDefinitions") or [])]:
        if isinstance(item, dict) and isinstance(item.get("StaticHyperParameters"), dict):
            item["StaticHyperParameters"].pop(OBJECTIVE_HYPERPARAMETER, None)
    if tags:
        spec["Tags"] = tags
    return _prune_empty(spec)


def import_tuning_job(name: str, region: str | None = None) -> ImportedSpec:
    description = describe_tuning_job(name, region)
    tags, warning = user_tags(description["HyperParameterTuningJobArn"], region)
    spec = spec_from_tuning_description(description, tags)
    return ImportedSpec(name, spec, description, [warning] if warning else [], kind="tuning")
