"""Pure parts of the checkpoint sync: where keys land, symlinks read as the container reads
them, the ledger journal, the status table viewers fold, and the record's summary."""

import json
import os

import pytest

from workbench.engine import events as ev
from workbench.engine.checkpoints.extension import Checkpoints
from workbench.engine.checkpoints.ledger import Ledger, Signature
from workbench.engine.checkpoints.remote import CheckpointStore, restore_path
from workbench.engine.checkpoints.status import CheckpointView
from workbench.engine.container_files import Outside, link_target, lstat_inside, scan
from workbench.engine.record import apply_event, new_record
from workbench.errors import WorkbenchError


@pytest.mark.parametrize("prefix, key, expected", [
    ("ckpt-1", "ckpt-1/a.pt", ("a.pt", True)),
    ("ckpt-1", "ckpt-1/sub/b.pt", ("sub/b.pt", True)),
    ("ckpt-1/", "ckpt-1/a.pt", ("a.pt", True)),
    ("ckpt-1", "ckpt-10/x.pt", ("ckpt-10/x.pt", False)),  # the raw prefix also matches ckpt-10/
    ("runs/ckpt-1", "runs/ckpt-1.old", ("ckpt-1.old", False)),
    ("", "a/b.pt", ("a/b.pt", True)),
])
def test_where_a_restored_key_lands(prefix, key, expected):
    assert restore_path(prefix, key) == expected


def test_synced_files_go_under_the_uri_as_a_folder():
    store = CheckpointStore.parse("s3://bucket/runs/ckpt-1")
    assert store.base_key == "runs/ckpt-1/"
    assert store.where("sub/a.pt").uri == "s3://bucket/runs/ckpt-1/sub/a.pt"
    assert CheckpointStore.parse("s3://bucket/runs/").where("a.pt").uri == "s3://bucket/runs/a.pt"
    assert CheckpointStore.parse("s3://bucket").where("a.pt").uri == "s3://bucket/a.pt"


def test_symlinks_are_read_as_the_container_reads_them(tmp_path):
    root = tmp_path / "ckpt"
    (root / "sub").mkdir(parents=True)
    (root / "a.pt").write_bytes(b"a")
    (root / "sub" / "b.pt").write_bytes(b"b")
    links = {
        "latest.pt": "a.pt", "sub/up.pt": "../a.pt", "abs.pt": "/opt/ml/checkpoints/sub/b.pt", "chain.pt": "latest.pt",
        "out.pt": "../../etc/passwd", "host.pt": "/etc/passwd", "other-mount.pt": "/opt/ml/model/x",
        "loop1": "loop2", "loop2": "loop1", "self": ".",
    }
    for name, target in links.items():
        os.symlink(target, root / name)
    assert link_target(root, "latest.pt", "/opt/ml/checkpoints") == "a.pt"
    assert link_target(root, "sub/up.pt", "/opt/ml/checkpoints") == "a.pt"
    assert link_target(root, "abs.pt", "/opt/ml/checkpoints/") == "sub/b.pt"
    assert link_target(root, "chain.pt", "/opt/ml/checkpoints") == "a.pt"
    for name in ("out.pt", "host.pt", "other-mount.pt", "loop1", "self"):
        with pytest.raises(Outside):
            link_target(root, name, "/opt/ml/checkpoints")
    with pytest.raises(Outside):
        link_target(root, "abs.pt")  # no mount point known: absolute links lead out


