"""boto3 clients for SageMaker and CloudWatch Logs, with the user's own AWS configuration.

Profile, region, credentials and endpoints (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SAGEMAKER,
AWS_ENDPOINT_URL_CLOUDWATCH_LOGS) are read by boto3 itself, as the AWS CLI does. boto3
is imported inside functions only: other commands' start-up time is benchmarked.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from workbench.cloud.errors import aws_error_types, cloud_error

DEFAULT_MAX_ATTEMPTS = 4  # total attempts; AWS_MAX_ATTEMPTS overrides

_LABELS = {"sagemaker": "SageMaker", "logs": "CloudWatch Logs"}
_lock = threading.Lock()
_clients: dict[tuple, Any] = {}

_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_PROFILE",
             "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ACCESS_KEY_ID",
             "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def _max_attempts() -> int:
    try:
        return max(1, int(os.environ.get("AWS_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS))
    except ValueError:
        return DEFAULT_MAX_ATTEMPTS


def _client(service: str, region: str | None, quick: bool):
    """One client per service, region and configuration; `quick` ones try once with short
    timeouts (background refreshes must not hang a listing when the network is down)."""
    settings = tuple(os.environ.get(name) for name in _SETTINGS)
    key = (service, region, quick) + settings
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is not None:
            return client
        import boto3.session
        from botocore.config import Config

        attempts = 1 if quick else _max_attempts()
        config = Config(
            connect_timeout=3 if quick else 10,
            read_timeout=10 if quick else 60,
            retries={"mode": os.environ.get("AWS_RETRY_MODE") or "standard", "total_max_attempts": attempts},
        )
        try:
            # A private session: boto3's default one is not safe to share between threads.
            session = boto3.session.Session()
            # The configured region, and the same region named by a job's ARN, share one client.
            resolved = (service, region or session.region_name, quick) + settings
            client = _clients.get(resolved)
            if client is None:
                client = session.client(service, region_name=region or None, config=config)
                _clients[resolved] = client
        except aws_error_types() as err:
            raise cloud_error(err, f"set up the {_LABELS.get(service, service)} client") from None
        _clients[key] = client
        return client


def sagemaker_client(region: str | None = None, *, quick: bool = False):
    return _client("sagemaker", region, quick)


def logs_client(region: str | None = None, *, quick: bool = False):
    return _client("logs", region, quick)


def reset_clients() -> None:
    """Forget cached clients (credentials or configuration changed in this process)."""
    with _lock:
        _clients.clear()


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
