"""Warm pools (issue 16, point 5): KeepAlivePeriodInSeconds leaves a pool Available; the next
matching job reuses it and finds the persistent cache the first one wrote; pools expire on
time and can be terminated."""

from __future__ import annotations

import json
import time

import pytest

from workbench.cli import main
from workbench.engine.api import describe_job, list_pools
from tests.integration.contract_jobs import contract_report, contract_spec
from tests.integration.jobs import run_spec, wait_for

pytestmark = pytest.mark.docker

CACHE = "/opt/ml/sagemaker/warmpoolcache"


def pool_job(tmp_path, keep_alive: int | None, instance_type: str = "ml.c5.xlarge") -> dict:
    resources = {"InstanceType": instance_type, "InstanceCount": 1}
    if keep_alive is not None:
        resources["KeepAlivePeriodInSeconds"] = keep_alive
    return contract_spec(tmp_path, environment={"PROBE_CACHE": "1"}, ResourceConfig=resources)


def cache_seen(ran) -> list[str]:
    [line] = [text for text in ran.log() if text.startswith("cache algo-1 ")]
    return json.loads(line[len("cache algo-1 "):])


def test_a_matching_job_reuses_the_pool_and_its_cache(tmp_path, images, capsys):
    first = run_spec(pool_job(tmp_path, 600), tmp_path)
    assert first.record["TrainingJobStatus"] == "Completed", first.record.get("FailureReason")
    assert first.record["WarmPoolStatus"]["Status"] == "Available"
    seen = contract_report(first)
    assert seen["env"]["SAGEMAKER_MANAGED_WARMPOOL_CACHE_DIRECTORY"] == CACHE
    assert f"dir {CACHE}" in seen["tree"] and cache_seen(first) == []

    # The hyperparameters, the image's entrypoint and the inputs need not match; the resources do.
    spec = pool_job(tmp_path, 600)
    spec["HyperParameters"] = {"lr": "0.5"}
    second = run_spec(spec, tmp_path)
    assert second.record["TrainingJobStatus"] == "Completed", second.record.get("FailureReason")
    assert cache_seen(second) == [first.name]  # the cache carried over
    earlier = describe_job(first.name)["WarmPoolStatus"]
    assert earlier["Status"] == "Reused" and earlier["ReusedByJob"] == second.name
    assert earlier["ResourceRetainedBillableTimeInSeconds"] >= 0
    assert describe_job(second.name)["WarmPoolStatus"]["Status"] == "Available"
    [pool] = list_pools()
    assert (pool.status, pool.last_job, pool.jobs) == ("Available", second.name, (first.name, second.name))
    assert 0 < pool.expires_in <= 600

    # A job that does not match (another instance type) gets no pool and no cache.
    other = run_spec(contract_spec(tmp_path, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1}),
                     tmp_path)
    assert "WarmPoolStatus" not in other.record
    assert "SAGEMAKER_MANAGED_WARMPOOL_CACHE_DIRECTORY" not in contract_report(other)["env"]

    assert main(["pools"]) == 0
    assert pool.pool_id in capsys.readouterr().out
    assert main(["pools", "terminate", second.name]) == 0
    assert describe_job(second.name)["WarmPoolStatus"]["Status"] == "Terminated"
    assert describe_job(first.name)["WarmPoolStatus"]["Status"] == "Reused"
    assert [p.status for p in list_pools()] == ["Terminated"]

    third = run_spec(pool_job(tmp_path, 600), tmp_path)  # the pool is gone: a fresh one, an empty cache
    assert cache_seen(third) == []


def test_a_pool_expires_when_its_keep_alive_runs_out(tmp_path, images):
    """No process runs when it expires: reading the pools finds it ended, at the moment it did."""
    first = run_spec(pool_job(tmp_path, 1, "ml.c5.2xlarge"), tmp_path)
    assert first.record["WarmPoolStatus"]["Status"] == "Available"
    wait_for(lambda: [p.status for p in list_pools()] == ["Terminated"], 10, "the pool to expire")
    status = describe_job(first.name)["WarmPoolStatus"]
    assert status == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 1}
    time.sleep(0.1)
    later = run_spec(pool_job(tmp_path, 1, "ml.c5.2xlarge"), tmp_path)
    assert cache_seen(later) == []  # a new pool
    assert len(list_pools()) == 2
