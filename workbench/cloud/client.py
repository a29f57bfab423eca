"""boto3 clients for SageMaker and CloudWatch Logs, with the user's own AWS configuration.

Profile, region, credentials and endpoints (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SAGEMAKER,
AWS_ENDPOINT_URL_CLOUDWATCH_LOGS) are read by boto3 itself, as the AWS CLI does. boto3
is imported inside functions only: other commands' start-up time is benchmarked.
"""

from __future__ import annotations

from workbench import aws
from workbench.aws import reset_clients as reset
from workbench.cloud.errors import aws_error_types, cloud_error

_LABELS = {"sagemaker": "SageMaker", "logs": "CloudWatch Logs", "cloudwatch": "CloudWatch"}


def _client(service: str, region: str | None, quick: bool):
    """`quick` clients try once with short timeouts: background refreshes must not hang a
    listing when the network is down."""
    try:
        return aws.client(service, region=region, attempts=1 if quick else None,
                          connect_timeout=3 if quick else 10, read_timeout=10 if quick else 60)
    except aws_error_types() as err:
        raise cloud_error(err, f"set up the {_LABELS.get(service, service)} client") from None


def sagemaker_client(region: str | None = None, *, quick: bool = False):
    return _client("sagemaker", region, quick)


def logs_client(region: str | None = None, *, quick: bool = False):
    return _client("logs", region, quick)


def cloudwatch_client(region: str | None = None, *, quick: bool = False):
    """CloudWatch metrics (a training job's MetricDefinitions series)."""
    return _client("cloudwatch", region, quick)


def reset_clients() -> None:
    """Forget cached clients (credentials or configuration changed in this process)."""
    reset()


def call(client, method: str, what: str, **params) -> dict:
    """`client.<method>(**params)`, AWS failures raised as one-line CloudErrors."""
    operation = client.meta.method_to_api_mapping.get(method, method)
    try:
        response = getattr(client, method)(**params)
    except aws_error_types() as err:
        raise cloud_error(err, what, operation) from None
    response.pop("ResponseMetadata", None)
    return response


def region_of_arn(arn: str) -> str | None:
    """`arn:aws:sagemaker:us-west-2:123456789012:training-job/x` -> `us-west-2`."""
    parts = (arn or "").split(":")
    if len(parts) > 5 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None
