"""Warm pools on disk: `<state>/warm-pools/<pool>/pool.json`, and its persistent cache.

Rules, from the SageMaker developer guide's warm pools page ("Warm pool lifecycle",
"Matching training jobs", "Considerations"; docs/contract.md cites them):
- a job with KeepAlivePeriodInSeconds > 0 that completes, is stopped, or fails with the
  algorithm's or the client's error leaves its pool Available for that long; one that
  fails for an internal reason does not (the pool is Terminated);
- the next job whose RoleArn, instance type and count, volume size and KMS key, VPC
  subnets and security groups, inter-container traffic encryption and network isolation
  are identical reuses it: the old job's status becomes Reused (ReusedByJob), the new
  one's InUse, and the pool takes on the new job's KeepAlivePeriodInSeconds; if that job
  sets none, the pool ends with it;
- no pool is kept for heterogeneous clusters (InstanceGroups) or managed spot training;
- a pool is Terminated when its keep-alive period runs out, when the user terminates it,
  and at the latest 28 days after its first job started.

Expiry is evaluated whenever pools are read (with the expiry time stored), so a pool
ends on time although no sm-workbench process runs at that moment. Every change happens
under one lock, so two jobs starting together never claim the same pool.
"""

from __future__ import annotations

import fcntl
import secrets
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from workbench.engine.plan import selected_instances
from workbench.engine.times import epoch, iso
from workbench.errors import WorkbenchError
from workbench.fileio import read_json, write_json_atomic
from workbench.paths import state_dir

CACHE_PATH = "/opt/ml/sagemaker/warmpoolcache"  # where the persistent cache is, in the container
CACHE_VARIABLE = "SAGEMAKER_MANAGED_WARMPOOL_CACHE_DIRECTORY"
MAX_CHAIN_SECONDS = 28 * 24 * 3600  # the live guide's "maximum warm pool duration" (the 2023 guide said 7 days)
INTERNAL = "InternalServerError"


def pools_dir() -> Path:
    path = state_dir() / "warm-pools"
    path.mkdir(parents=True, exist_ok=True)
    return path


def has_pools() -> bool:
    """Any pool was ever kept here (cheap: no lock, no reading)."""
    path = state_dir() / "warm-pools"
    return path.is_dir() and any(p.is_dir() for p in path.iterdir())


