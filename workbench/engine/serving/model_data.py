"""The model in the container's /opt/ml/model, as SageMaker places it before the container
starts: ModelDataUrl "must point to a tar.gz file" that SageMaker "decompresses ... into
/opt/ml/model" (developer guide, your-algorithms-inference-code).

Locally the model can also be a folder, or an S3 prefix of uncompressed files (what a
training job with CompressionType NONE writes). The folder is always a fresh copy in the
job's own folder, so the container never changes the source.

A model.tar.gz comes from outside (a bucket, a colleague): every member is checked
before anything is written. Its name must be a plain relative path (the rule S3 keys
and manifest entries follow, `storage.objects.safe_relpath`); links must stay inside
/opt/ml/model; devices, FIFOs and anything else that is not a file or a folder are left
out (Python's tarfile `data` filter, which also drops set-uid bits). What is left out is
reported, never silently dropped.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from workbench.errors import StorageError, WorkbenchError
from workbench.storage.objects import list_objects, safe_relpath, stat_object
from workbench.storage.transfer import download_objects
from workbench.storage.uri import Location, parse_location

TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass
class PreparedModel:
    source: str
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


def is_archive(value: str) -> bool:
    return value.rstrip("/").lower().endswith(TAR_SUFFIXES)


def prepare_model(source: str, target: Path, workdir: Path) -> PreparedModel:
    """Place the model `source` names (a ModelDataUrl: s3:// or local, an archive or a
    folder; "" for none) in the empty folder `target`, to be mounted at /opt/ml/model."""
    started = time.monotonic()
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o755)  # the container's user may not be us
    prepared = PreparedModel(source)
    if source:
        location = parse_location(source)
        if is_archive(source):
            _unpack_archive(location, target, workdir, prepared)
        else:
            _copy_folder(location, target, prepared)
    prepared.seconds = time.monotonic() - started
    return prepared


def _copy_folder(location: Location, target: Path, prepared: PreparedModel) -> None:
    if not location.is_s3 and location.path is not None and location.path.is_file():
        raise WorkbenchError(f"{location.path} is neither a model.tar.gz nor a folder: SageMaker takes the model as "
                             "a tar.gz archive (tar czf model.tar.gz -C MODEL_DIR .), or give the folder")
    objects = list_objects(location)
    if not objects and location.is_s3:
        raise StorageError(f"Nothing under {location.uri}: give the model.tar.gz a training job wrote, or the "
                           "prefix of an uncompressed model")
    done = download_objects(objects, target, readable=True)
    prepared.files, prepared.bytes = done.files_done, done.bytes_done


def _unpack_archive(location: Location, target: Path, workdir: Path, prepared: PreparedModel) -> None:
    if location.is_s3:
        obj = stat_object(location)
        workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            download_objects([replace(obj, rel="model.tar.gz")], Path(tmp))
            extract_model(Path(tmp) / "model.tar.gz", target, prepared, location.uri)
    else:
        assert location.path is not None
        if not location.path.is_file():
            raise StorageError(f"{location.path} does not exist; give the model.tar.gz a training job wrote")
        extract_model(location.path, target, prepared, str(location.path))


def extract_model(archive: Path, target: Path, prepared: PreparedModel, shown: str = "") -> None:
    """Unpack `archive` into `target` member by member, leaving out (and reporting) any
    member that would write outside it or is not a plain file, folder or inside link."""
    shown = shown or str(archive)
    resolved = os.path.realpath(target)

    def keep(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
        if member.isdir() and not member.name.strip("./"):
            return None  # `tar czf model.tar.gz -C DIR .` starts with "./": the folder itself
        try:
            safe_relpath(member.name, f"the member {member.name!r}")
            kept = tarfile.data_filter(member, dest)
        except (StorageError, tarfile.FilterError) as err:
            prepared.skipped.append(f"{member.name}: {_why(err)}")
            return None
        if kept.isfile():
            prepared.files += 1
            prepared.bytes += kept.size
        return kept

    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(resolved, filter=keep)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise StorageError(f"{shown} is not a readable tar.gz archive ({err}); make it with "
                           "`tar czf model.tar.gz -C MODEL_DIR .`") from None


def _why(err: Exception) -> str:
    if isinstance(err, tarfile.AbsolutePathError):
        return "an absolute path, left out"
    if isinstance(err, tarfile.OutsideDestinationError):
        return "a path leading out of /opt/ml/model, left out"
    if isinstance(err, (tarfile.AbsoluteLinkError, tarfile.LinkOutsideDestinationError)):
        return "a link leading out of /opt/ml/model, left out"
    if isinstance(err, tarfile.SpecialFileError):
        return "not a file, a folder or a link (a device or a FIFO), left out"
    if isinstance(err, StorageError):
        return "a path leading out of /opt/ml/model ('..' or absolute), left out"
    return f"{err}, left out"
