"""Training jobs on SageMaker: create, describe, stop, and the tags DescribeTrainingJob leaves out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from workbench.cloud.client import call, sagemaker_client
from workbench.cloud.errors import aws_error_types, cloud_error, error_code, reason
from workbench.errors import JobNotFound


@dataclass(frozen=True)
class Submitted:
    """What CreateTrainingJob answered, and where the job lives."""

    name: str
    arn: str
    region: str


def iso_time(moment: datetime) -> str:
    """The job store's time format (UTC, milliseconds, `Z`), so cloud and local records sort together."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_ready(value: Any) -> Any:
    """A boto3 response as plain JSON: datetimes become ISO strings, bytes are dropped."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items() if not isinstance(v, (bytes, bytearray))}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def create_training_job(request: dict, region: str | None = None) -> Submitted:
    client = sagemaker_client(region)
    name = request.get("TrainingJobName", "")
    response = call(client, "create_training_job", f"submit {name} to SageMaker", **request)
    return Submitted(name, response["TrainingJobArn"], client.meta.region_name)


def describe_training_job(name: str, region: str | None = None, *, quick: bool = False) -> dict:
    """DescribeTrainingJob as plain JSON; JobNotFound when SageMaker has no such job."""
    client = sagemaker_client(region, quick=quick)
    try:
        response = client.describe_training_job(TrainingJobName=name)
    except aws_error_types() as err:
        message = str((getattr(err, "response", None) or {}).get("Error", {}).get("Message", ""))
        if error_code(err) in ("ValidationException", "ResourceNotFound") and (
                "not found" in message.lower() or "could not find" in message.lower()):
            raise JobNotFound(
                f"SageMaker has no training job named {name!r} in {client.meta.region_name}; check the name, "
                "and AWS_PROFILE / AWS_DEFAULT_REGION if it runs in another account or region") from None
        raise cloud_error(err, f"describe the SageMaker training job {name}", "DescribeTrainingJob") from None
    response.pop("ResponseMetadata", None)
    return json_ready(response)


def stop_training_job(name: str, region: str | None = None) -> None:
    """SageMaker sends SIGTERM to every instance, then SIGKILL 120 s later."""
    call(sagemaker_client(region), "stop_training_job", f"stop the SageMaker training job {name}", TrainingJobName=name)


def user_tags(arn: str, region: str | None = None) -> tuple[list[dict], str]:
    """The job's tags as CreateTrainingJob takes them (`aws:` tags are AWS's own, never sent),
    and a one-line warning instead when they cannot be read."""
    client = sagemaker_client(region)
    tags: list[dict] = []
    try:
        for page in client.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.extend(page.get("Tags") or [])
    except aws_error_types() as err:
        return [], f"the job's tags were not imported: {reason(err, 'ListTags')}"
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags if not str(t.get("Key", "")).startswith("aws:")], ""
