"""Where a served model comes from, made into one CreateModel request.

`serve JOB|MODEL_TAR_GZ|MODEL_DIR|MODEL_SPEC` and a transform job's model all end as a
`ModelSpec`, validated like any CreateModel spec: a training job of the history gives its
ModelArtifacts and its training image (the default; `--image` names the inference image
when it is another); a model.tar.gz, a folder or an s3:// URI need the image; a YAML file
is a CreateModel spec as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from workbench.engine.record import KIND_LOCAL, KIND_SAGEMAKER, record_kind, record_status
from workbench.engine.store import check_job_name, existing_job, load_record
from workbench.errors import JobNotFound, JobStateError, WorkbenchError
from workbench.spec import read_spec_file
from workbench.spec.serving import MODEL_OPERATION, ModelSpec, check_model_spec, spec_operation
from workbench.spec.settings import WORKBENCH_KEY
from workbench.storage.uri import is_local, is_s3_uri, local_path

SPEC_SUFFIXES = (".yaml", ".yml")


def model_name_of(text: str) -> str:
    """A ModelName from a file or folder name (letters, digits and hyphens)."""
    stem = re.sub(r"\.(tar\.gz|tgz|tar)$", "", text.rstrip("/").rsplit("/", 1)[-1])
    return re.sub(r"[^a-zA-Z0-9]+", "-", stem).strip("-")[:63].strip("-") or "model"


def _with(data: dict, image: str | None, environment: dict[str, str] | None) -> dict:
    container = data.setdefault("PrimaryContainer", {})
    if image and isinstance(container, dict):
        data.setdefault(WORKBENCH_KEY, {})["Image"] = image
    if environment and isinstance(container, dict):
        container["Environment"] = {**(container.get("Environment") or {}), **environment}
    return data


def model_from_source(source: str, *, image: str | None = None, environment: dict[str, str] | None = None,
                      name: str | None = None, base_dir: Path | str | None = None,
                      overrides: list[str] | tuple[str, ...] = ()) -> ModelSpec:
    """The CreateModel request `source` stands for (see the module's docstring)."""
    base = Path(base_dir) if base_dir else Path.cwd()
    path = local_path(source, base) if is_local(source) else None
    if path is not None and path.is_file() and path.suffix.lower() in SPEC_SUFFIXES:
        data = read_spec_file(path)
        operation = spec_operation(data)
        if operation != MODEL_OPERATION:
            raise WorkbenchError(f"{path} is a {operation} spec, not a CreateModel spec (PrimaryContainer with "
                                 "Image and ModelDataUrl)")
        return check_model_spec(_with(data, image, environment), source=str(path), base_dir=path.parent, name=name,
                                overrides=overrides)
    if (path is not None and path.exists()) or is_s3_uri(source):
        if not image:
            raise WorkbenchError(f"{source} does not say which image serves it: give the inference image "
                                 "(--image IMAGE)")
        data = {"ModelName": name or model_name_of(source),
                "PrimaryContainer": {"Image": image, "ModelDataUrl": str(path) if path is not None else source}}
        return check_model_spec(_with(data, None, environment), source=source, base_dir=base, overrides=overrides)
    return _model_of_job(source, image, environment, name, overrides)


def _model_of_job(job: str, image: str | None, environment: dict[str, str] | None, name: str | None,
                  overrides: list[str] | tuple[str, ...]) -> ModelSpec:
    try:
        paths = existing_job(check_job_name(job))
    except JobNotFound:
        raise WorkbenchError(f"{job!r} is neither a training job of the history, a model.tar.gz, a model folder "
                             "nor a CreateModel spec (YAML); `sm-workbench jobs` lists the jobs") from None
    record = load_record(paths)
    kind = record_kind(record)
    if kind not in (KIND_LOCAL, KIND_SAGEMAKER):
        what = "an endpoint" if kind == "endpoint" else "a transform job"
        raise WorkbenchError(f"{job} is {what}, not a training job; give the training job whose model it serves")
    status = record_status(record)
    artifacts = (record.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if status != "Completed" or not artifacts:
        missing = " with no ModelArtifacts" if status == "Completed" else ""
        raise JobStateError(f"Job {job} is {status or 'unknown'}{missing}; only a Completed training job has a model "
                            "to serve")
    training_image = (record.get("AlgorithmSpecification") or {}).get("TrainingImage") or ""
    data = {"ModelName": name or job,
            "PrimaryContainer": {"Image": image or training_image, "ModelDataUrl": artifacts}}
    return check_model_spec(_with(data, None, environment), source=f"job {job}", overrides=overrides)
