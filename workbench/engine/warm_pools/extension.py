"""A job's warm pool: claimed when the job starts, its cache mounted, handed back at the end.

The persistent cache is where the developer guide's "Using persistent cache" puts it,
`/opt/ml/sagemaker/warmpoolcache`, named by `SAGEMAKER_MANAGED_WARMPOOL_CACHE_DIRECTORY`
(the SageMaker Python SDK reads that variable); each host has its own, kept with the pool.
Spot restarts and retries stay on the same pool, as they stay on the same cluster.
"""

from __future__ import annotations

from workbench.engine import events as ev
from workbench.engine.container_user import WIDE
from workbench.engine.extension import Extension, JobContext
from workbench.engine.warm_pools import store


class WarmPool(Extension):
    def __init__(self) -> None:
        self.claim: store.Claim | None = None

    def prepare(self, ctx: JobContext) -> None:
        if self.claim is None and ctx.attempt == 1:
            image = (ctx.spec.get("AlgorithmSpecification") or {}).get("TrainingImage", "")
            self.claim = store.claim(ctx.spec, ctx.name, image)
            if self.claim is None:
                return
            if self.claim.reused_from:
                ctx.emit(ev.Notice("info", f"Warm pool {self.claim.pool_id}: reusing the pool "
                                           f"{self.claim.reused_from} left, with its persistent cache"))
            ctx.emit(ev.WarmPoolChanged(self.claim.pool_id, {"Status": "InUse"}))
        if self.claim is None:
            return
        for host in ctx.plan.host_names:
            folder = store.cache_folder(self.claim.pool_id, host)
            folder.mkdir(parents=True, exist_ok=True)
            (ctx.access or WIDE).writable(folder)

    def container_options(self, ctx: JobContext, host) -> dict:
        if self.claim is None:
            return {}
        folder = store.cache_folder(self.claim.pool_id, host.name)
        return {"volumes": {str(folder): {"bind": store.CACHE_PATH, "mode": "rw"}},
                "environment": {store.CACHE_VARIABLE: store.CACHE_PATH}}

    def finished(self, ctx: JobContext, status: str, failure: str) -> None:
        """By job name, so a process that took the job over hands the pool back too."""
        status_now = store.release(ctx.name, healthy=store.healthy_ending(status, failure))
        if status_now is None:
            return
        pool = self.claim.pool_id if self.claim else ""
        ctx.emit(ev.WarmPoolChanged(pool, status_now))
        if status_now["Status"] == "Available":
            ctx.emit(ev.Notice("info", f"Warm pool{' ' + pool if pool else ''}: Available for "
                                       f"{store.keep_alive(ctx.spec)} s to the next matching job "
                                       "(`sm-workbench pools` lists pools)"))