def test_folders_reached_through_symlinks_are_never_entered(tmp_path):
    root = tmp_path / "ckpt"
    (root / "real").mkdir(parents=True)
    (root / "real" / "x.pt").write_bytes(b"x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    os.symlink(tmp_path / "outside", root / "linked")
    files, folders = scan(root)
    assert sorted(files) == ["linked", "real/x.pt"] and folders == ["real"]
    assert lstat_inside(root, "linked/secret") is None
    assert lstat_inside(root, "real/x.pt").st_size == 1


def test_the_ledger_journal_survives_a_crash_mid_line(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = Ledger(path, {"a.pt": Signature(1, 2, 3)})
    ledger.save()
    ledger.set("b.pt", Signature(4, 5, 6))
    ledger.drop("a.pt")
    ledger.close()
    with open(path, "a") as handle:
        handle.write('{"set": "c.pt", "sig": [7, ')  # the process died while writing this line
    assert Ledger.load(path).entries == {"b.pt": Signature(4, 5, 6)}
    # What the attempt changed (for a takeover's summary) survives the journal and its rewrite;
    # restored files never changed are not among them.
    assert Ledger.load(path).changed == {"a.pt", "b.pt"}
    ledger = Ledger.load(path)
    ledger.set("r.pt", Signature(0, 0, 0))
    ledger.save()
    assert Ledger.load(path).changed == {"a.pt", "b.pt", "r.pt"}
    Ledger(path, {"restored.pt": Signature(1, 1, 1)}).save()  # a new attempt's restore
    assert Ledger.load(path).changed == set()


def test_the_view_folds_file_states_and_starts_over_on_a_spot_restart():
    view = CheckpointView()
    view.apply(ev.CheckpointsRestored("algo-1", 2, 10, 0.1, "s3://b/c"))
    view.apply(ev.CheckpointFileState("algo-1", "a.pt", "pending", 5))
    view.apply(ev.CheckpointFileState("algo-2", "a.pt", "retrying", 5, error="Cannot upload", attempts=2))
    view.apply(ev.CheckpointFileState("algo-1", "a.pt", "synced", 5, lag=0.3))
    assert [(r.host, r.state, r.lag) for r in view.rows()] == [("algo-1", "synced", 0.3), ("algo-2", "retrying", None)]
    assert view.files[("algo-2", "a.pt")].error == "Cannot upload"
    assert not view.apply(ev.LogLines("algo-1", ((1.0, "x"),)))
    view.apply(ev.AttemptStarted(2))
    assert view.rows() == [] and view.restored == {} and view.attempt == 2


def test_the_record_keeps_the_restores_and_the_last_summary():
    record = new_record({"TrainingJobName": "j"}, "arn", 0.0)
    apply_event(record, ev.CheckpointsRestored("algo-1", 3, 30, 0.25, "s3://b/c", time=1.0))
    apply_event(record, ev.CheckpointSummary(2, 20, 1, 4.5, synced=1, retrying=1, time=2.0))
    apply_event(record, ev.CheckpointSummary(2, 20, 0, None, synced=2, deleted=1, final=True, time=3.0))
    section = record["Workbench"]["Checkpoints"]
    assert section["Restored"] == {"algo-1": {"Files": 3, "Bytes": 30, "Seconds": 0.25, "Source": "s3://b/c"}}
    assert section["Summary"] == {"Files": 2, "Bytes": 20, "Synced": 2, "Pending": 0, "Retrying": 0, "Deleted": 1,
                                  "OldestUnsyncedAgeSeconds": None, "Final": True, "Time": "1970-01-01T00:00:03.000Z"}
    apply_event(record, ev.CheckpointsRestored("algo-1", 4, 40, 0.5, "s3://b/c", attempt=2, time=4.0))
    assert section["Attempt"] == 2 and section["Restored"]["algo-1"]["Files"] == 4


def test_checkpoint_events_round_trip_through_json():
    for event in (ev.CheckpointsRestored("algo-1", 1, 2, 0.5, "s3://b/c", 2, time=1.0),
                  ev.CheckpointFileState("algo-1", "a/b.pt", "retrying", 3, None, "err", 4, time=2.0),
                  ev.CheckpointSummary(1, 2, 3, 4.0, 5, 6, 7, True, time=3.0)):
        assert ev.event_from_dict(json.loads(json.dumps(event.to_dict()))) == event


@pytest.mark.parametrize("path, ok", [
    ("/opt/ml/checkpoints", True), ("/checkpoints", True), ("/opt/ml/model/ckpt", True),
    ("checkpoints", False), ("/", False), ("/opt", False), ("/opt/ml", False), ("/opt/ml/", False),
])
def test_local_path_must_be_absolute_and_not_hide_opt_ml(path, ok):
    extension = Checkpoints({"CheckpointConfig": {"S3Uri": "s3://b/c", "LocalPath": path}})
    if ok:
        extension._check_local_path()
    else:
        with pytest.raises(WorkbenchError, match="LocalPath"):
            extension._check_local_path()
