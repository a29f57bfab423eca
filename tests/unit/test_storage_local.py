"""The storage layer on local folders: listing, safe relative paths, copies that never write
outside their folder and never leave half files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from workbench.errors import StorageError
from workbench.storage.objects import FolderLinks
from workbench.storage import (
    Location,
    StoredObject,
    TransferCancelled,
    TransferProgress,
    copy_tree,
    delete_object,
    download_objects,
    list_objects,
    open_object_stream,
    read_object_bytes,
    safe_relpath,
    stat_object,
    upload_file,
    upload_tree,
)


def here(path: Path) -> Location:
    return Location("file", path=path)


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.endswith(".wbtmp"))


# --- safe_relpath ---------------------------------------------------------------------

@pytest.mark.parametrize("rel, expected", [
    ("a.csv", "a.csv"),
    ("a/b/c.csv", "a/b/c.csv"),
    ("./a//b/./c", "a/b/c"),
    ("a..b/..c", "a..b/..c"),
])
def test_safe_relpath_normalises(rel, expected):
    assert safe_relpath(rel, "s3://b/x") == expected


@pytest.mark.parametrize("rel", ["/etc/passwd", "a/../../etc/passwd", "..", "a/..", "../x", "a/\x00b"])
def test_safe_relpath_refuses_escapes(rel):
    with pytest.raises(StorageError) as caught:
        safe_relpath(rel, "S3 object s3://b/k")
    message = str(caught.value)
    assert "escapes the destination folder" in message and "\n" not in message


@pytest.mark.parametrize("rel", ["", ".", "./", "./."])
def test_safe_relpath_refuses_empty(rel):
    with pytest.raises(StorageError, match="names no file"):
        safe_relpath(rel, "thing")


# --- listing ---------------------------------------------------------------------------

def test_list_folder_recursively_sorted(tmp_path):
    root = make_tree(tmp_path / "data", {"b.csv": b"bb", "a/z.csv": b"z", "a/c/d.csv": b"ddd"})
    objects = list_objects(here(root))
    assert [o.rel for o in objects] == ["a/c/d.csv", "a/z.csv", "b.csv"]
    first = objects[0]
    assert first.location == here(root / "a/c/d.csv") and first.size == 3
    info = (root / "a/c/d.csv").stat()
    assert first.etag == f"3-{info.st_mtime_ns}" and first.mtime == info.st_mtime


def test_list_single_file_lists_itself(tmp_path):
    path = make_tree(tmp_path, {"data/x.csv": b"xyz"}) / "data/x.csv"
    assert [(o.rel, o.size) for o in list_objects(here(path))] == [("x.csv", 3)]


def test_list_missing_path_names_it(tmp_path):
    with pytest.raises(StorageError, match=str(tmp_path / "nope")):
        list_objects(here(tmp_path / "nope"))


def test_list_skips_symlinks_out_of_the_folder_and_survives_loops(tmp_path):
    secret = make_tree(tmp_path / "outside", {"secret.txt": b"s"})
    root = make_tree(tmp_path / "data", {"a.txt": b"a", "sub/b.txt": b"b"})
    (root / "leak.txt").symlink_to(secret / "secret.txt")
    (root / "leakdir").symlink_to(secret)
    (root / "alias.txt").symlink_to(root / "a.txt")
    (root / "sub" / "loop").symlink_to(root)
    (root / "dangling").symlink_to(tmp_path / "missing")
    os.mkfifo(root / "fifo")
    (root / ".a.txt.0123456789ab.wbtmp").write_bytes(b"half")
    assert [o.rel for o in list_objects(here(root))] == ["a.txt", "alias.txt", "sub/b.txt"]
    links = FolderLinks()
    list_objects(here(root), links)
    assert sorted(links.outside) == ["dangling", "leak.txt", "leakdir"]  # for the channel's notice
    assert not links.portable  # absolute links inside would not resolve where the folder is mounted
    (root / "alias.txt").unlink()
    (root / "sub" / "loop").unlink()
    (root / "sub" / "alias.txt").symlink_to("b.txt")
    list_objects(here(root), links := FolderLinks())
    assert links.portable


def test_stat_object_local(tmp_path):
    path = make_tree(tmp_path, {"m.json": b"[]"}) / "m.json"
    assert stat_object(here(path)).size == 2
    with pytest.raises(StorageError, match="not a file"):
        stat_object(here(tmp_path))


# --- copies ----------------------------------------------------------------------------

def test_copy_tree_is_a_real_independent_copy(tmp_path):
    src = make_tree(tmp_path / "src", {"a.txt": b"a" * 10, "d/b.txt": b"b" * 5})
    (src / "leak").symlink_to(tmp_path)
    files, size = copy_tree(src, tmp_path / "dest")
    assert (files, size) == (2, 15)
    copied = tmp_path / "dest" / "a.txt"
    assert copied.read_bytes() == b"a" * 10
    assert copied.stat().st_ino != (src / "a.txt").stat().st_ino
    copied.write_bytes(b"changed by a container")
    assert (src / "a.txt").read_bytes() == b"a" * 10
    assert not (tmp_path / "dest" / "leak").exists()


def test_download_reports_progress_up_to_the_totals(tmp_path):
    src = make_tree(tmp_path / "src", {f"f{i:03}.bin": b"x" * i for i in range(200)})
    seen: list[TransferProgress] = []
    lock = threading.Lock()

    def on_progress(progress: TransferProgress) -> None:
        with lock:
            seen.append(progress)

    done = download_objects(list_objects(here(src)), tmp_path / "dest", workers=8, on_progress=on_progress)
    total = sum(range(200))
    assert done == TransferProgress(200, 200, total, total)
    assert seen[-1] == done
    assert [p.bytes_done for p in seen] == sorted(p.bytes_done for p in seen)
    assert len(list((tmp_path / "dest").iterdir())) == 200


def test_failed_copy_leaves_no_half_files(tmp_path):
    src = make_tree(tmp_path / "src", {f"f{i:02}.bin": b"x" * 1000 for i in range(40)})
    objects = list_objects(here(src))
    (src / "f17.bin").unlink()
    with pytest.raises(StorageError, match="f17.bin"):
        download_objects(objects, tmp_path / "dest", workers=4)
    dest = tmp_path / "dest"
    assert leftovers(dest) == []
    assert not (dest / "f17.bin").exists()
    assert all(p.read_bytes() == b"x" * 1000 for p in dest.iterdir())


def test_cancel_stops_a_transfer(tmp_path):
    src = make_tree(tmp_path / "src", {f"f{i:02}.bin": b"x" for i in range(50)})
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TransferCancelled):
        download_objects(list_objects(here(src)), tmp_path / "dest", cancel=cancel)
    assert list((tmp_path / "dest").iterdir()) == []


def test_download_never_writes_through_a_symlink_out_of_the_folder(tmp_path):
    src = make_tree(tmp_path / "src", {"a/x.txt": b"x"})
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a").symlink_to(outside)
    with pytest.raises(StorageError, match="symlink leading out"):
        download_objects(list_objects(here(src)), dest)
    assert list(outside.iterdir()) == []


def test_download_refuses_unsafe_or_clashing_rels_before_writing(tmp_path):
    src = make_tree(tmp_path / "src", {"a": b"1", "b": b"2"})
    a, b = list_objects(here(src))
    with pytest.raises(StorageError, match="escapes"):
        download_objects([StoredObject(a.location, "../evil", 1, "", 0.0)], tmp_path / "dest")
    with pytest.raises(StorageError, match="folder"):
        download_objects([StoredObject(a.location, "x", 1, "", 0.0), StoredObject(b.location, "x/y", 1, "", 0.0)],
                         tmp_path / "dest")
    with pytest.raises(StorageError, match="both"):
        download_objects([StoredObject(a.location, "x", 1, "", 0.0), StoredObject(b.location, "x", 1, "", 0.0)],
                         tmp_path / "dest")
    assert not (tmp_path / "evil").exists() and not (tmp_path / "dest").exists()


# --- single objects and uploads to a local "bucket" ---------------------------------------

def test_upload_file_to_a_local_path(tmp_path):
    src = make_tree(tmp_path, {"model.tar.gz": b"tar"}) / "model.tar.gz"
    dest = here(tmp_path / "out" / "job" / "output" / "model.tar.gz")
    upload_file(src, dest)
    assert read_object_bytes(dest) == b"tar"
    assert leftovers(tmp_path / "out") == []
    with open_object_stream(dest) as stream:
        assert stream.read(2) == b"ta"
    delete_object(dest)
    delete_object(dest)  # already gone is fine
    assert not dest.path.exists()


def test_upload_tree_to_a_local_folder(tmp_path):
    src = make_tree(tmp_path / "ckpt", {"a.pt": b"a", "host-1/b.pt": b"bb"})
    assert upload_tree(src, here(tmp_path / "bucket" / "ckpt-1")) == (2, 3)
    assert (tmp_path / "bucket/ckpt-1/host-1/b.pt").read_bytes() == b"bb"


def test_local_errors_are_one_line(tmp_path):
    with pytest.raises(StorageError, match="does not exist") as caught:
        read_object_bytes(here(tmp_path / "missing.json"))
    assert "\n" not in str(caught.value)
    with pytest.raises(StorageError, match="Cannot read"):
        upload_file(tmp_path / "missing", here(tmp_path / "x"))
    (tmp_path / "folder").mkdir()
    with pytest.raises(StorageError, match="Cannot delete"):
        delete_object(here(tmp_path / "folder"))
