"""The content cache itself against moto's S3 server: hits and misses, LRU eviction under
a size limit, entries in use never evicted, concurrent jobs, dead jobs' leases, and
`sm-workbench cache info|clear`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from workbench.cli import main
from workbench.storage import Location, list_objects
from workbench.storage.cache import ContentCache

pytestmark = pytest.mark.s3


def put(s3, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def listed(bucket: str, prefix: str) -> dict[str, object]:
    return {o.location.key: o for o in list_objects(Location("s3", bucket, prefix))}


def test_hits_misses_and_least_recently_used_eviction(s3, bucket, state_home):
    put(s3, bucket, {f"lru/{name}": name.encode() * 1000 for name in "abc"})
    objs = listed(bucket, "lru/")
    cache = ContentCache(limit=2500)

    def use(*names: str):
        lease = cache.lease()
        result = lease.fetch([objs[f"lru/{n}"] for n in names])
        for n in names:
            assert result.path(objs[f"lru/{n}"]).read_bytes() == n.encode() * 1000
        lease.release()
        time.sleep(0.02)  # distinct last-use times
        return result

    assert (use("a").fetched, use("b").fetched) == (1, 1)
    assert use("a").hits == 1  # a is now more recently used than b
    use("c")  # 3000 bytes > 2500: the least recently used (b) goes
    stats = cache.stats()
    assert (stats.entries, stats.bytes) == (2, 2000)
    assert not cache.entry_path(objs["lru/b"]).exists()
    again = use("a", "b", "c")
    assert (again.hits, again.fetched) == (2, 1)


def test_entries_in_use_are_never_evicted(s3, bucket, state_home):
    put(s3, bucket, {"use/x": b"x" * 100, "use/y": b"y" * 100})
    objs = listed(bucket, "use/")
    cache = ContentCache(limit=0)
    lease = cache.lease()
    result = lease.fetch(list(objs.values()))  # over the limit at once, but in use
    assert cache.stats().in_use_entries == 2
    cleared = cache.clear()
    assert (cleared.removed, cleared.kept) == (0, 2)
    assert all(result.path(o).read_bytes() == o.location.key[-1].encode() * 100 for o in objs.values())
    lease.release()  # no longer in use: the limit applies
    assert cache.stats().entries == 0


def test_concurrent_jobs_always_read_whole_right_data(s3, bucket, state_home):
    bodies = {f"many/{i:02d}": os.urandom(5000 + i) for i in range(24)}
    put(s3, bucket, bodies)
    objs = list(listed(bucket, "many/").values())
    cache = ContentCache(limit=40_000)  # far less than the data: evictions all the time
    errors: list[str] = []
    stop = threading.Event()

    def job(seed: int) -> None:
        try:
            for round_ in range(4):
                lease = cache.lease()
                chosen = objs[seed % 3::2] if round_ % 2 else objs
                result = lease.fetch(chosen, workers=4)
                for obj in chosen:
                    if result.path(obj).read_bytes() != bodies[obj.location.key]:
                        errors.append(f"job {seed} read a wrong {obj.location.key}")
                lease.release()
        except Exception as err:  # noqa: BLE001  (reported below, not lost in a thread)
            errors.append(f"job {seed}: {err!r}")

    def janitor() -> None:
        while not stop.is_set():
            cache.clear()

    cleaner = threading.Thread(target=janitor)
    cleaner.start()
    jobs = [threading.Thread(target=job, args=(n,)) for n in range(4)]
    for thread in jobs:
        thread.start()
    for thread in jobs:
        thread.join()
    stop.set()
    cleaner.join()
    assert errors == []
    leftovers = [p for p in cache.objects.rglob("*") if p.is_file() and p.name.endswith(".wbtmp")]
    assert leftovers == []


def test_a_dead_jobs_lease_is_dropped(s3, bucket, state_home, s3_server):
    put(s3, bucket, {"dead/z": b"z" * 10})
    script = (
        "import sys\n"
        "from workbench.storage import Location, list_objects\n"
        "from workbench.storage.cache import ContentCache\n"
        f"lease = ContentCache().lease(); lease.fetch(list_objects(Location('s3', {bucket!r}, 'dead/')))\n"
        "print(lease.folder)\n"  # exits without release(), as a killed job would
    )
    env = dict(os.environ, AWS_ENDPOINT_URL=s3_server)
    folder = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True,
                            text=True).stdout.strip()
    cache = ContentCache()
    assert os.path.isdir(folder) and cache.stats().leases == 0  # seen as dead, and dropped
    assert not os.path.exists(folder)
    assert cache.clear().removed == 1


def test_a_stream_becomes_an_entry_only_when_read_to_its_end(s3, bucket, state_home):
    put(s3, bucket, {"s/whole": b"w" * 300_000, "s/part": b"p" * 300_000, "s/huge": b"h" * 300_001})
    objs = listed(bucket, "s/")
    cache = ContentCache(limit=300_000)
    with cache.stream(objs["s/part"]) as stream:
        assert stream.read(1000) == b"p" * 1000
    with cache.stream(objs["s/whole"]) as stream:
        while stream.read(65536):
            pass
    with cache.stream(objs["s/huge"]) as stream:  # more than the whole cache may hold: streamed only
        assert stream.read() == b"h" * 300_001
    assert not cache.entry_path(objs["s/part"]).exists()
    assert not cache.entry_path(objs["s/huge"]).exists()
    assert cache.entry_path(objs["s/whole"]).read_bytes() == b"w" * 300_000
    assert not [p for p in cache.objects.rglob("*.wbtmp")]


def test_an_open_entry_stays_whole_when_evicted_while_read(s3, bucket, state_home):
    put(s3, bucket, {"o/a": b"a" * 100_000})
    obj = listed(bucket, "o/")["o/a"]
    big = ContentCache()
    with big.stream(obj) as stream:
        stream.read()
    handle = big.open_entry(obj)  # Pipe reads entries like this: nothing pinned
    assert big.clear().removed == 1 and not big.entry_path(obj).exists()
    with handle:
        assert handle.read() == b"a" * 100_000  # the open file is whole all the same
    assert big.open_entry(obj) is None


def test_cache_info_and_clear_commands(s3, bucket, state_home, capsys):
    put(s3, bucket, {"cli/a": b"a" * 2048})
    lease = ContentCache().lease()
    lease.fetch(list(listed(bucket, "cli/").values()))
    lease.release()
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "entries:  1 (2.0 KB)" in out and str(state_home / "cache" / "data") in out
    assert main(["cache", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["Entries"] == 1
    assert main(["cache", "clear"]) == 0
    assert "removed 1 entries (2.0 KB)" in capsys.readouterr().out
    assert ContentCache().stats().entries == 0


def test_a_bad_size_limit_is_a_one_line_error(state_home, monkeypatch, capsys):
    monkeypatch.setenv("SM_WORKBENCH_CACHE_SIZE", "a lot")
    assert main(["cache"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: SM_WORKBENCH_CACHE_SIZE='a lot' is not a size; write it like 20G, 512M or 1.5GiB")
