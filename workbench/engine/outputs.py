"""After the containers exit: every host's /opt/ml/model merged into model.tar.gz, and
/opt/ml/output/data into output.tar.gz, at <S3OutputPath>/<job>/output/; FailureReason
from /opt/ml/output/failure."""

from __future__ import annotations

import os
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.storage.uri import Location, parse_location

FAILURE_LIMIT = 1024


@dataclass(frozen=True)
class UploadResult:
    model_artifacts: str
    output_artifacts: str
    files: int
    bytes: int
    seconds: float
    collisions: tuple[tuple[str, str, str], ...]  # (relative path, kept host, dropped host)


def merged_files(roots: list[tuple[str, Path]]) -> tuple[dict[str, tuple[str, Path]], list[tuple[str, str, str]]]:
    """rel -> (host, path) over several hosts' folders; the first host wins a clash."""
    merged: dict[str, tuple[str, Path]] = {}
    collisions = []
    for host, root in roots:
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                rel = path.relative_to(root).as_posix()
                if rel in merged:
                    collisions.append((rel, merged[rel][0], host))
                    continue
                merged[rel] = (host, path)
    return merged, collisions


def _tar(files: dict[str, tuple[str, Path]], target: Path) -> int:
    size = 0
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        for rel, (_, path) in files.items():
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isfile():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
                size += info.size
            elif info.issym():
                tar.addfile(info)
    return size


def pack_and_upload(job_name: str, output_path: str, compression: str,
                    host_roots: list[tuple[str, Path]], workdir: Path) -> UploadResult:
    """Build and place the job's artifacts; returns where they went."""
    from workbench.storage.transfer import upload_file

    started = time.monotonic()
    dest = parse_location(output_path).join(job_name, "output")
    model, model_clashes = merged_files([(h, root / "model") for h, root in host_roots])
    data, data_clashes = merged_files([(h, root / "output" / "data") for h, root in host_roots])
    files = len(model) + len(data)
    total = 0
    if compression == "NONE":
        for prefix, merged in (("model", model), ("data", data)):
            for rel, (_, path) in merged.items():
                upload_file(path, dest.join(prefix, rel))
                total += path.stat().st_size
        model_uri, output_uri = dest.join("model").uri + "/", dest.join("data").uri + "/"
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            for name, merged in (("model.tar.gz", model), ("output.tar.gz", data)):
                archive = Path(tmp) / name
                total += _tar(merged, archive)
                upload_file(archive, dest.join(name))
        model_uri, output_uri = dest.join("model.tar.gz").uri, dest.join("output.tar.gz").uri
    clashes = tuple((rel, kept, dropped) for rel, kept, dropped in model_clashes + data_clashes)
    return UploadResult(model_uri, output_uri, files, total, time.monotonic() - started, clashes)


def failure_reason(opt_ml: Path) -> str | None:
    """The first 1024 characters of /opt/ml/output/failure, when the job wrote one."""
    path = opt_ml / "output" / "failure"
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(FAILURE_LIMIT)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None
    return text if text.strip() else None


def output_location(spec: dict) -> Location:
    return parse_location(spec["OutputDataConfig"]["S3OutputPath"])
