"""Endpoints and transform jobs in the one job history, through the same API calls as
training jobs (records written by the engine's own store; no container)."""

import pytest

from tests.tui.fake_jobs import T0, make_endpoint, make_job
from workbench.cli import main
from workbench.engine import api, control
from workbench.engine.store import job_paths
from workbench.errors import JobStateError, NameClash


def test_the_history_lists_endpoints_beside_training_jobs(capsys):
    make_job("fit-1", start=T0)
    make_endpoint("fit-1-endpoint", start=T0 + 10)
    make_endpoint("old-endpoint", start=T0 + 5, running=False)
    names = [r.get("EndpointName") or r.get("TrainingJobName") for r in api.job_history().records]
    assert names == ["fit-1-endpoint", "old-endpoint", "fit-1"]
    assert main(["jobs"]) == 0
    rows = {line.split()[0]: line.split()[1:5] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["fit-1-endpoint"] == ["local", "endpoint", "InService", "Serving"]
    assert rows["old-endpoint"] == ["local", "endpoint", "OutOfService", "Stopped"]
    assert api.describe_job("fit-1-endpoint")["EndpointStatus"] == "InService"
    assert api.job_hosts("fit-1-endpoint") == ["AllTraffic"]
    assert [text for _, _, text in api.read_logs("fit-1-endpoint")][0].startswith("serve: y = 2.0 x")


def test_one_namespace_for_every_kind():
    from workbench.engine.serving.kinds import free_name

    make_job("fit-1", start=T0)
    make_endpoint("fit-1-endpoint", start=T0 + 10)
    assert free_name("fit-1-endpoint") == "fit-1-endpoint-2"
    assert free_name("fit-1") == "fit-1-2"  # an endpoint cannot take a training job's name
    assert len(free_name("x" * 70)) == 63
    with pytest.raises(NameClash):
        from workbench.engine.store import create_job_dir

        create_job_dir("fit-1-endpoint")


def test_what_an_endpoint_refuses(capsys):
    make_endpoint("ep", start=T0)
    with pytest.raises(JobStateError, match="is an endpoint; only managed spot training jobs"):
        api.interrupt_job("ep")
    with pytest.raises(JobStateError, match="sm-workbench serve"):
        api.rerun_spec("ep")
    with pytest.raises(JobStateError, match="still InService"):
        api.remove_job("ep")
    assert main(["rerun", "ep"]) == 2
    assert "not a training job" in capsys.readouterr().err


def test_stop_is_a_request_to_the_process_that_serves_it():
    make_endpoint("ep", start=T0)
    api.stop_job("ep", wait=False)
    assert (job_paths("ep").control / "stop").exists()


def test_an_endpoint_whose_process_died_ends_failed():
    """`kill -9` of a foreground `serve`: the next look at the endpoint ends it."""
    make_endpoint("ep", start=T0)
    paths = job_paths("ep")
    control.claim(paths, pid=2 ** 22 + 12345, role="foreground")  # no such process
    record = api.describe_job("ep")
    assert record["EndpointStatus"] == "Failed" and "ended without stopping it" in record["FailureReason"]
    api.remove_job("ep")
    assert not paths.root.exists()
