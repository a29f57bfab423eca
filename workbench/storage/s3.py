"""The shared S3 client and the one-line errors its failures become.

boto3 is imported inside functions only: `sm-workbench run` start-up is measured against
`docker run`, and a job without S3 locations should never pay for importing it.
"""

from __future__ import annotations

from workbench import aws
from workbench.aws import common_reason
from workbench.aws import reset_clients as reset
from workbench.errors import StorageError, server_side_storage_error
from workbench.storage.uri import Location

MAX_POOL_CONNECTIONS = 32


def s3_client():
    """One thread-safe client per configuration, shared by every transfer thread.

    Endpoints come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, which boto3 reads itself.
    """
    try:
        return aws.client("s3", pool=MAX_POOL_CONNECTIONS)
    except boto_errors() as err:
        raise storage_error(err, "set up the S3 client") from None


def require_key(location: Location, folder_ok: bool = False) -> None:
    """StorageError unless an s3 Location names a bucket and an object key."""
    if not location.bucket:
        raise StorageError(f"{location.uri} names no bucket; write s3://BUCKET/KEY")
    if not location.key or (location.key.endswith("/") and not folder_ok):
        raise StorageError(f"{location.uri} names a folder, not an object; give the object's key")


def reset_clients() -> None:
    """Forget cached clients, e.g. after credentials changed in this process."""
    reset()


def boto_errors() -> tuple[type[BaseException], ...]:
    """The exception types boto3, botocore and s3transfer raise for S3 trouble."""
    from boto3.exceptions import Boto3Error  # deferred: boto3 (~0.3 s to import)
    from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore (~0.2 s to import)
    from s3transfer import exceptions as sx  # deferred: boto3's transfer manager

    return (BotoCoreError, ClientError, Boto3Error, sx.RetriesExceededError, sx.S3UploadFailedError,
            sx.S3DownloadFailedError)


def _root_cause(err: BaseException) -> BaseException:
    """The botocore error behind boto3's wrappers (S3UploadFailedError, RetriesExceededError)."""
    from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore (~0.2 s to import)

    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, (BotoCoreError, ClientError)):
            return current
        seen.add(id(current))
        current = getattr(current, "last_exception", None) or current.__cause__ or current.__context__
    return err


_ACCESS_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem"}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
_THROTTLED = {"SlowDown", "503", "Throttling", "ThrottlingException", "RequestLimitExceeded"}


def _reason(err: BaseException) -> str:
    from botocore import exceptions as bx  # deferred: botocore (~0.2 s to import)


    common = common_reason(err, "AWS_ENDPOINT_URL_S3")
    if common:
        return common
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
    cause = _root_cause(err)
    text = " ".join(line.strip() for line in f"Cannot {what}: {_reason(cause)}".splitlines() if line.strip())
    return server_side_storage_error(text) if is_server_side(cause) else StorageError(text)


def is_server_side(err: BaseException) -> bool:
    """S3 answered with a server error (5xx) or could not be reached at all."""
    from botocore import exceptions as bx  # deferred: botocore (~0.2 s to import)

    if isinstance(err, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ConnectionClosedError,
                        bx.ReadTimeoutError)):
        return True
    if isinstance(err, bx.ClientError):
        status = (err.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
        code = str(err.response.get("Error", {}).get("Code", ""))
        return int(status) >= 500 or code in ("InternalError", "ServiceUnavailable", "500", "503")
    return False
