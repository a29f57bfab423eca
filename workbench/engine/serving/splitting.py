"""An input object's records and their mini-batches, as batch transform makes them.

botocore's TransformInput.SplitType: None sends each object whole; Line splits "on a
newline character boundary"; RecordIO and TFRecord split their binary framing, and "padding
is removed if the value of BatchStrategy is set to SingleRecord. Padding is not removed if
the value of BatchStrategy is set to MultiRecord". BatchStrategy: "MultiRecord ... sends
the maximum number of records in each request, up to the MaxPayloadInMB limit";
SingleRecord one record per request. "SageMaker processes each input file separately"
(never a mini-batch across objects). MaxPayloadInMB counts MiB: its default, 6, is
InvokeEndpoint's 6 MiB.

Here a Line record is a line without its newline; a SingleRecord request carries the record
alone, a MultiRecord request its records each followed by a newline. Empty lines are not
records. Reading is streamed: an object of any size costs one mini-batch of memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from workbench.errors import WorkbenchError
from workbench.units import human_bytes

MIB = 1024 * 1024
RECORDIO_MAGIC = 0xCED7230A


@dataclass(frozen=True)
class Record:
    payload: bytes  # what SingleRecord sends (padding removed)
    frame: bytes  # what MultiRecord sends (the record as the object holds it; Line: with its newline)
    original: bytes | None = None  # before DataProcessing's InputFilter (None: the payload), for the join


class RecordTooLarge(WorkbenchError):
    pass


def _lines(stream: BinaryIO) -> Iterator[Record]:
    for line in stream:
        payload = line[:-1] if line.endswith(b"\n") else line
        if payload.endswith(b"\r"):
            payload = payload[:-1]
        if payload:
            yield Record(payload, payload + b"\n")


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise WorkbenchError(f"the object ends inside a {what} record ({len(data)} of {size} bytes); is SplitType "
                             "right for it?")
    return data


def _recordio(stream: BinaryIO) -> Iterator[Record]:
    """MXNet RecordIO: magic, length word (3 bits of continuation flag, 29 of length), data,
    padding to 4 bytes; a record split in parts (flag 1, 2.., 3) is joined."""
    parts: list[bytes] = []
    frames: list[bytes] = []
    while True:
        head = stream.read(8)
        if not head:
            break
        if len(head) < 8:
            raise WorkbenchError("the object ends inside a RecordIO header; is SplitType right for it?")
        magic, word = struct.unpack("<II", head)
        if magic != RECORDIO_MAGIC:
            raise WorkbenchError(f"not RecordIO: a record starts with {magic:#010x}, not the magic number "
                                 f"{RECORDIO_MAGIC:#010x}; is SplitType right for it?")
        flag, length = word >> 29, word & ((1 << 29) - 1)
        data = _read_exact(stream, length, "RecordIO")
        padding = _read_exact(stream, (4 - length % 4) % 4, "RecordIO")
        parts.append(data)
        frames.append(head + data + padding)
        if flag in (0, 3):
            yield Record(b"".join(parts), b"".join(frames))
            parts, frames = [], []
    if parts:
        raise WorkbenchError("the object ends inside a multi-part RecordIO record")


def _tfrecord(stream: BinaryIO) -> Iterator[Record]:
    """TFRecord: length (8 bytes), its masked CRC (4), data, the data's masked CRC (4)."""
    while True:
        head = stream.read(12)
        if not head:
            break
        if len(head) < 12:
            raise WorkbenchError("the object ends inside a TFRecord header; is SplitType right for it?")
        (length,) = struct.unpack("<Q", head[:8])
        data = _read_exact(stream, length, "TFRecord")
        crc = _read_exact(stream, 4, "TFRecord")
        yield Record(data, head + data + crc)


def split_records(stream: BinaryIO, split_type: str) -> Iterator[Record]:
    """The records of one object (its decompressed stream)."""
    if split_type == "Line":
        return _lines(stream)
    if split_type == "RecordIO":
        return _recordio(stream)
    if split_type == "TFRecord":
        return _tfrecord(stream)
    data = stream.read()
    return iter([Record(data, data)])


def mini_batches(records: Iterator[Record], strategy: str, max_bytes: int,
                 split_type: str = "Line") -> Iterator[tuple[bytes, list[Record]]]:
    """(request body, its records) for each request, in order. A record larger than
    `max_bytes` fails the object, as MaxPayloadInMB "must be greater than, or equal to,
    the size of a single record"."""
    whole = split_type == "None"
    single = strategy == "SingleRecord" or whole
    pending: list[Record] = []
    size = 0
    for record in records:
        body = record.payload if single else record.frame
        if len(body) > max_bytes:
            what = "the object" if whole else "a record"
            raise RecordTooLarge(f"{what} is {human_bytes(len(body))}, more than MaxPayloadInMB "
                                 f"({human_bytes(max_bytes)}): raise MaxPayloadInMB (at most 100)"
                                 + ("" if not whole else ", or split it with SplitType: Line, RecordIO or TFRecord"))
        if single:
            yield body, [record]
            continue
        if pending and size + len(body) > max_bytes:
            yield b"".join(r.frame for r in pending), pending
            pending, size = [], 0
        pending.append(record)
        size += len(body)
    if pending:
        yield b"".join(r.frame for r in pending), pending
