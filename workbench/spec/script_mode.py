"""Script mode as the SageMaker Python SDK does it: user code for a framework image.

With `Workbench.EntryPoint` (and `SourceDir`, `Dependencies`) a spec runs code the way an
SDK estimator's `entry_point`/`source_dir`/`dependencies` do: the files go to
/opt/ml/code (locally staged into each host's tree; for SageMaker packed as
sourcedir.tar.gz and uploaded), and the hyperparameters the training toolkit reads are
set as the SDK sets them, each value JSON-encoded (`"\\"train.py\\""`, `"20"`).

Sources: the SDK's `estimator.py` (`_script_mode_hyperparam_update`,
`_json_encode_hyperparameters`), `fw_utils.py` (`tar_and_upload_dir`,
`_list_files_to_compress`), `utils.py` (`create_tar_file`) and `local/image.py`
(`_update_local_src_path`), at v2.257.6.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

# The SDK's names (sagemaker.estimator: DIR_PARAM_NAME, SCRIPT_PARAM_NAME, ...).
DIR_PARAM = "sagemaker_submit_directory"
SCRIPT_PARAM = "sagemaker_program"
LOG_LEVEL_PARAM = "sagemaker_container_log_level"
JOB_NAME_PARAM = "sagemaker_job_name"
REGION_PARAM = "sagemaker_region"
CONTAINER_CODE = "/opt/ml/code"  # where the toolkit runs the code from (and SDK local mode mounts it)
SOURCE_TAR = "sourcedir.tar.gz"


def uses_script_mode(settings) -> bool:
    return bool(settings.EntryPoint)


def program(settings) -> str:
    """sagemaker_program: the entry point as a path inside SourceDir, or the script's own
    name when there is no SourceDir (the SDK's `script_name`)."""
    return settings.EntryPoint if settings.SourceDir else os.path.basename(settings.EntryPoint)


def code_entries(settings) -> list[Path]:
    """What /opt/ml/code holds, each at its root under its own name, as the SDK packs it:
    every top-level entry of SourceDir (or the entry point alone without one), then each
    dependency folder."""
    if settings.SourceDir:
        folder = Path(settings.SourceDir)
        entries = sorted(folder / name for name in os.listdir(folder))
    else:
        entries = [Path(settings.EntryPoint)]
    return entries + [Path(dependency) for dependency in settings.Dependencies or []]


def source_uri(output_path: str, job_name: str) -> str:
    """Where submit uploads the code: `<S3OutputPath>/<job>/source/sourcedir.tar.gz` (the
    SDK's key is `<job>/source/sourcedir.tar.gz` under its code_location)."""
    return f"{output_path.rstrip('/')}/{job_name}/source/{SOURCE_TAR}"


def hyperparameters(settings, *, submit_directory: str, job_name: str, region: str,
                    log_level: int = logging.INFO) -> dict[str, str]:
    """The five hyperparameters the SDK adds for script mode, JSON-encoded as it writes them."""
    values = {DIR_PARAM: submit_directory, SCRIPT_PARAM: program(settings), LOG_LEVEL_PARAM: log_level,
              JOB_NAME_PARAM: job_name, REGION_PARAM: region}
    return {key: json.dumps(value) for key, value in values.items()}


def apply(spec: dict, settings, *, submit_directory: str, region: str) -> None:
    """Set the script-mode hyperparameters on a resolved spec (in place). A log level the
    spec already gives (the SDK's container_log_level) is kept."""
    hyper = spec.get("HyperParameters") if isinstance(spec.get("HyperParameters"), dict) else {}
    level = logging.INFO
    try:
        level = int(json.loads(str(hyper.get(LOG_LEVEL_PARAM, logging.INFO))))
    except (TypeError, ValueError):
        pass
    hyper.update(hyperparameters(settings, submit_directory=submit_directory, job_name=spec["TrainingJobName"],
                                 region=region, log_level=level))
    spec["HyperParameters"] = hyper
