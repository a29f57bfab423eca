"""Helpers for data-channel tests: specs for the reader image, its reports, and an
independent RecordIO decoder (written from the format, not from the engine's code)."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

from tests.integration.jobs import probe_spec

READER = "smw-test/reader:latest"


def channel(name: str, uri: str, data_type: str = "S3Prefix", mode: str | None = None, **extra) -> dict:
    s3 = {"S3DataType": data_type, "S3Uri": uri}
    s3.update({k: v for k, v in extra.items() if k in ("S3DataDistributionType", "AttributeNames")})
    entry = {"ChannelName": name, "DataSource": {"S3DataSource": s3}}
    if mode:
        entry["InputMode"] = mode
    entry.update({k: v for k, v in extra.items() if k not in ("S3DataDistributionType", "AttributeNames")})
    return entry


def reader_spec(tmp_path: Path, channels: list[dict], mode: str = "Pipe", hosts: int = 1, **env) -> dict:
    spec = probe_spec(tmp_path, image=READER, hosts=hosts)
    spec["AlgorithmSpecification"]["TrainingInputMode"] = mode
    spec["InputDataConfig"] = channels
    spec["Environment"] = {f"READER_{k.upper()}": str(v) for k, v in env.items()}
    return spec


def report(ran, host: str = "algo-1") -> dict:
    return json.loads((ran.paths.opt_ml(host) / "output" / "data" / f"read-{host}.json").read_text())


def dumped(ran, channel: str, epoch: int, host: str = "algo-1") -> bytes:
    return (ran.paths.opt_ml(host) / "output" / "data" / f"{channel}_{epoch}.bin").read_bytes()


def decode_recordio(data: bytes) -> list[bytes]:
    """Records of an MXNet RecordIO stream: magic, (flag << 29 | length), payload, zero padding."""
    records, offset = [], 0
    while offset < len(data):
        magic, word = struct.unpack_from("<II", data, offset)
        assert magic == 0xCED7230A, f"bad magic {magic:#x} at {offset}"
        flag, length = word >> 29, word & ((1 << 29) - 1)
        assert flag == 0, f"unexpected multi-part flag {flag} at {offset}"
        offset += 8
        records.append(data[offset:offset + length])
        padded = length + (-length % 4)
        assert data[offset + length:offset + padded] == b"\0" * (padded - length), "padding is not zeros"
        offset += padded
    assert offset == len(data)
    return records


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)
