"""Shared fixtures: a real Docker engine, the test images (built once), a real S3 endpoint
(moto's server on 127.0.0.1) and an isolated state directory per test."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_jobs"

# Never reach real AWS from tests, whatever the developer's environment holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
    os.environ.pop(_name, None)
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
})
os.environ.pop("AWS_ENDPOINT_URL", None)


def pytest_collection_modifyitems(items):
    """Tests that restart the Docker engine run last, so no other test meets an engine (or
    a pooled connection) that has just come back."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_engine") is not None)


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own state directory (jobs, caches, config)."""
    home = tmp_path / "sm-workbench-home"
    monkeypatch.setenv("SM_WORKBENCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def docker_client():
    """The real engine. No engine is an error, not a skip: CI must have one."""
    from workbench.engine.docker_client import connect
    from workbench.errors import DockerUnavailable

    try:
        return connect()
    except DockerUnavailable as err:
        pytest.fail(f"{err}\nIntegration tests need a Docker engine: run `sudo scripts/ensure-docker`.", pytrace=False)


@pytest.fixture(scope="session")
def images(docker_client) -> dict[str, str]:
    """Sample and test images, built once per session (skipped when present)."""
    from workbench.images import SAMPLE_IMAGES, TEST_IMAGES, build_all, recipes
    from workbench.errors import WorkbenchError

    folders = [SAMPLE_IMAGES, TEST_IMAGES]
    try:
        build_all(folders, log=lambda line: None)
    except WorkbenchError as err:
        pytest.fail(f"cannot build the test images: {err}", pytrace=False)
    return {r.folder.name: r.name for r in recipes(folders)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's server on 127.0.0.1, shared by the session; boto3 reaches it via AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    yield endpoint
    os.environ.pop("AWS_ENDPOINT_URL", None)
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")


@pytest.fixture
def bucket(s3) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name
