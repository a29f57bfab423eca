"""`cache [info|clear]`: the shared data cache that File, FastFile and Pipe channels read S3 objects from."""

from __future__ import annotations

import json

from workbench.units import human_bytes


def register(commands) -> None:
    cache = commands.add_parser("cache", help="show or clear the shared data cache of S3 objects")
    cache.add_argument("action", nargs="?", choices=("info", "clear"), default="info",
                       help="info (default): what it holds; clear: remove every entry no running job uses")
    cache.add_argument("--json", action="store_true", help="print the figures as JSON")
    cache.set_defaults(func=cache_command)


def cache_command(args) -> int:
    from workbench.engine.api import cache_stats, clear_cache  # deferred: engine
    from workbench.storage.cache import LIMIT_ENV  # deferred: storage

    if args.action == "clear":
        done = clear_cache()
        if args.json:
            print(json.dumps({"Removed": done.removed, "RemovedBytes": done.removed_bytes,
                              "KeptInUse": done.kept, "KeptInUseBytes": done.kept_bytes}))
        else:
            print(f"removed {done.removed} entries ({human_bytes(done.removed_bytes)})")
            if done.kept:
                print(f"kept {done.kept} entries ({human_bytes(done.kept_bytes)}) that running jobs use")
        return 0
    stats = cache_stats()
    if args.json:
        print(json.dumps({"Path": str(stats.root), "Entries": stats.entries, "Bytes": stats.bytes,
                          "LimitBytes": stats.limit, "InUseEntries": stats.in_use_entries,
                          "InUseBytes": stats.in_use_bytes, "RunningJobs": stats.leases}))
        return 0
    print(f"path:     {stats.root}")
    print(f"entries:  {stats.entries} ({human_bytes(stats.bytes)})")
    print(f"limit:    {human_bytes(stats.limit)} (set {LIMIT_ENV}, e.g. {LIMIT_ENV}=50G); "
          "least recently used entries go first")
    print(f"in use:   {stats.in_use_entries} entries ({human_bytes(stats.in_use_bytes)}) by "
          f"{stats.leases} running job{'s' if stats.leases != 1 else ''}")
    return 0