def keep_alive(spec: dict) -> int:
    value = (spec.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def match_key(spec: dict) -> dict | None:
    """What must be identical for a job to reuse a pool; None for a job that never uses one."""
    resources = spec.get("ResourceConfig") or {}
    if resources.get("InstanceGroups") or spec.get("EnableManagedSpotTraining") is True:
        return None
    instance_type, count = selected_instances(resources)
    vpc = spec.get("VpcConfig") or {}
    return {
        "RoleArn": spec.get("RoleArn"),
        "InstanceType": instance_type,
        "InstanceCount": count,
        "VolumeSizeInGB": resources.get("VolumeSizeInGB"),
        "VolumeKmsKeyId": resources.get("VolumeKmsKeyId"),
        "SecurityGroupIds": sorted(vpc.get("SecurityGroupIds") or []),
        "Subnets": sorted(vpc.get("Subnets") or []),
        "EnableInterContainerTrafficEncryption": bool(spec.get("EnableInterContainerTrafficEncryption")),
        "EnableNetworkIsolation": bool(spec.get("EnableNetworkIsolation")),
    }


@dataclass(frozen=True)
class Claim:
    pool_id: str
    reused_from: str  # the job whose pool this was ("" for a new pool)
    keep_alive: int


# --- the store --------------------------------------------------------------------------


@contextmanager
def _locked() -> Iterator[None]:
    with open(pools_dir() / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pool_folder(pool_id: str) -> Path:
    return pools_dir() / pool_id


def cache_folder(pool_id: str, host: str) -> Path:
    """A host's persistent cache (each instance of a pool has its own)."""
    return pool_folder(pool_id) / "cache" / host


def _load_all() -> list[dict]:
    pools = []
    for folder in sorted(pools_dir().iterdir()):
        pool = read_json(folder / "pool.json") if folder.is_dir() else None
        if isinstance(pool, dict) and pool.get("PoolId") == folder.name:
            pools.append(pool)
    return pools


def _save(pool: dict) -> None:
    write_json_atomic(pool_folder(pool["PoolId"]) / "pool.json", pool)


def _status(pool: dict) -> str:
    return pool["Jobs"][-1]["Status"] if pool.get("Jobs") else "Terminated"


def _retained(entry: dict, now: float) -> int:
    since = epoch(entry.get("AvailableTime"))
    if since is None:
        return 0
    until = epoch(entry.get("EndTime")) or now
    return max(0, int(round(until - since)))


def _terminate(pool: dict, at: float, reason: str) -> None:
    last = pool["Jobs"][-1]
    if last["Status"] == "Available":
        last["EndTime"] = iso(at)
    last["Status"] = "Terminated"
    pool["ExpiresAt"] = None
    pool["TerminatedTime"] = iso(at)
    pool["TerminationReason"] = reason
    shutil.rmtree(pool_folder(pool["PoolId"]) / "cache", ignore_errors=True)  # its instances are gone


def _expire(pool: dict, now: float) -> bool:
    """Terminate a pool whose time ran out (at the moment it ran out); True when it changed."""
    if _status(pool) != "Available":
        return False
    expires = epoch(pool.get("ExpiresAt"))
    chain_end = (epoch(pool.get("CreationTime")) or now) + MAX_CHAIN_SECONDS
    if expires is not None and now >= expires and expires <= chain_end:
        _terminate(pool, expires, "KeepAlivePeriodInSeconds ran out")
        return True
    if now >= chain_end:
        _terminate(pool, chain_end, f"the longest a warm pool lasts ({MAX_CHAIN_SECONDS // 86400} days) ran out")
        return True
    return False


def _read_fresh(now: float) -> list[dict]:
    """Every pool, expired ones terminated (and saved); call with the lock held."""
    pools = _load_all()
    for pool in pools:
        if _expire(pool, now):
            _save(pool)
    return pools


# --- a job's side ----------------------------------------------------------------------


def claim(spec: dict, job: str, image: str = "") -> Claim | None:
    """At a job's start: reuse a matching Available pool, or start a new one when the job
    asks for KeepAlivePeriodInSeconds; None when the job has no pool."""
    key = match_key(spec)
    if key is None:
        return None
    seconds = keep_alive(spec)
    now = time.time()
    with _locked():
        candidates = [p for p in _read_fresh(now) if _status(p) == "Available" and p.get("Match") == key]
        if candidates:
            pool = max(candidates, key=lambda p: epoch(p["Jobs"][-1].get("AvailableTime")) or 0.0)
            previous = pool["Jobs"][-1]
            previous.update({"Status": "Reused", "ReusedByJob": job, "EndTime": iso(now)})
            reused_from = previous["TrainingJobName"]
        elif seconds:
            pool = {"PoolId": "wp-" + secrets.token_hex(4), "Match": key, "CreationTime": iso(now), "Jobs": []}
            reused_from = ""
        else:
            return None
        pool["Jobs"].append({"TrainingJobName": job, "Status": "InUse", "StartTime": iso(now)})
        pool.update({"KeepAlivePeriodInSeconds": seconds, "ExpiresAt": None, "Image": image})
        _save(pool)
    return Claim(pool["PoolId"], reused_from, seconds)


def release(job: str, *, healthy: bool, now: float | None = None) -> dict | None:
    """At a job's end: its pool becomes Available for its keep-alive period, or is
    Terminated (no keep-alive, or a failure that may have harmed the cluster). Returns the
    job's WarmPoolStatus, None when it had no pool."""
    now = time.time() if now is None else now
    with _locked():
        for pool in _read_fresh(now):
            last = pool["Jobs"][-1] if pool.get("Jobs") else {}
            if last.get("TrainingJobName") != job or last.get("Status") != "InUse":
                continue
            seconds = int(pool.get("KeepAlivePeriodInSeconds") or 0)
            if healthy and seconds:
                last.update({"Status": "Available", "AvailableTime": iso(now)})
                pool["ExpiresAt"] = iso(now + seconds)
            else:
                _terminate(pool, now, "the job set no KeepAlivePeriodInSeconds" if healthy
                           else "the job failed for an internal reason")
            _save(pool)
            return warm_pool_status(last, now)
    return None


def healthy_ending(status: str, failure: str) -> bool:
    """Completed, stopped, or failed by the algorithm or the client: the pool is kept."""
    return status != "Failed" or not failure.startswith(INTERNAL)


def warm_pool_status(entry: dict, now: float | None = None) -> dict:
    """A job's WarmPoolStatus, as DescribeTrainingJob shapes it."""
    now = time.time() if now is None else now
    status: dict = {"Status": entry["Status"]}
    if entry["Status"] != "InUse":
        status["ResourceRetainedBillableTimeInSeconds"] = _retained(entry, now)
    if entry.get("ReusedByJob"):
        status["ReusedByJob"] = entry["ReusedByJob"]
    return status


def job_warm_pool(job: str) -> dict | None:
    """A job's WarmPoolStatus now (expiry evaluated), None when it never had a pool."""
    if not has_pools():
        return None
    now = time.time()
    with _locked():
        for pool in _read_fresh(now):
            for entry in pool.get("Jobs") or []:
                if entry.get("TrainingJobName") == job:
                    return warm_pool_status(entry, now)
    return None


# --- the `pools` commands --------------------------------------------------------------


@dataclass(frozen=True)
class PoolView:
    """One pool as `pools` lists it."""

    pool_id: str
    status: str
    instance_type: str
    instance_count: int
    last_job: str
    keep_alive: int
    expires_in: float | None  # seconds, while Available
    retained: int  # billable seconds retained so far, over every job that left it Available
    jobs: tuple[str, ...]
    cache: str
    reason: str  # why it was terminated

    def to_dict(self) -> dict:
        return {"PoolId": self.pool_id, "Status": self.status, "InstanceType": self.instance_type,
                "InstanceCount": self.instance_count, "LastJob": self.last_job,
                "KeepAlivePeriodInSeconds": self.keep_alive, "ExpiresInSeconds": self.expires_in,
                "ResourceRetainedBillableTimeInSeconds": self.retained, "Jobs": list(self.jobs),
                "CacheDirectory": self.cache, "TerminationReason": self.reason}


def _view(pool: dict, now: float) -> PoolView:
    jobs = pool.get("Jobs") or [{}]
    expires = epoch(pool.get("ExpiresAt"))
    match = pool.get("Match") or {}
    cache = pool_folder(pool["PoolId"]) / "cache"
    return PoolView(pool["PoolId"], _status(pool), str(match.get("InstanceType", "")),
                    int(match.get("InstanceCount") or 0), jobs[-1].get("TrainingJobName", ""),
                    int(pool.get("KeepAlivePeriodInSeconds") or 0),
                    max(0.0, expires - now) if expires is not None and _status(pool) == "Available" else None,
                    sum(_retained(e, now) for e in jobs), tuple(e.get("TrainingJobName", "") for e in jobs),
                    str(cache) if cache.is_dir() else "", pool.get("TerminationReason") or "")


def list_pools() -> list[PoolView]:
    """Every pool, newest first, expired ones terminated."""
    now = time.time()
    with _locked():
        pools = _read_fresh(now)
    pools.sort(key=lambda p: p.get("CreationTime", ""), reverse=True)
    return [_view(p, now) for p in pools]


def terminate(name: str) -> PoolView:
    """Terminate a pool, named by its id or by a job that used it (as UpdateTrainingJob
    with KeepAlivePeriodInSeconds 0 does on SageMaker)."""
    now = time.time()
    with _locked():
        pools = _read_fresh(now)
        found = [p for p in pools if p["PoolId"] == name] or [
            p for p in pools if any(e.get("TrainingJobName") == name for e in p.get("Jobs") or [])]
        if not found:
            known = ", ".join(p["PoolId"] for p in pools) or "none"
            raise WorkbenchError(f"No warm pool {name!r} (a pool id or a job that used it); pools: {known}. "
                                 "`sm-workbench pools` lists them")
        pool = found[-1]
        status = _status(pool)
        if status == "InUse":
            raise WorkbenchError(f"Warm pool {pool['PoolId']} is in use by {pool['Jobs'][-1]['TrainingJobName']}; "
                                 "it ends with that job unless the job keeps it (stop the job first)")
        if status == "Available":
            _terminate(pool, now, "terminated by the user")
            _save(pool)
    return _view(pool, now)
