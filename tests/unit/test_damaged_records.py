"""A damaged describe.json in the job history: the list goes on without it (with a
warning naming its folder), `describe` and `logs` on it say what is wrong, `rm` removes it."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.tui.fake_jobs import T0, make_job
from workbench.cli import main
from workbench.engine import api
from workbench.engine import events as ev
from workbench.engine.store import JobRecorder, existing_job, load_record
from workbench.paths import jobs_dir

DAMAGE = {
    "not JSON": (b'{"TrainingJobName": "bad-job", ', "is not valid JSON"),
    "a JSON list": (b"[1, 2]", "holds a JSON list, not a job record"),
    "null": (b"null", "holds a JSON null, not a job record"),
    "no name": (b'{"TrainingJobStatus": "Completed"}', "has no TrainingJobName"),
    "another job's name": (b'{"TrainingJobName": "someone-else"}', "names the job 'someone-else', not 'bad-job'"),
    "time not a time": (b'{"TrainingJobName": "bad-job", "CreationTime": "yesterday"}',
                        "has a CreationTime that is not a time"),
    "time a number": (b'{"TrainingJobName": "bad-job", "CreationTime": 5}', "has a CreationTime that is not a time"),
    "status not text": (b'{"TrainingJobName": "bad-job", "TrainingJobStatus": 3}',
                        "has a TrainingJobStatus that is not text"),
    "resources a list": (b'{"TrainingJobName": "bad-job", "ResourceConfig": []}',
                         "has a ResourceConfig that is not a mapping"),
    "group count text": (b'{"TrainingJobName": "bad-job", "ResourceConfig": {"InstanceGroups": '
                         b'[{"InstanceGroupName": "a", "InstanceType": "t", "InstanceCount": "x"}]}}',
                         "has an InstanceCount that is not a whole number"),
    "nested too deep": (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deep"),
    "not UTF-8": (b'{"TrainingJobName": "\xff"}', "is not UTF-8 text"),
}


def damaged_job(content: bytes | None) -> str:
    """A finished job "bad-job" whose describe.json holds `content` (None: a folder)."""
    folder = make_job("bad-job", start=T0)
    describe = folder / "describe.json"
    describe.unlink()
    if content is None:
        describe.mkdir()
    else:
        describe.write_bytes(content)
    return str(folder)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_jobs_lists_the_others_and_warns_about_the_damaged_one(damage, capsys):
    """One describe.json that was JSON but not a record (or not JSON at all) made `jobs`
    and `jobs --json` exit 70 (KeyError, AttributeError, ValueError...)."""
    content, problem = DAMAGE[damage]
    make_job("good-job", start=T0 + 10)
    folder = damaged_job(content)
    assert main(["jobs"]) == 0
    out, err = capsys.readouterr()
    assert "good-job" in out and "bad-job" not in out
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"warning: skipped {folder}: describe.json ") and problem in err
    assert err.strip().endswith("restore it, or remove the job with `sm-workbench rm bad-job`")
    assert main(["jobs", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [r["TrainingJobName"] for r in json.loads(out)] == ["good-job"]
    assert problem in err
    history = api.job_history()
    assert [r["TrainingJobName"] for r in history.records] == ["good-job"]
    assert [(str(s.folder), problem in s.problem) for s in history.skipped] == [(folder, True)]


@pytest.mark.parametrize("damage", ["not JSON", "a JSON list", "no name", "nested too deep", "a folder"])
def test_describe_and_logs_say_what_is_wrong_and_rm_removes_it(damage, capsys):
    """`describe`/`logs` on such a job exited 70; `rm` could not remove it either."""
    content, problem = DAMAGE.get(damage, (None, "cannot be read"))
    folder = damaged_job(content)
    for command in (["describe", "bad-job"], ["logs", "bad-job"]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "internal error" not in err
        assert err.startswith(f"error: {folder}/describe.json ") and problem in err
        assert err.endswith("so the job cannot be shown; restore the file, or remove the job with "
                            "`sm-workbench rm bad-job`")
    assert main(["rm", "bad-job"]) == 0
    assert not os.path.exists(folder)
    assert main(["jobs"]) == 0
    assert capsys.readouterr().err == ""


def test_rm_refuses_a_damaged_job_a_live_process_runs(capsys):
    folder = make_job("bad-job", start=T0, running=True)  # "run" by this test process
    (folder / "describe.json").write_text("[]")
    assert main(["rm", "bad-job"]) == 2
    assert "is run by a live process" in capsys.readouterr().err
    assert folder.exists()


def test_the_history_reads_only_records_that_changed():
    """The TUI lists jobs every second, and every poll parsed every describe.json (30% of a
    core with 1,000 jobs while idle). Unchanged records are now the same objects as the
    last read; a changed, added or damaged one is read again."""
    for index in range(3):
        make_job(f"job-{index}", start=T0 + index)
    past = time.time() - 60
    for folder in jobs_dir().iterdir():  # written a while ago: no racy (same-tick) rewrite possible
        os.utime(folder / "describe.json", (past, past))
    first = api.job_history().records
    second = api.job_history().records
    assert [r["TrainingJobName"] for r in first] == ["job-2", "job-1", "job-0"]
    assert all(a is b for a, b in zip(first, second))
    paths = existing_job("job-1")
    recorder = JobRecorder(paths, load_record(paths))
    recorder(ev.Notice("info", "changed"))
    recorder.close()
    third = api.job_history().records
    assert third[0] is first[0] and third[2] is first[2]
    assert third[1] is not first[1] and third[1]["Workbench"]["Notices"][-1]["Message"] == "changed"
    (jobs_dir() / "job-0" / "describe.json").write_text("{}")
    history = api.job_history()
    assert [r["TrainingJobName"] for r in history.records] == ["job-2", "job-1"]
    assert [s.folder.name for s in history.skipped] == ["job-0"]


def test_a_job_that_ended_is_never_taken_over_from_an_older_read(monkeypatch):
    """Seen in a full test run: the history handed reconcile its cached copy of a job's
    record (still Stopping) just after the job's worker wrote Stopped and exited; the
    owner was dead, so a taker was started, found no containers and turned the Stopped
    job into Failed. A job is taken over only when its record on disk is unfinished."""
    from workbench.engine import control, local_jobs
    from workbench.engine.record import new_record
    from workbench.engine.store import create_job_dir
    from workbench.fileio import write_json_atomic

    paths = create_job_dir("ended-job")
    older = new_record({"TrainingJobName": "ended-job"}, "arn", 0.0)
    older.update(TrainingJobStatus="Stopping", SecondaryStatus="Stopping")
    write_json_atomic(paths.describe, dict(older, TrainingJobStatus="Stopped", SecondaryStatus="Stopped"))
    control.claim(paths, pid=2**22 + 12345)  # no such process
    started = []
    monkeypatch.setattr(local_jobs, "spawn_worker", lambda *args: started.append(args))
    assert local_jobs.reconcile(paths, older)["TrainingJobStatus"] == "Stopped"
    assert started == []
