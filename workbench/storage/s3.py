"""The shared S3 client and the one-line errors its failures become.

boto3 is imported inside functions only: `sm-workbench run` start-up is measured against
`docker run`, and a job without S3 locations should never pay for importing it.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import urlparse

from workbench.errors import StorageError
from workbench.storage.uri import Location

MAX_POOL_CONNECTIONS = 32
DEFAULT_MAX_ATTEMPTS = 4  # total attempts; AWS_MAX_ATTEMPTS overrides

_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def _settings_key() -> tuple:
    """What decides which client we need; a change (tests, a new shell) gets a new one."""
    names = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION",
             "AWS_DEFAULT_REGION", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE")
    return tuple(os.environ.get(name) for name in names)


def _max_attempts() -> int:
    try:
        return max(1, int(os.environ.get("AWS_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS))
    except ValueError:
        return DEFAULT_MAX_ATTEMPTS


def s3_client():
    """One thread-safe client per configuration, shared by every transfer thread.

    Endpoints come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, which boto3 reads itself.
    """
    key = _settings_key()
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is not None:
            return client
        import boto3.session
        from botocore.config import Config

        try:
            config = Config(
                max_pool_connections=MAX_POOL_CONNECTIONS,
                connect_timeout=10,
                read_timeout=60,
                retries={"mode": os.environ.get("AWS_RETRY_MODE") or "standard",
                         "total_max_attempts": _max_attempts()},
            )
            # A private session: boto3's default one is not safe to share between threads.
            client = boto3.session.Session().client("s3", config=config)
        except boto_errors() as err:
            raise storage_error(err, "set up the S3 client") from None
        _clients[key] = client
        return client


def require_key(location: Location, folder_ok: bool = False) -> None:
    """StorageError unless an s3 Location names a bucket and an object key."""
    if not location.bucket:
        raise StorageError(f"{location.uri} names no bucket; write s3://BUCKET/KEY")
    if not location.key or (location.key.endswith("/") and not folder_ok):
        raise StorageError(f"{location.uri} names a folder, not an object; give the object's key")


def reset_clients() -> None:
    """Forget cached clients, e.g. after credentials changed in this process."""
    with _lock:
        _clients.clear()


def boto_errors() -> tuple[type[BaseException], ...]:
    """The exception types boto3, botocore and s3transfer raise for S3 trouble."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError
    from s3transfer import exceptions as sx

    return (BotoCoreError, ClientError, Boto3Error, sx.RetriesExceededError, sx.S3UploadFailedError,
            sx.S3DownloadFailedError)


def _root_cause(err: BaseException) -> BaseException:
    """The botocore error behind boto3's wrappers (S3UploadFailedError, RetriesExceededError)."""
    from botocore.exceptions import BotoCoreError, ClientError

    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, (BotoCoreError, ClientError)):
            return current
        seen.add(id(current))
        current = getattr(current, "last_exception", None) or current.__cause__ or current.__context__
    return err


def _endpoint_of(err: BaseException) -> str:
    url = getattr(err, "kwargs", {}).get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3") \
        or os.environ.get("AWS_ENDPOINT_URL") or ""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else (url or "the S3 endpoint")


_CREDENTIALS_REJECTED = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                         "TokenRefreshRequired", "RequestExpired", "InvalidClientTokenId"}
_ACCESS_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem"}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
_THROTTLED = {"SlowDown", "503", "Throttling", "ThrottlingException", "RequestLimitExceeded"}


def _reason(err: BaseException) -> str:
    from botocore import exceptions as bx

    if isinstance(err, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.CredentialRetrievalError)):
        return ("no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or AWS_PROFILE (see `aws configure`)")
    if isinstance(err, bx.ProfileNotFound):
        return f"{err}; fix AWS_PROFILE or add the profile with `aws configure --profile NAME`"
    if isinstance(err, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError,
                        bx.ReadTimeoutError, bx.ProxyConnectionError, bx.SSLError)):
        return (f"{_endpoint_of(err)} does not answer ({type(err).__name__}); check the network, "
                "or AWS_ENDPOINT_URL if you use a local S3 server")
    if isinstance(err, bx.ParamValidationError):
        report = str(err).replace("Parameter validation failed:", "").strip()
        return f"{report}; check the S3 URI"
    if isinstance(err, bx.ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message") or ""
        if code == "NoSuchBucket":
            bucket = error.get("BucketName")
            named = f"bucket {bucket!r}" if bucket else "the bucket"
            return f"{named} does not exist; create it or correct the S3 URI"
        if code in _NOT_FOUND:
            return "no such object or bucket; check the S3 URI"
        if code in _CREDENTIALS_REJECTED:
            return f"the AWS credentials were rejected ({code}); refresh them or check AWS_PROFILE"
        if code in _ACCESS_DENIED:
            return "access denied; check the credentials' IAM permissions and the bucket policy"
        if code in ("PreconditionFailed", "412"):
            return "the object changed since it was listed or while it was read; run again"
        if code in _THROTTLED:
            return f"S3 is throttling requests ({code}); retry later or use fewer workers"
        if code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"):
            return f"the bucket is in another region ({code}); set AWS_DEFAULT_REGION to the bucket's region"
        if code == "InvalidBucketName":
            return "invalid bucket name; check the S3 URI"
        return f"{code}: {message}".strip(": ") or str(err)
    return str(err) or type(err).__name__


def storage_error(err: BaseException, what: str) -> StorageError:
    """A one-line StorageError for a boto3/botocore failure.

    `what` is the action and its target, e.g. "list s3://bucket/train/"; the message reads
    "Cannot list s3://bucket/train/: <reason>; <what to do>".
    """
    text = f"Cannot {what}: {_reason(_root_cause(err))}"
    return StorageError(" ".join(line.strip() for line in text.splitlines() if line.strip()))
