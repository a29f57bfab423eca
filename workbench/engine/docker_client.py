"""One connection to the Docker engine, with errors a user can act on."""

from __future__ import annotations

import os
import threading

from workbench.errors import DockerUnavailable, ImageNotFound

_lock = threading.Lock()
_client = None

FIX = "start one with `sudo scripts/ensure-docker` (or `sudo systemctl start docker`), or point DOCKER_HOST at one"


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(timeout: int = 60):
    """A shared docker.DockerClient; raises DockerUnavailable when no engine answers."""
    global _client
    with _lock:
        if _client is not None:
            return _client
        import docker  # deferred: the Docker SDK (~0.25 s to import)
        from docker.errors import DockerException  # deferred: the Docker SDK (~0.25 s to import)

        try:
            client = docker.from_env(timeout=timeout)
            client.ping()
        except (DockerException, OSError) as err:
            reason = str(err).split("(")[0].strip() or type(err).__name__
            raise DockerUnavailable(
                f"No Docker engine answers at {engine_address()} ({reason}); {FIX}"
            ) from None
        _client = client
        return client


def require_image(client, image: str):
    """The image's attributes, or ImageNotFound saying how to get it."""
    from docker.errors import APIError, ImageNotFound as DockerImageNotFound  # deferred: the Docker SDK (~0.25 s)

    try:
        return client.images.get(image)
    except DockerImageNotFound:
        hint = (
            "build the sample images with `sm-workbench images build`"
            if image.startswith("sm-workbench/")
            else "build it (`docker build -t IMAGE .`) or load it (`docker load`); sm-workbench never pulls"
        )
        raise ImageNotFound(f"Image {image!r} is not in the local Docker engine: {hint}") from None
    except APIError as err:
        raise ImageNotFound(f"Cannot inspect image {image!r}: {err.explanation or err}") from None
