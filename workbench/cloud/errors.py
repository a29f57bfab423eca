"""AWS failures as one line each: what we tried, why it failed, what to do.

botocore's own messages are long, multi-line and name HTTP details; a user wants to
know whether to fix credentials, permissions, the request or just wait.
"""

from __future__ import annotations

from workbench.aws import common_reason, error_code
from workbench.aws import one_line as _one_line
from workbench.errors import CloudError

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "NotAuthorized", "UnauthorizedOperation", "403"}
_THROTTLED = {"ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
              "RequestLimitExceeded", "SlowDown", "LimitExceededException"}
_UNAVAILABLE = {"ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServerError",
                "InternalError", "500", "502", "503", "504"}

# What each call needs in the caller's IAM policy, for the access-denied hint.
_PERMISSIONS = {
    "CreateTrainingJob": "sagemaker:CreateTrainingJob and iam:PassRole on the job's RoleArn",
    "DescribeTrainingJob": "sagemaker:DescribeTrainingJob",
    "StopTrainingJob": "sagemaker:StopTrainingJob",
    "ListTags": "sagemaker:ListTags",
    "DescribeLogStreams": "logs:DescribeLogStreams on /aws/sagemaker/TrainingJobs",
    "GetLogEvents": "logs:GetLogEvents on /aws/sagemaker/TrainingJobs",
    "GetMetricData": "cloudwatch:GetMetricData",
}


def aws_error_types() -> tuple[type[BaseException], ...]:
    """What boto3 raises for AWS trouble (imported late: boto3 is slow to import)."""
    from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore (~0.2 s to import)

    return (BotoCoreError, ClientError)


def reason(err: BaseException, operation: str = "") -> str:
    """Why an AWS call failed and what to do about it, in one line."""
    from botocore import exceptions as bx  # deferred: botocore (~0.2 s to import)

    common = common_reason(err, "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")
    if common:
        return common
    if isinstance(err, bx.ParamValidationError):
        return f"the request does not fit the API ({_one_line(err)}); check the spec with `sm-workbench validate --target sagemaker`"
    if isinstance(err, bx.ClientError):
        code = error_code(err)
        message = _one_line((err.response.get("Error") or {}).get("Message") or "")
        if code in _ACCESS_DENIED:
            needs = _PERMISSIONS.get(operation, f"the permission for {operation}" if operation else "the permission")
            return f"access denied ({message or code}); the credentials' IAM policy must allow {needs}"
        if code in _THROTTLED:
            return f"AWS is throttling requests ({code}); wait a minute and try again"
        if code in _UNAVAILABLE:
            return f"the service failed ({code}: {message or 'no details'}); try again later"
        if code == "ResourceLimitExceeded":
            return f"{message or code}; request a higher quota in the Service Quotas console, or use another instance type"
        if code == "ResourceInUse":
            return f"{message or code}; training job names are unique per account and region: pick another name (--name)"
        if code == "ValidationException":
            return f"SageMaker refused the request: {message or code}"
        return f"{code}: {message}".strip(": ") or _one_line(err)
    return _one_line(err) or type(err).__name__


def cloud_error(err: BaseException, what: str, operation: str = "") -> CloudError:
    """`Cannot <what>: <reason>` as a CloudError (CLI exit code 2, never a traceback)."""
    return CloudError(_one_line(f"Cannot {what}: {reason(err, operation)}"))
