"""What every AWS call shares: cached boto3 clients, and failures any service can have
(credentials, region, profile, an endpoint that does not answer) as one line.

S3 transfers, the checkpoint sync and SageMaker each want their own timeouts and retries,
but the same configuration rules (profile, region, AWS_ENDPOINT_URL*, boto3 reading them
itself) and the same first words when something is wrong. boto3 is imported inside
functions only: `sm-workbench run` start-up is measured against `docker run`.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import urlparse

DEFAULT_MAX_ATTEMPTS = 4  # total attempts; AWS_MAX_ATTEMPTS overrides

# The environment that decides which client a call needs: a change gets a new one.
SETTINGS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER",
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
            "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ACCESS_KEY_ID", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL_CLOUDWATCH")

_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def max_attempts() -> int:
    try:
        return max(1, int(os.environ.get("AWS_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS))
    except ValueError:
        return DEFAULT_MAX_ATTEMPTS


def client(service: str, *, region: str | None = None, attempts: int | None = None, connect_timeout: float = 10,
           read_timeout: float = 60, pool: int | None = None):
    """One thread-safe client per service, region, settings and environment.

    Raises botocore's own errors (no region, unknown profile); callers turn them into
    their layer's one-line error.
    """
    settings = tuple(os.environ.get(name) for name in SETTINGS)
    key = (service, region, attempts, connect_timeout, read_timeout, pool) + settings
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is not None:
            return found
        import boto3.session  # deferred: boto3 (~0.3 s to import)
        from botocore.config import Config  # deferred: botocore (~0.2 s to import)

        options = {"max_pool_connections": pool} if pool else {}
        config = Config(connect_timeout=connect_timeout, read_timeout=read_timeout, retries={
            "mode": os.environ.get("AWS_RETRY_MODE") or "standard",
            "total_max_attempts": attempts or max_attempts()}, **options)
        # A private session: boto3's default one is not safe to share between threads.
        session = boto3.session.Session()
        # The configured region, and the same region named explicitly, share one client.
        resolved = (service, region or session.region_name) + key[2:]
        found = _clients.get(resolved)
        if found is None:
            found = session.client(service, region_name=region or None, config=config)
            _clients[resolved] = found
        _clients[key] = found
        return found


def reset_clients() -> None:
    """Forget cached clients (credentials or configuration changed in this process)."""
    with _lock:
        _clients.clear()


def error_code(err: BaseException) -> str:
    response = getattr(err, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def one_line(text: object) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def endpoint_of(err: BaseException, *names: str) -> str:
    """The endpoint a failed call went to (scheme and host), for "does not answer"."""
    url = (getattr(err, "kwargs", None) or {}).get("endpoint_url") or next(
        (os.environ[n] for n in (*names, "AWS_ENDPOINT_URL") if os.environ.get(n)), "")
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else (url or "the AWS endpoint")


CREDENTIALS_REJECTED = {
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch",
    "ExpiredToken", "ExpiredTokenException", "InvalidToken", "RequestExpired", "IncompleteSignature",
    "MissingAuthenticationToken", "InvalidAccessKeyId", "TokenRefreshRequired",
}


def common_reason(err: BaseException, *endpoint_names: str) -> str | None:
    """The reason for failures every service shares, or None for a service's own."""
    from botocore import exceptions as bx  # deferred: botocore (~0.2 s to import)

    if isinstance(err, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.CredentialRetrievalError)):
        return ("no AWS credentials found; set AWS_PROFILE (see `aws configure`), "
                "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(err, bx.NoRegionError):
        return "no AWS region set; set AWS_DEFAULT_REGION (e.g. us-east-1) or a region in your AWS profile"
    if isinstance(err, bx.ProfileNotFound):
        return f"{err}; fix AWS_PROFILE or create the profile with `aws configure --profile NAME`"
    if isinstance(err, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError,
                        bx.ReadTimeoutError, bx.ProxyConnectionError, bx.SSLError)):
        return (f"{endpoint_of(err, *endpoint_names)} does not answer ({type(err).__name__}); check the network, "
                "or AWS_ENDPOINT_URL if you set one")
    code = error_code(err)
    if isinstance(err, bx.ClientError) and code in CREDENTIALS_REJECTED:
        return f"the AWS credentials were rejected ({code}); refresh them or check AWS_PROFILE"
    return None
