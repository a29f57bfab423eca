"""The composer's document: a spec being edited, its file, and its validation.

Pure Python (no Textual) so it is tested on its own. The document is the user's own
mapping (unknown fields and key order kept); fields are set by path, typed by the API
model as `--set` types them. A value that does not fit its type is kept as typed, so
the validator reports it at its field, exactly as `sm-workbench validate` would, and
nothing the user typed is lost.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import SpecInvalid, WorkbenchError
from workbench.paths import state_dir
from workbench.spec import JobSpec, Problem, check_spec, dump_spec, parse_yaml_value, read_spec_file, resolve
from workbench.spec.model import request_model
from workbench.spec.paths import format_path, parse_path
from workbench.spec.settings import WORKBENCH_KEY, setting_fields, setting_kind
from workbench.spec.tuning import is_tuning_spec, resolve_tuning
from workbench.fileio import write_text_atomic


class ChangedOnDisk(WorkbenchError):
    """The file was changed by someone else since it was opened or last saved."""


@dataclass(frozen=True)
class Fingerprint:
    mtime_ns: int
    size: int
    digest: str

    @classmethod
    def of(cls, path: Path) -> "Fingerprint | None":
        try:
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None
        return cls(stat.st_mtime_ns, stat.st_size, digest)


@dataclass
class Validation:
    problems: list[Problem] = field(default_factory=list)
    spec: JobSpec | None = None  # the resolved spec when there are no errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return self.spec is not None


def field_kind(path: str) -> str:
    """The type a field takes: the API model's shape type, or the Workbench setting's kind."""
    parts = parse_path(path)
    if parts[0] == WORKBENCH_KEY:
        if len(parts) == 2 and isinstance(parts[1], str) and parts[1] in setting_fields():
            return setting_kind(parts[1])
        return "yaml"
    shape = request_model().shape_at(parts)
    if shape is None:
        return "string"
    if shape.type == "list" and shape.member.type == "string":
        return "words"
    return shape.type


def typed_value(path: str, raw: str) -> Any:
    """Text from an input turned into the field's type; the text itself when it does not fit."""
    kind = field_kind(path)
    text = raw.strip()
    if kind in ("integer", "long", "int"):
        try:
            return int(text)
        except ValueError:
            return raw
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            return raw
    if kind in ("boolean", "bool"):
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        return raw
    if kind == "words":
        try:
            return shlex.split(raw)
        except ValueError:
            return raw
    if kind in ("string", "str"):
        return raw
    try:
        return parse_yaml_value(raw)
    except WorkbenchError:
        return raw


def value_text(path: str, value: Any) -> str:
    """A document value as an input shows it (the inverse of `typed_value`)."""
    if value is None:
        return ""
    kind = field_kind(path)
    if kind == "words" and isinstance(value, list):
        return shlex.join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return str(value)


RESOURCE_MODES = ("single", "groups")  # one instance type and count, or instance groups
SINGLE_RESOURCES = ("InstanceType", "InstanceCount")
GROUPS = "ResourceConfig.InstanceGroups"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


