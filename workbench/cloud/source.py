"""Script mode for SageMaker: the code packed into sourcedir.tar.gz and uploaded, as the
SageMaker Python SDK's `tar_and_upload_dir` does it (each of SourceDir's top-level
entries and each dependency at the archive's root under its own name, links followed,
gzip; uploaded with SSE-KMS, the SDK's default, under the output KMS key when the spec
gives one) to `<S3OutputPath>/<job>/source/sourcedir.tar.gz`."""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.spec.script_mode import REGION_PARAM, code_entries, source_uri
from workbench.spec.settings import WorkbenchSettings
from workbench.storage import parse_location, upload_file


def pack_source(settings: WorkbenchSettings, target: Path) -> Path:
    """The SDK's `create_tar_file`: `tar.add(entry, arcname=basename)` with dereference."""
    try:
        with tarfile.open(target, mode="w:gz", dereference=True) as tar:
            for entry in code_entries(settings):
                tar.add(str(entry), arcname=entry.name)
    except OSError as err:
        raise WorkbenchError(f"Cannot pack the script-mode code ({err.filename or ''}: {err.strerror or err}); "
                             "check Workbench.SourceDir and Dependencies") from None
    return target


def upload_source(spec: dict, region: str) -> str:
    """Pack and upload a script-mode spec's code; sets its sagemaker_region to the region
    the job goes to (in place). Returns the tarball's S3 URI."""
    settings = WorkbenchSettings.from_spec(spec)
    output = spec["OutputDataConfig"]
    uri = source_uri(output["S3OutputPath"], spec["TrainingJobName"])
    extra = {"ServerSideEncryption": "aws:kms"}
    if output.get("KmsKeyId"):
        extra["SSEKMSKeyId"] = output["KmsKeyId"]
    with tempfile.TemporaryDirectory(prefix="smw-source-") as tmp:
        upload_file(pack_source(settings, Path(tmp) / "sourcedir.tar.gz"), parse_location(uri), extra=extra)
    spec.setdefault("HyperParameters", {})[REGION_PARAM] = json.dumps(region)
    return uri
