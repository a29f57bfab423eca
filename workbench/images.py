"""Build the sample and test images without a registry.

Each image folder holds a Dockerfile (for people with a registry) and an `image.yaml`
recipe that produces the same image name offline:

- `busybox`: a tarball of Debian's busybox-static plus the folder's `rootfs/`, imported.
- `debootstrap`: Debian minbase with extra packages (python3), plus `rootfs/`, imported.
- `dockerfile`: `docker build` of the folder; its FROM must be a local image built first.
  `pip: [PACKAGE==VERSION, ...]` downloads those packages (and what they need) with this
  machine's pip into the build context's `pip/` folder first, so the Dockerfile installs
  them with `pip install --no-index --find-links pip/` and the build itself needs no
  network (this machine's pip knows its package index, proxy and certificates).

Each image built here carries a label with a fingerprint of its recipe (the folder's
files, the offline settings, the base image), so an image whose recipe changed since it
was built is built again; an image that exists without the label (built with a registry,
from the Dockerfile) is left alone. `--force` rebuilds anyway.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from workbench.engine.docker_client import connect
from workbench.engine.image_build import BuildFailed, build_image, remove_image_quietly
from workbench.errors import WorkbenchError

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_IMAGES = REPO_ROOT / "sample_jobs" / "images"
TEST_IMAGES = REPO_ROOT / "tests" / "images"
DEBIAN_MIRROR = os.environ.get("SM_WORKBENCH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
LABEL_RECIPE = "sm-workbench.recipe"


@dataclass
class Recipe:
    name: str
    folder: Path
    method: str
    base: str | None = None
    suite: str = "bookworm"
    include: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    pip: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> "Recipe":
        data = yaml.safe_load((folder / "image.yaml").read_text()) or {}
        offline = data.get("offline") or {}
        base = offline.get("base")
        if offline.get("method") == "dockerfile" and not base:
            for line in (folder / "Dockerfile").read_text().splitlines():
                if line.strip().upper().startswith("FROM "):
                    base = line.split()[1]
                    break
        return cls(
            name=data["name"], folder=folder, method=offline.get("method", "dockerfile"), base=base,
            suite=offline.get("suite", "bookworm"), include=list(offline.get("include") or []),
            changes=list(offline.get("changes") or []), pip=list(offline.get("pip") or []),
        )


def recipes(folders: list[Path] | None = None) -> list[Recipe]:
    """Recipes under the given image folders (default: the sample images), bases first."""
    found: list[Recipe] = []
    for root in folders or [SAMPLE_IMAGES]:
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if (folder / "image.yaml").exists():
                found.append(Recipe.load(folder))
    names = {r.name for r in found}
    ordered: list[Recipe] = []
    pending = list(found)
    while pending:
        progressed = False
        for recipe in list(pending):
            if recipe.base not in names or recipe.base in {r.name for r in ordered}:
                ordered.append(recipe)
                pending.remove(recipe)
                progressed = True
        if not progressed:
            ordered.extend(pending)
            break
    return ordered


def _image(client, name: str):
    from docker.errors import ImageNotFound  # deferred: the Docker SDK (~0.25 s to import)

    try:
        return client.images.get(name)
    except ImageNotFound:
        return None


def _image_exists(client, name: str) -> bool:
    return _image(client, name) is not None


def fingerprint(recipe: Recipe, client) -> str:
    """What the image is built from: the recipe folder's files, the offline settings and,
    for a Dockerfile build, the id of its base image (a rebuilt base rebuilds its children)."""
    settings = [recipe.method, recipe.suite, recipe.include, recipe.changes] + ([recipe.pip] if recipe.pip else [])
    digest = hashlib.sha256(json.dumps(settings).encode())
    for path in sorted(recipe.folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(recipe.folder).as_posix()}\0{path.stat().st_mode & 0o777}\0".encode())
            digest.update(path.read_bytes())
    if recipe.method == "dockerfile" and recipe.base:
        base = _image(client, recipe.base)
        digest.update((base.id if base is not None else "").encode())
    return digest.hexdigest()[:16]


def image_state(recipe: Recipe, client) -> str:
    """`missing`, `outdated` (built here from a recipe that has changed since) or `present`."""
    image = _image(client, recipe.name)
    if image is None:
        return "missing"
    built_from = (image.attrs.get("Config") or {}).get("Labels") or {}
    if LABEL_RECIPE in built_from and built_from[LABEL_RECIPE] != fingerprint(recipe, client):
        return "outdated"
    return "present"


def image_states(folders: list[Path] | None = None) -> list[tuple[Recipe, str]]:
    """Each recipe under the image folders with its state in the local engine (`image_state`)."""
    client = connect()
    return [(recipe, image_state(recipe, client)) for recipe in recipes(folders)]


def _add_tree(tar: tarfile.TarFile, folder: Path, arc_prefix: str = "") -> None:
    if not folder.is_dir():
        return
    present = set(tar.getnames())
    for path in sorted(folder.rglob("*")):
        arcname = arc_prefix + str(path.relative_to(folder))
        if arcname in present and path.is_dir():
            continue
        info = tar.gettarinfo(str(path), arcname)
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        if info.isfile():
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
        else:
            tar.addfile(info)


def _busybox_tar(recipe: Recipe) -> bytes:
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox) or not _is_static(busybox):
        raise WorkbenchError(
            "The shell image needs Debian's busybox-static: run `sudo apt-get install busybox-static` "
            "(scripts/build-images does it for you)"
        )
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "tmp", "etc", "root", "usr", "usr/local", "usr/local/bin", "opt", "opt/ml"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        info = tar.gettarinfo(busybox, "bin/busybox")
        info.uid = info.gid = 0
        with open(busybox, "rb") as handle:
            tar.addfile(info, handle)
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", "root:x:0:\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        _add_tree(tar, recipe.folder / "rootfs")
    return buffer.getvalue()


def _is_static(path: str) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096)
    return b"/lib64/ld-linux" not in head and b"/lib/ld-linux" not in head


def _debootstrap_tar(recipe: Recipe, workdir: Path, log: Callable[[str], None]) -> Path:
    if os.geteuid() != 0:
        raise WorkbenchError(
            f"Building {recipe.name} offline needs root (debootstrap); run `sudo scripts/build-images`, "
            f"or build {recipe.folder / 'Dockerfile'} with a registry"
        )
    if not shutil.which("debootstrap"):
        raise WorkbenchError("debootstrap is missing: run `sudo apt-get install debootstrap` (scripts/build-images does it)")
    root = workdir / "rootfs"
    command = ["debootstrap", "--variant=minbase"]
    if recipe.include:
        command.append("--include=" + ",".join(recipe.include))
    command += [recipe.suite, str(root), DEBIAN_MIRROR]
    log(f"  debootstrap {recipe.suite} with {', '.join(recipe.include) or 'nothing extra'} (about a minute)")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise WorkbenchError(f"debootstrap failed for {recipe.name}: {' / '.join(tail)}")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        target = root / junk
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
    overlay = recipe.folder / "rootfs"
    if overlay.is_dir():
        shutil.copytree(overlay, root, dirs_exist_ok=True, symlinks=True)
    (root / "opt" / "ml").mkdir(parents=True, exist_ok=True)
    tarball = workdir / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True)
    return tarball


def build(recipe: Recipe, client, *, force: bool = False, log: Callable[[str], None] = print) -> bool:
    """Build one image; False when it was present and current, and so skipped."""
    state = image_state(recipe, client)
    if not force and state == "present":
        log(f"{recipe.name}: present, skipped")
        return False
    started = time.monotonic()
    repository, _, tag = recipe.name.rpartition(":") if ":" in recipe.name.split("/")[-1] else (recipe.name, "", "latest")
    why = "its recipe changed since it was built; " if state == "outdated" else ""
    log(f"{recipe.name}: {why}building ({recipe.method})")
    built_from = fingerprint(recipe, client)
    previous = _image(client, recipe.name) if state != "missing" else None
    changes = [*recipe.changes, f"LABEL {LABEL_RECIPE}={built_from}"]
    if recipe.method == "busybox":
        client.api.import_image_from_data(_busybox_tar(recipe), repository=repository, tag=tag, changes=changes)
    elif recipe.method == "debootstrap":
        with tempfile.TemporaryDirectory(prefix="smw-image-") as tmp:
            tarball = _debootstrap_tar(recipe, Path(tmp), log)
            client.api.import_image_from_file(str(tarball), repository=repository, tag=tag, changes=changes)
            subprocess.run(["rm", "-rf", str(Path(tmp) / "rootfs")], check=False)
    elif recipe.method == "dockerfile":
        if recipe.base and not _image_exists(client, recipe.base):
            raise WorkbenchError(f"{recipe.name} is built FROM {recipe.base}, which is not present; build it first")
        with tempfile.TemporaryDirectory(prefix="smw-image-") as tmp:
            context = recipe.folder
            if recipe.pip:
                context = Path(tmp) / "context"
                shutil.copytree(recipe.folder, context)
                _pip_download(recipe, context / "pip", log)
            try:
                build_image(client, context, recipe.name, labels={LABEL_RECIPE: built_from})
            except BuildFailed as err:
                output = "".join(f"\n    {line}" for line in err.output[-10:])
                raise WorkbenchError(f"docker build of {recipe.name} failed: {err}{output}") from None
    else:
        raise WorkbenchError(f"{recipe.folder / 'image.yaml'}: unknown offline method {recipe.method!r}")
    log(f"{recipe.name}: built in {time.monotonic() - started:.1f} s")
    if previous is not None:
        remove_image_quietly(client, previous.id)  # the version it replaces, now untagged
    return True


def _pip_download(recipe: Recipe, folder: Path, log: Callable[[str], None]) -> None:
    """The recipe's Python packages, and all they need, as this machine's pip finds them."""
    log(f"  pip download {' '.join(recipe.pip)}")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(folder), *recipe.pip]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise WorkbenchError(f"pip download for {recipe.name} failed: {' / '.join(tail)}")


def build_all(folders: list[Path] | None = None, *, force: bool = False, names: list[str] | None = None,
              log: Callable[[str], None] = print) -> list[str]:
    client = connect()
    built = []
    for recipe in recipes(folders):
        if names and recipe.name not in names and recipe.folder.name not in names:
            continue
        if build(recipe, client, force=force, log=log):
            built.append(recipe.name)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.images", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="image folders (default: sample_jobs/images)")
    parser.add_argument("--tests", action="store_true", help="also build the test images (tests/images)")
    parser.add_argument("--force", action="store_true", help="rebuild images that exist")
    args = parser.parse_args(argv)
    folders = list(args.folders) or [SAMPLE_IMAGES]
    if args.tests:
        folders.append(TEST_IMAGES)
    try:
        build_all(folders, force=args.force)
    except WorkbenchError as err:
        print(f"error: {err}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