class SpecDraft:
    """A spec document being edited, and the file it came from (if any)."""

    def __init__(self, data: dict | None = None, path: Path | str | None = None,
                 fingerprint: Fingerprint | None = None) -> None:
        self.data: dict = data if data is not None else {}
        self.path: Path | None = Path(path).resolve() if path else None
        self.fingerprint = fingerprint
        self.dirty = False
        self.resource_mode = "groups" if self.get(GROUPS) else "single"  # the composer's switch
        self._single_stash: dict[str, Any] = {}  # what each resource mode held when the other was chosen
        self._groups_stash: list | None = None

    @classmethod
    def open(cls, path: Path | str) -> "SpecDraft":
        """Read a spec file; a missing file is a new, empty spec that will be saved there."""
        path = Path(path).resolve()
        if not path.exists():
            return cls({}, path)
        return cls(read_spec_file(path), path, Fingerprint.of(path))

    # --- fields ----------------------------------------------------------------------

    def get(self, path: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in parse_path(path):
            if isinstance(part, int):
                if not isinstance(node, list) or not -len(node) <= part < len(node):
                    return default
                node = node[part]
            else:
                if not isinstance(node, dict) or part not in node:
                    return default
                node = node[part]
        return node

    def set_value(self, path: str, value: Any) -> None:
        """Set a field (creating its parents); an empty value removes it."""
        if _empty(value):
            self.delete(path)
            return
        parts = parse_path(path)
        node: Any = self.data
        for depth, part in enumerate(parts[:-1]):
            following = parts[depth + 1]
            empty: Any = [] if isinstance(following, int) else {}
            if isinstance(part, int):
                while len(node) <= part:
                    node.append({} if not isinstance(following, int) else [])
                if not isinstance(node[part], (dict, list)):
                    node[part] = empty
                node = node[part]
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = empty
                node = node[part]
        last = parts[-1]
        if isinstance(last, int):
            while len(node) <= last:
                node.append(None)
            changed = node[last] != value
            node[last] = value
        else:
            changed = node.get(last, object()) != value
            node[last] = value
        self.dirty = self.dirty or changed

    def set_text(self, path: str, raw: str) -> None:
        """Set a field from what was typed into its input."""
        self.set_value(path, typed_value(path, raw) if raw.strip() else None)

    def delete(self, path: str) -> None:
        """Remove a field, and parents it leaves empty (lists keep their other items)."""
        parts = parse_path(path)
        chain: list[Any] = [self.data]
        node: Any = self.data
        for part in parts[:-1]:
            if isinstance(part, int):
                if not isinstance(node, list) or not -len(node) <= part < len(node):
                    return
            elif not isinstance(node, dict) or part not in node:
                return
            node = node[part]
            chain.append(node)
        last = parts[-1]
        if isinstance(last, int):
            if isinstance(node, list) and -len(node) <= last < len(node):
                del node[last]
                self.dirty = True
        elif isinstance(node, dict) and last in node:
            del node[last]
            self.dirty = True
        for depth in range(len(parts) - 1, 0, -1):  # prune empty mappings up the chain
            holder, key = chain[depth - 1], parts[depth - 1]
            if isinstance(chain[depth], dict) and not chain[depth] and not isinstance(key, int):
                del holder[key]
            else:
                break

    def set_resource_mode(self, mode: str) -> None:
        """Switch between one instance type and instance groups. What the mode left held
        is kept aside, so switching back restores it; a first switch to groups makes one
        group of the single type and count (and back, the first group's)."""
        if mode not in RESOURCE_MODES:
            raise ValueError(f"resource mode {mode!r} is not one of {RESOURCE_MODES}")
        if mode == self.resource_mode:
            return
        self.resource_mode = mode
        if mode == "groups":
            self._single_stash = {k: self.get(f"ResourceConfig.{k}") for k in SINGLE_RESOURCES}
            restored = self._groups_stash or [{
                "InstanceGroupName": "group-1",
                "InstanceType": self._single_stash.get("InstanceType") or "ml.m5.large",
                "InstanceCount": self._single_stash.get("InstanceCount") or 1,
            }]
            for key in SINGLE_RESOURCES:
                self.delete(f"ResourceConfig.{key}")
            self.set_value(GROUPS, copy.deepcopy(restored))
            return
        self._groups_stash = copy.deepcopy(self.get(GROUPS))
        self.delete(GROUPS)
        first = self._groups_stash[0] if self._groups_stash else {}
        for key in SINGLE_RESOURCES:
            value = self._single_stash.get(key) or (first.get(key) if isinstance(first, dict) else None)
            self.set_value(f"ResourceConfig.{key}", value)

    @property
    def mixed_resources(self) -> bool:
        """Instance groups and a single type or count both set: the validator flags it,
        and the form shows both so either can be removed."""
        return self.resource_mode == "groups" and any(
            self.get(f"ResourceConfig.{k}") is not None for k in SINGLE_RESOURCES)

    def replace(self, data: dict) -> None:
        self.dirty = self.dirty or data != self.data
        self.data = data

    # --- checking, saving ------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        """Where relative paths in the spec are relative to: the file's folder, else here."""
        return self.path.parent if self.path else Path.cwd().resolve()

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "new spec"

    @property
    def display_name(self) -> str:
        if not self.path:
            return "new spec"
        try:
            return str(self.path.relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(self.path)

    def yaml(self) -> str:
        return dump_spec(self.data) if self.data else ""

    def check(self, target: str = "local", data: dict | None = None) -> Validation:
        """Validation by the same code as `sm-workbench validate` (check_spec)."""
        document = copy.deepcopy(self.data if data is None else data)
        try:
            spec = check_spec(document, source=str(self.path) if self.path else "", base_dir=self.base_dir,
                              target=target)
        except SpecInvalid as err:
            return Validation(list(err.problems))
        except WorkbenchError as err:
            return Validation([Problem("", str(err))])
        return Validation(list(spec.warnings), spec)

    def changed_on_disk(self) -> bool:
        """The file differs from what was opened or last saved (also when it appeared)."""
        if self.path is None:
            return False
        now = Fingerprint.of(self.path)
        if now is None:
            return False  # gone (or never existed): writing it overwrites nothing
        if self.fingerprint is None:
            return True
        return (now.size, now.digest) != (self.fingerprint.size, self.fingerprint.digest)

    def save(self, path: Path | str | None = None, *, overwrite: bool = False) -> Path:
        """Write the document atomically; refuses to replace a file changed on disk (or,
        for a new path, an existing file) unless `overwrite`."""
        target = Path(path).resolve() if path else self.path
        if target is None:
            raise WorkbenchError("This spec has no file yet; save it under a name")
        if not overwrite:
            if target == self.path and self.changed_on_disk():
                raise ChangedOnDisk(f"{target} changed on disk since it was opened")
            if target != self.path and target.exists():
                raise ChangedOnDisk(f"{target} already exists")
        write_text_atomic(target, self.yaml(), user_file=True)
        self.path = target
        self.fingerprint = Fingerprint.of(target)
        self.dirty = False
        return target


def ran_from(source: Path | str, job_spec: dict) -> bool:
    """Is `source` the user's own spec file, still holding what the job ran with (the
    job's spec is the file resolved)? Files in the state directory (job records) never
    are: a draft bound to one would overwrite another job's record on save."""
    path = Path(source).resolve()
    if path.is_relative_to(state_dir().resolve()) or not path.is_file():
        return False
    try:
        data = read_spec_file(path)
        if is_tuning_spec(data):  # --- tuning: resolved as `tune` resolves it
            name = job_spec.get("HyperParameterTuningJobName")
            return any(resolve_tuning(data, target=target, base_dir=path.parent, name=name) == job_spec
                       for target in ("local", "sagemaker"))
        name = job_spec.get("TrainingJobName")
        return any(resolve(data, target=target, base_dir=path.parent, name=name) == job_spec
                   for target in ("local", "sagemaker"))
    except (OSError, UnicodeDecodeError, WorkbenchError, TypeError, ValueError, AttributeError):
        return False


def problem_at(problems: list[Problem], path: str) -> list[Problem]:
    """Problems of a field: its own path, or a path inside it."""
    return [p for p in problems if p.path == path or p.path.startswith(path + ".") or p.path.startswith(path + "[")]


def path_of(*parts: str | int) -> str:
    return format_path(list(parts))


def tilde(path: Path | str) -> str:
    home = os.path.expanduser("~")
    text = str(path)
    return "~" + text[len(home):] if home != "/" and text.startswith(home) else text


def _within(path: str, holder: str) -> bool:
    return path == holder or path.startswith(holder + ".") or path.startswith(holder + "[")


def assign_problems(problems: list[Problem], field_paths: list[str]) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """Which field shows each problem: the closest field holding its path, else the first
    field inside it (a missing section shows at its first field); the rest have no field."""
    shown: dict[str, list[Problem]] = {path: [] for path in field_paths}
    orphans: list[Problem] = []
    for problem in problems:
        holders = [f for f in field_paths if problem.path and _within(problem.path, f)]
        if holders:
            shown[max(holders, key=len)].append(problem)
            continue
        inside = [f for f in field_paths if problem.path and _within(f, problem.path)]
        if inside:
            shown[inside[0]].append(problem)
        else:
            orphans.append(problem)
    return shown, orphans
