"""The request models of SageMaker operations, read from botocore's own service definition.

CreateTrainingJob for training specs, CreateModel and CreateTransformJob for serving
specs (`spec/serving.py`): one generic reader, one model per operation.

The shapes come straight from botocore's data file rather than a botocore session:
a session costs about half a second of start-up and `sm-workbench run` is measured
against plain `docker run`. The subset of shapes each request reaches is cached in the
state directory, keyed by the operation and the data file's path, size and mtime.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterator

from workbench.fileio import write_text_atomic
from workbench.paths import cache_dir

OPERATION = "CreateTrainingJob"  # the training spec's, the default everywhere


@dataclass(frozen=True)
class Shape:
    """One shape of the service model, with navigation to the shapes it refers to."""

    name: str
    raw: dict
    model: "RequestModel"

    @property
    def type(self) -> str:
        return self.raw["type"]

    @cached_property
    def members(self) -> dict[str, "Shape"]:
        return {m: self.model.shape(ref["shape"]) for m, ref in self.raw.get("members", {}).items()}

    @property
    def required(self) -> list[str]:
        return list(self.raw.get("required", []))

    @property
    def member(self) -> "Shape":
        return self.model.shape(self.raw["member"]["shape"])

    @property
    def key(self) -> "Shape":
        return self.model.shape(self.raw["key"]["shape"])

    @property
    def value(self) -> "Shape":
        return self.model.shape(self.raw["value"]["shape"])

    @property
    def enum(self) -> list[str] | None:
        return self.raw.get("enum")

    @property
    def min(self) -> int | float | None:
        return self.raw.get("min")

    @property
    def max(self) -> int | float | None:
        return self.raw.get("max")

    @property
    def pattern(self) -> str | None:
        return self.raw.get("pattern")

    def member_doc(self, member: str) -> str:
        return self.raw.get("members", {}).get(member, {}).get("documentation", "")

    @property
    def documentation(self) -> str:
        return self.raw.get("documentation", "")

    @property
    def is_s3_uri(self) -> bool:
        """Strings that hold an S3 URI (where local runs also accept paths)."""
        return self.type == "string" and (
            self.name == "S3Uri" or (self.pattern or "").startswith("(https|s3)://")
        )


class RequestModel:
    def __init__(self, shapes: dict[str, dict], root: str) -> None:
        self._shapes = shapes
        self._cache: dict[str, Shape] = {}
        self.root_name = root

    def shape(self, name: str) -> Shape:
        if name not in self._cache:
            self._cache[name] = Shape(name, self._shapes[name], self)
        return self._cache[name]

    @property
    def root(self) -> Shape:
        return self.shape(self.root_name)

    def shape_at(self, path: list[str | int]) -> Shape | None:
        """The shape a path of member names and list indexes leads to, or None."""
        shape = self.root
        for part in path:
            if shape.type == "structure":
                if not isinstance(part, str) or part not in shape.members:
                    return None
                shape = shape.members[part]
            elif shape.type == "list":
                shape = shape.member
            elif shape.type == "map":
                shape = shape.value
            else:
                return None
        return shape

    def __iter__(self) -> Iterator[Shape]:
        return (self.shape(name) for name in self._shapes)


def _botocore_data_file() -> Path:
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed")
    base = Path(list(spec.submodule_search_locations)[0]) / "data" / "sagemaker"
    version = sorted(p.name for p in base.iterdir() if p.is_dir())[-1]
    folder = base / version
    for name in ("service-2.json.gz", "service-2.json"):
        if (folder / name).exists():
            return folder / name
    raise RuntimeError(f"no SageMaker service model in {folder}")


def _reachable(shapes: dict[str, dict], root: str) -> dict[str, dict]:
    seen: dict[str, dict] = {}
    stack = [root]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        raw = shapes[name]
        seen[name] = raw
        refs = [m["shape"] for m in raw.get("members", {}).values()]
        refs += [raw[k]["shape"] for k in ("member", "key", "value") if k in raw]
        stack.extend(refs)
    return seen


def _cache_path(source: Path, operation: str) -> Path | None:
    try:
        stat = source.stat()
        digest = hashlib.sha1(f"{source}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        return cache_dir() / f"api-model-{operation}-{digest}.json"
    except OSError:
        return None


@lru_cache(maxsize=None)
def request_model(operation: str = OPERATION) -> RequestModel:
    """The shapes `operation`'s request reaches (cached in memory and on disk, per operation)."""
    source = _botocore_data_file()
    cached = _cache_path(source, operation)
    if cached is not None and cached.exists():
        try:
            data = json.loads(cached.read_text())
            return RequestModel(data["shapes"], data["root"])
        except (OSError, ValueError, KeyError):
            pass
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as handle:
        service = json.load(handle)
    root = service["operations"][operation]["input"]["shape"]
    shapes = _reachable(service["shapes"], root)
    if cached is not None:
        try:
            write_text_atomic(cached, json.dumps({"root": root, "shapes": shapes}))
        except OSError:
            pass
    return RequestModel(shapes, root)


def instance_types() -> list[str]:
    """Every TrainingInstanceType the API accepts, in the model's order."""
    return list(request_model().shape("TrainingInstanceType").enum or [])


def botocore_model_version() -> str:
    return _botocore_data_file().parent.name + " " + os.path.basename(_botocore_data_file())
