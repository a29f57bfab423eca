"""The user a training container runs as, and so who may write the host folders it is given.

A job's folder and its `hosts/` folder are this user's alone (0700): other users of this
machine cannot even reach the /opt/ml trees, and a bind mount does not need its parents
to be traversable from inside the container. Inside, the folders the container writes
(/opt/ml itself, model, output, output/data, code, the checkpoint folder) are:

- the image runs as root: 0755, owned by us; the container's root writes anyway.
- it runs as another user and sm-workbench runs as root: chowned to that user, 0755.
  A user named in the image (`USER trainer`) is looked up in the image's /etc/passwd.
- otherwise (we cannot chown, the user is unknown, or the engine remaps user ids so
  that even the container's root is someone else here): 0777, which only the container
  can make use of, since nobody else gets past `hosts/` (0700).
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

PRIVATE = 0o700


@dataclass(frozen=True)
class FolderAccess:
    """Owner and mode for the folders a container writes."""

    uid: int | None = None  # chown to this user (None: keep ours)
    gid: int | None = None
    mode: int = 0o755

    def writable(self, path: Path) -> None:
        """Let the container's user write the folder `path` (ours: never a container-made link)."""
        if self.uid is not None:
            os.chown(path, self.uid, -1 if self.gid is None else self.gid, follow_symlinks=False)
        os.chmod(path, self.mode)

    def owned(self, path: Path) -> None:
        """A file made for the container (a restored checkpoint) becomes its user's to change."""
        if self.uid is not None:
            os.chown(path, self.uid, -1 if self.gid is None else self.gid, follow_symlinks=False)


WIDE = FolderAccess(mode=0o777)


def private_folder(path: Path) -> None:
    """A folder only this user may enter (made when missing)."""
    path.mkdir(mode=PRIVATE, parents=True, exist_ok=True)
    path.chmod(PRIVATE)


def folder_access(client, image: str) -> FolderAccess:
    """What the image's user needs (see the module's docstring)."""
    user = ((client.images.get(image).attrs.get("Config") or {}).get("User") or "").strip()
    name, _, group = user.partition(":")
    remapped = _ids_remapped(client)
    if name in ("", "0", "root"):
        return WIDE if remapped else FolderAccess()
    if remapped or os.geteuid() != 0:
        return WIDE
    uid, gid = _numeric(name), (_numeric(group) if group else None)
    if uid is None or (group and gid is None):  # a name: the image's own files say who it is
        passwd, groups = _image_files(client, image)
        if uid is None:
            entry = _entry(passwd, name)
            uid = _numeric(entry[2]) if entry else None
            if not group and entry:
                gid = _numeric(entry[3])
        if group and gid is None:
            entry = _entry(groups, group)
            gid = _numeric(entry[2]) if entry else None
        if uid is None or (group and gid is None):
            return WIDE
    return FolderAccess(uid, gid)


def _numeric(text: str) -> int | None:
    return int(text) if text.isdigit() else None


_remapped: dict[int, bool] = {}


def _ids_remapped(client) -> bool:
    """User namespaces (userns-remap, rootless): container ids are not ours. Asked once
    per client (`docker info` is one of the slower calls on a job's start-up path)."""
    if id(client) not in _remapped:
        options = client.info().get("SecurityOptions") or []
        _remapped[id(client)] = any("name=userns" in o or "name=rootless" in o for o in options)
    return _remapped[id(client)]


def _image_files(client, image: str) -> tuple[str, str]:
    """The image's /etc/passwd and /etc/group, read from a created (never started) container."""
    container = client.containers.create(image, entrypoint=["true"], command=[], network_disabled=True)
    try:
        return _read(container, "/etc/passwd"), _read(container, "/etc/group")
    finally:
        container.remove(force=True)


def _entry(text: str, name: str) -> list[str] | None:
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 3 and fields[0] == name:
            return fields
    return None


def _read(container, path: str) -> str:
    from docker.errors import NotFound  # deferred: the Docker SDK (~0.25 s to import)

    try:
        stream, _ = container.get_archive(path)
    except NotFound:
        return ""
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = next((m for m in tar.getmembers() if m.isfile()), None)
        handle = tar.extractfile(member) if member is not None else None
        return handle.read(1024 * 1024).decode("utf-8", errors="replace") if handle is not None else ""
