"""Health checks for `sm-workbench doctor`: each says what is wrong and how to fix it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Callable, Iterator

from workbench import aws
from workbench.engine.docker_client import connect, engine_address
from workbench.engine.gpus.docker_support import HOW_TO_FIX, docker_gpu_support
from workbench.engine.gpus.inventory import probe
from workbench.errors import DockerUnavailable
from workbench.images import SAMPLE_IMAGES, image_state, recipes
from workbench.paths import state_dir


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # "ok", "warn" or "fail"
    detail: str
    fix: str = ""


def check_docker() -> Iterator[Check]:
    try:
        client = connect(timeout=10)
    except DockerUnavailable as err:
        yield Check("Docker engine", "fail", str(err).split(";")[0],
                    "run `sudo scripts/ensure-docker` (installs and starts one on Debian), or start Docker")
        return
    version = client.version()
    yield Check("Docker engine", "ok",
                f"{version.get('Version')} (API {version.get('ApiVersion')}) at {engine_address()}")

    if not SAMPLE_IMAGES.is_dir():
        yield Check("Sample images", "warn", "no sample_jobs/images folder next to this installation",
                    "run from a checkout of sm-workbench to build the sample images")
        return
    states = {recipe.name: image_state(recipe, client) for recipe in recipes()}
    wrong = {state: [name for name, s in states.items() if s == state] for state in ("missing", "outdated")}
    if wrong["missing"] or wrong["outdated"]:
        found = "; ".join(f"{state}: {', '.join(names)}" for state, names in wrong.items() if names)
        yield Check("Sample images", "warn", found, "run `scripts/build-images` (or `sm-workbench images build`)")
    else:
        yield Check("Sample images", "ok", ", ".join(r.name for r in recipes()))


def check_s3() -> Iterator[Check]:
    import boto3  # deferred: boto3 (~0.3 s to import)
    from botocore.exceptions import BotoCoreError, ClientError  # deferred: botocore (~0.2 s to import)


    session = boto3.session.Session()
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    credentials = session.get_credentials()
    where = endpoint or "AWS (default endpoints)"
    if credentials is None:
        yield Check("S3 credentials", "warn", f"none found (endpoint: {where})",
                    "s3:// channels need credentials: `aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID/"
                    "AWS_SECRET_ACCESS_KEY; local paths work without")
        return
    yield Check("S3 credentials", "ok",
                f"from {credentials.method}, region {session.region_name or 'not set'}, endpoint {where}")
    if endpoint:
        try:
            client = aws.client("s3", attempts=1, connect_timeout=3, read_timeout=5)
            buckets = client.list_buckets().get("Buckets", [])
            yield Check("S3 endpoint", "ok", f"{endpoint} answers ({len(buckets)} buckets)")
        except (BotoCoreError, ClientError) as err:
            reason = aws.common_reason(err, "AWS_ENDPOINT_URL_S3") or aws.one_line(err)
            yield Check("S3 endpoint", "fail", reason, "start the endpoint or unset AWS_ENDPOINT_URL")


def check_gpus() -> Iterator[Check]:
    inventory = probe()
    if inventory.available:
        names = ", ".join(f"{g.index}: {g.name}" for g in inventory.gpus)
        yield Check("GPUs", "ok", f"{len(inventory.gpus)} (driver {inventory.driver_version}): {names}")
    else:
        yield Check("GPUs", "ok", f"{inventory.reason}; jobs run on the CPU")
    yield from check_docker_gpus(inventory)


def check_docker_gpus(inventory) -> Iterator[Check]:
    """Whether Docker can hand the GPUs to containers (NVIDIA container runtime or CDI)."""
    try:
        info = connect(timeout=10).info()
    except DockerUnavailable:
        return  # the Docker engine check says so
    support = docker_gpu_support(info)
    if support.available:
        yield Check("Docker GPU support", "ok", f"{support.method}: {support.detail}")
    elif inventory.available:
        yield Check("Docker GPU support", "warn", f"none: {support.detail}; GPU jobs cannot start",
                    f"{HOW_TO_FIX}; or set Workbench.Gpus: none to run jobs on the CPU")
    else:
        yield Check("Docker GPU support", "ok", f"none (not needed without a GPU): {support.detail}")


def check_state_dir() -> Iterator[Check]:
    try:
        root = state_dir()
        probe_file = root / ".doctor-probe"
        probe_file.write_text("ok")
        probe_file.unlink()
    except OSError as err:
        yield Check("State directory", "fail", f"not writable: {err}",
                    "set SM_WORKBENCH_HOME to a writable folder")
        return
    free = shutil.disk_usage(root).free / 1024**3
    state = "ok" if free >= 2 else "warn"
    yield Check("State directory", state, f"{root} ({free:.1f} GiB free)",
                "" if state == "ok" else "free some disk space: jobs copy their data per host")


CHECKS: list[Callable[[], Iterator[Check]]] = [check_docker, check_s3, check_gpus, check_state_dir]


def run_checks() -> Iterator[Check]:
    for check in CHECKS:
        try:
            yield from check()
        except Exception as err:  # a check that breaks is itself a finding
            yield Check(check.__name__.removeprefix("check_").replace("_", " "), "fail", f"check failed: {err}")
