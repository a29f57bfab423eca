"""MXNet RecordIO framing, as SageMaker wraps each object with RecordWrapperType: RecordIO.

A record is a little-endian u32 magic (0xced7230a), a u32 holding a 3-bit flag and a
29-bit length, the payload, and zero padding to a multiple of 4. A payload too long for
29 bits is split into parts (flag 1 first, 2 middle, 3 last) that readers such as
SageMaker's PipeModeDataset join back together; anything shorter is one whole record
(flag 0). The payload itself is written as is (no escaping of the magic inside it).
"""

from __future__ import annotations

import struct
from typing import Iterator

MAGIC = 0xCED7230A
MAX_PART = (1 << 29) - 1
WHOLE, FIRST, MIDDLE, LAST = 0, 1, 2, 3


def header(length: int, flag: int = WHOLE) -> bytes:
    if not 0 <= length <= MAX_PART:
        raise ValueError(f"a RecordIO part holds at most {MAX_PART} bytes, not {length}")
    return struct.pack("<II", MAGIC, (flag << 29) | length)


def padding(length: int) -> bytes:
    return b"\0" * (-length % 4)


def parts(length: int, max_part: int = MAX_PART) -> Iterator[tuple[int, int, int]]:
    """(flag, offset, part length) for a payload of `length` bytes."""
    if length <= max_part:
        yield WHOLE, 0, length
        return
    offset = 0
    while offset < length:
        size = min(max_part, length - offset)
        flag = FIRST if offset == 0 else (LAST if offset + size == length else MIDDLE)
        yield flag, offset, size
        offset += size


def frame(payload: bytes) -> bytes:
    """One small payload as a whole record."""
    return header(len(payload)) + payload + padding(len(payload))
