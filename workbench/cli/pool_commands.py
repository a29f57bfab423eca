"""`pools [list|terminate POOL]`: the warm pools jobs with KeepAlivePeriodInSeconds leave behind."""

from __future__ import annotations

import json

from workbench.errors import WorkbenchError


def register(commands) -> None:
    pools = commands.add_parser("pools", help="list warm pools (KeepAlivePeriodInSeconds), or terminate one")
    pools.add_argument("action", nargs="?", choices=("list", "terminate"), default="list",
                       help="list (default): every pool and its status; terminate: end one (its cache goes too)")
    pools.add_argument("pool", nargs="?", metavar="POOL", help="terminate: a pool id (wp-...) or a job that used it")
    pools.add_argument("--json", action="store_true", help="print the pools as JSON")
    pools.set_defaults(func=pools_command)


def _expires(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f} s"


def pools_command(args) -> int:
    from workbench.engine.api import list_pools, terminate_pool  # deferred: engine

    if args.action == "terminate":
        if not args.pool:
            raise WorkbenchError("Name the pool to terminate: `sm-workbench pools terminate POOL` (a pool id from "
                                 "`sm-workbench pools`, or a job that used it)")
        view = terminate_pool(args.pool)
        if args.json:
            print(json.dumps(view.to_dict()))
        else:
            print(f"{view.pool_id}: {view.status} (last job {view.last_job}; retained "
                  f"{view.retained} billable s)")
        return 0
    if args.pool:
        raise WorkbenchError(f"`pools list` takes no pool; did you mean `sm-workbench pools terminate {args.pool}`?")
    views = list_pools()
    if args.json:
        print(json.dumps([v.to_dict() for v in views], indent=2))
        return 0
    if not views:
        print("No warm pools: a job with ResourceConfig.KeepAlivePeriodInSeconds leaves one when it ends")
        return 0
    rows = [("POOL", "STATUS", "INSTANCES", "LAST JOB", "KEEP ALIVE", "EXPIRES IN", "RETAINED")]
    rows += [(v.pool_id, v.status, f"{v.instance_count} × {v.instance_type}", v.last_job, f"{v.keep_alive} s",
              _expires(v.expires_in), f"{v.retained} s") for v in views]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0
