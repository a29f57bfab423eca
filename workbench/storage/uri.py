"""Locations: `s3://bucket/key`, `file:///abs/path`, or a plain local path.

Local paths stand in for S3 URIs in local runs; relative paths are relative to the
spec file's folder, so a spec and its data can move together.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass(frozen=True)
class Location:
    scheme: str  # "s3" or "file"
    bucket: str = ""
    key: str = ""  # S3 key or raw prefix
    path: Path | None = None  # absolute local path

    @property
    def is_s3(self) -> bool:
        return self.scheme == "s3"

    @property
    def uri(self) -> str:
        if self.is_s3:
            return f"s3://{self.bucket}/{self.key}"
        return self.path.as_uri() if self.path else "file:///"

    def join(self, *parts: str) -> "Location":
        """A child location (`<output>/<job>/output`), like S3 keys joined with '/'."""
        if self.is_s3:
            key = self.key
            for part in parts:
                key = (key.rstrip("/") + "/" if key else "") + part.strip("/")
            return Location("s3", self.bucket, key)
        assert self.path is not None
        return Location("file", path=self.path.joinpath(*parts))

    def __str__(self) -> str:
        return self.uri


def is_s3_uri(value: str) -> bool:
    return isinstance(value, str) and value.startswith("s3://")


def is_local(value: str) -> bool:
    """True for file:// URIs and plain paths (not s3:// or https://)."""
    return isinstance(value, str) and (value.startswith("file://") or "://" not in value)


def local_path(value: str, base_dir: Path | str | None = None) -> Path:
    """The absolute path a file:// URI or plain path names (relative to base_dir)."""
    if value.startswith("file://"):
        parsed = urlparse(value)
        raw = unquote(parsed.path)
        if parsed.netloc and parsed.netloc not in ("localhost",):
            # file://relative/path is a common slip for a relative path
            raw = parsed.netloc + raw
            return Path(base_dir or os.getcwd(), raw).resolve() if not os.path.isabs(raw) else Path(raw)
        path = Path(raw)
    else:
        path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = Path(base_dir or os.getcwd()) / path
    return Path(os.path.normpath(path))


def parse_location(value: str, base_dir: Path | str | None = None) -> Location:
    if value.startswith("s3://"):
        rest = value[len("s3://"):]
        bucket, _, key = rest.partition("/")
        return Location("s3", bucket, key)
    if value.startswith("https://"):
        parsed = urlparse(value)
        host = parsed.netloc
        path = parsed.path.lstrip("/")
        if ".s3" in host and not host.startswith("s3"):
            return Location("s3", host.split(".s3")[0], path)
        bucket, _, key = path.partition("/")
        return Location("s3", bucket, key)
    return Location("file", path=local_path(value, base_dir))
