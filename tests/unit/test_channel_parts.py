"""Pure parts of the data channels: RecordIO framing, epoch order and shards, gzip streaming,
manifest parsing and reference rules, cache sizes and keys."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import pytest

from workbench.engine.channels import recordio
from workbench.engine.channels.manifests import attribute_bytes, parse_manifest, ref_location
from workbench.engine.channels.ordering import epoch_order, host_share
from workbench.engine.channels.pipe_content import CHUNK, gunzip
from workbench.engine.plan import ChannelPlan
from workbench.errors import StorageError
from workbench.storage.cache import cache_key, parse_size
from workbench.storage.objects import StoredObject
from workbench.storage.uri import Location


def test_recordio_header_length_flag_and_padding():
    assert recordio.header(5) == struct.pack("<II", 0xCED7230A, 5)
    assert recordio.header(7, recordio.LAST) == struct.pack("<II", 0xCED7230A, (3 << 29) | 7)
    assert [len(recordio.padding(n)) for n in range(6)] == [0, 3, 2, 1, 0, 3]
    assert recordio.frame(b"abcde") == recordio.header(5) + b"abcde\0\0\0"
    with pytest.raises(ValueError):
        recordio.header(1 << 29)


def test_recordio_splits_only_payloads_too_long_for_29_bits():
    assert list(recordio.parts(10)) == [(recordio.WHOLE, 0, 10)]
    assert list(recordio.parts(10, max_part=4)) == [(1, 0, 4), (2, 4, 4), (3, 8, 2)]
    assert list(recordio.parts(8, max_part=4)) == [(1, 0, 4), (3, 4, 4)]
    assert list(recordio.parts(0)) == [(0, 0, 0)]


def plan(**extra) -> ChannelPlan:
    base = dict(name="train", mode="Pipe", source=Location("s3", "b", "p/"), data_type="S3Prefix",
                distribution="FullyReplicated", hosts=("algo-1", "algo-2", "algo-3"))
    base.update(extra)
    return ChannelPlan(**base)


def test_epoch_order_is_deterministic_per_seed_and_epoch():
    items = list(range(20))
    assert epoch_order(items, None, 5) == items
    assert epoch_order(items, 7, 0) == epoch_order(items, 7, 0)
    assert epoch_order(items, 7, 0) != epoch_order(items, 7, 1)
    assert epoch_order(items, 7, 0) != epoch_order(items, 8, 0)
    assert sorted(epoch_order(items, 7, 3)) == items
    assert items == list(range(20))  # the input is left alone


def test_host_share_shuffles_then_deals_out():
    items = list(range(10))
    sharded = plan(distribution="ShardedByS3Key")
    assert host_share(sharded, items, "algo-2") == [1, 4, 7]
    shares = [host_share(plan(distribution="ShardedByS3Key", shuffle_seed=1), items, h, epoch=2)
              for h in ("algo-1", "algo-2", "algo-3")]
    assert sorted(sum(shares, [])) == items
    assert host_share(plan(), items, "algo-3") == items


def test_gunzip_streams_members_in_bounded_chunks():
    first, second = os.urandom(100), b"z" * (5 * CHUNK)  # compresses 5 MiB into a few KiB
    data = gzip.compress(first) + gzip.compress(second)
    byte_by_byte = list(gunzip((data[i:i + 1] for i in range(len(data))), "x"))
    assert b"".join(byte_by_byte) == first + second
    assert max(map(len, byte_by_byte)) <= CHUNK
    whole = list(gunzip([data], "x"))
    assert b"".join(whole) == first + second and max(map(len, whole)) <= CHUNK
    assert b"".join(gunzip([], "x")) == b""


def test_gunzip_refuses_bad_and_truncated_data():
    with pytest.raises(StorageError, match="not valid gzip"):
        list(gunzip([b"plain text, not gzip"], "s3://b/k"))
    with pytest.raises(StorageError, match="ends in the middle"):
        list(gunzip([gzip.compress(b"abc" * 1000)[:-10]], "s3://b/k"))


S3_MANIFEST = Location("s3", "b", "m.json")


def test_parse_manifest():
    prefix, rels = parse_manifest('[{"prefix": "s3://b/p/"}, "a.txt", "./sub//b.txt"]', S3_MANIFEST)
    assert (prefix, rels) == ("s3://b/p/", ["a.txt", "sub/b.txt"])


@pytest.mark.parametrize("text, message", [
    ('{"prefix": "s3://b/"}', "must be a JSON array"),
    ("[]", "must be a JSON array"),
    ('[{"prefix": "s3://b/"}, 3]', "entry 1 is int"),
    ('[{"prefix": "s3://b/"}, "../up"]', "entry 1 '../up' escapes its prefix"),
    ('[{"prefix": "s3://b/"}, "ok", "/abs"]', "entry 2 '/abs' escapes its prefix"),
    ('[{"prefix": "/etc/"}, "passwd"]', "may only list S3 objects"),
    ("[not json", "not valid JSON"),
])
def test_parse_manifest_refuses(text, message):
    with pytest.raises(StorageError, match=message.replace("(", r"\(")):
        parse_manifest(text, S3_MANIFEST)


def test_ref_locations(tmp_path):
    assert ref_location("s3://b/k.jpg", S3_MANIFEST, 1, "source-ref") == Location("s3", "b", "k.jpg")
    local_manifest = Location("file", path=tmp_path / "m.jsonl")
    assert ref_location("img/1.jpg", local_manifest, 1, "source-ref") == Location("file", path=tmp_path / "img" / "1.jpg")
    for bad, manifest, message in [
        ("file:///etc/passwd", S3_MANIFEST, "may only reference S3 objects"),
        ("../outside.jpg", local_manifest, "outside the manifest's folder"),
        ("s3://b/", S3_MANIFEST, "names no object"),
        (5, S3_MANIFEST, "is not a URI string"),
    ]:
        with pytest.raises(StorageError, match=message):
            ref_location(bad, manifest, 2, "source-ref")


def test_attribute_bytes():
    assert attribute_bytes("chat noir") == "chat noir".encode()
    assert attribute_bytes(1) == b"1"
    assert attribute_bytes({"class": [1, 2]}) == b'{"class":[1,2]}'


def test_parse_size_and_cache_keys():
    assert parse_size("20G") == 20 * 1024**3
    assert parse_size("1.5GiB") == int(1.5 * 1024**3)
    assert parse_size("512 mb") == 512 * 1024**2
    assert parse_size("100") == 100
    with pytest.raises(StorageError, match="is not a size"):
        parse_size("big")
    one = StoredObject(Location("s3", "b", "k"), "k", 10, "etag1", 0.0)
    assert cache_key(one) == cache_key(StoredObject(Location("s3", "b", "k"), "other/rel", 10, "etag1", 5.0))
    assert cache_key(one) != cache_key(StoredObject(Location("s3", "b", "k"), "k", 10, "etag2", 0.0))
    assert cache_key(one) != cache_key(StoredObject(Location("s3", "c", "k"), "k", 10, "etag1", 0.0))
    local = StoredObject(Location("file", path=Path("/d/k")), "k", 10, "10-123", 0.0)
    assert cache_key(local) != cache_key(StoredObject(Location("file", path=Path("/d/k")), "k", 10, "10-124", 0.0))
