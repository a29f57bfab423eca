"""How the data channels' own events fold into a job's record (`Workbench.Channels`;
the record's FOLDS table names these)."""

from __future__ import annotations

from workbench.engine import events as ev


def _channel(record: dict, name: str) -> dict:
    return record.setdefault("Workbench", {}).setdefault("Channels", {}).setdefault(name, {"Hosts": {}})


def fold_cache_used(record: dict, event: ev.CacheUsed) -> None:
    cache = _channel(record, event.channel).setdefault("Cache", {"Hits": 0, "HitBytes": 0, "Fetched": 0,
                                                                 "FetchedBytes": 0})
    cache["Hits"] += event.hits
    cache["HitBytes"] += event.hit_bytes
    cache["Fetched"] += event.fetched
    cache["FetchedBytes"] += event.fetched_bytes


def fold_pipe_epoch(record: dict, event: ev.PipeEpochFed) -> None:
    host = _channel(record, event.channel).setdefault("Hosts", {}).setdefault(event.host, {})
    host["Epochs"] = max(host.get("Epochs", 0), event.epoch + 1)
    host["PipeBytes"] = host.get("PipeBytes", 0) + event.bytes
    if event.closed_early:
        host["ClosedEarly"] = host.get("ClosedEarly", 0) + 1
