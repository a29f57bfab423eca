"""What one Pipe epoch writes: each object (or augmented-manifest attribute), decompressed and wrapped.

Content comes as pieces: bytes, or a `FileRange` that the feeder moves from a local
file (a cache entry, a local source) into the FIFO with splice, never through Python.
Objects not in the cache stream from S3 in chunks while they are being cached. Cache
entries are read through open files and never pinned, so a dataset bigger than the
cache streams through it (the least recently used entries make room). Memory
stays bounded whatever the object size: gzip output is produced in chunks, and a gzip
object wrapped in RecordIO (whose length must be known before it is sent) is spooled
to a temporary file once it outgrows a small buffer.
"""

from __future__ import annotations

import os
import tempfile
import threading
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator, Union

from workbench.engine.channels import recordio
from workbench.engine.channels.manifests import AugmentedLine, attribute_bytes, ref_location
from workbench.engine.plan import ChannelPlan
from workbench.errors import StorageError
from workbench.storage.cache import ContentCache
from workbench.storage.objects import StoredObject, stat_object
from workbench.storage.s3 import boto_errors, storage_error
from workbench.storage.uri import Location

CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileRange:
    fd: int  # an open regular file: a local source, or a cache entry (whole even if evicted meanwhile)
    offset: int
    length: int


Piece = Union[bytes, FileRange]


@dataclass
class EpochCounts:
    records: int = 0  # objects, or attributes of augmented lines
    fetched: int = 0  # objects streamed from S3 (not found in the cache)


def _chunks(stream: BinaryIO, what: str) -> Iterator[bytes]:
    try:
        while True:
            data = stream.read(CHUNK)
            if not data:
                return
            yield data
    except boto_errors() as err:
        raise storage_error(err, f"read {what}") from None
    except OSError as err:
        raise StorageError(f"Cannot read {what}: {err.strerror or err}") from None


def gunzip(chunks: Iterable[bytes], what: str) -> Iterator[bytes]:
    """Decompress gzip data (several members too) chunk by chunk, never more than CHUNK at once."""
    inflater = zlib.decompressobj(wbits=31)
    fed = False
    try:
        for chunk in chunks:
            data = chunk
            while data:
                fed = True
                out = inflater.decompress(data, CHUNK)
                if out:
                    yield out
                if inflater.eof:
                    data = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=31)
                    fed = False
                else:
                    data = inflater.unconsumed_tail
            while fed and not inflater.eof and inflater.unconsumed_tail == b"":
                out = inflater.decompress(b"", CHUNK)
                if not out:
                    break
                yield out
    except zlib.error as err:
        raise StorageError(f"{what} is not valid gzip data ({err}); compress it with gzip or set "
                           "CompressionType: None") from None
    if fed and not inflater.eof:
        raise StorageError(f"{what} ends in the middle of its gzip data; upload it again")


class PipeContent:
    """The pieces a channel writes for a host's share of one epoch."""

    def __init__(self, channel: ChannelPlan, cache: ContentCache) -> None:
        self.channel = channel
        self.cache = cache
        self.gzip = channel.compression == "Gzip"
        self.recordio = channel.record_wrapper == "RecordIO"
        self._refs: dict[Location, StoredObject] = {}
        self._refs_lock = threading.Lock()

    def pieces(self, items: list, counts: EpochCounts) -> Iterator[Piece]:
        for item in items:
            if isinstance(item, AugmentedLine):
                yield from self._line(item, counts)
            else:
                counts.records += 1
                yield from self._object(item, counts)

    # --- one object -------------------------------------------------------------------

    def _object(self, obj: StoredObject, counts: EpochCounts) -> Iterator[Piece]:
        local = self._open_local(obj)
        if local is None:
            counts.fetched += 1
        with local or self.cache.stream(obj) as source:
            if local is not None and not self.gzip:
                yield from self._file(local, obj)
                return
            chunks = _chunks(source, obj.location.uri)
            if self.gzip:
                chunks = gunzip(chunks, obj.location.uri)
                if self.recordio:
                    yield from self._spooled(chunks, obj.location.uri)
                    return
            elif self.recordio:
                yield from self._wrapped_stream(chunks, obj.size, obj.location.uri)
                return
            yield from chunks

    def _open_local(self, obj: StoredObject) -> BinaryIO | None:
        """The object as a local file: its own (a local source) or the cache's entry."""
        if obj.location.is_s3:
            return self.cache.open_entry(obj)
        assert obj.location.path is not None
        try:
            return open(obj.location.path, "rb")
        except OSError as err:
            raise StorageError(f"Cannot read {obj.location.uri}: {err.strerror or err}; check that it still exists") from None

    def _file(self, handle: BinaryIO, obj: StoredObject) -> Iterator[Piece]:
        size = os.fstat(handle.fileno()).st_size
        if not self.recordio:
            if size:
                yield FileRange(handle.fileno(), 0, size)
            return
        for flag, offset, length in recordio.parts(size):
            yield recordio.header(length, flag)
            if length:
                yield FileRange(handle.fileno(), offset, length)
            yield recordio.padding(length)

    def _wrapped_stream(self, chunks: Iterator[bytes], size: int, what: str) -> Iterator[Piece]:
        """An uncompressed S3 stream of known size, as RecordIO parts."""
        pending = b""
        sent = 0
        for flag, _, length in recordio.parts(size):
            yield recordio.header(length, flag)
            left = length
            while left:
                if not pending:
                    pending = next(chunks, b"")
                    if not pending:
                        raise StorageError(f"{what} ended after {sent} of {size} bytes; run again")
                piece, pending = pending[:left], pending[left:]
                left -= len(piece)
                sent += len(piece)
                yield piece
            yield recordio.padding(length)
        if pending or next(chunks, b""):
            raise StorageError(f"{what} is longer than the {size} bytes it was listed with; run again")

    def _spooled(self, chunks: Iterator[bytes], what: str) -> Iterator[Piece]:
        """Decompressed data of unknown length: buffered (in memory while small) to learn it."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            for chunk in chunks:
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            for flag, _, length in recordio.parts(size):
                yield recordio.header(length, flag)
                left = length
                while left:
                    data = spool.read(min(CHUNK, left))
                    left -= len(data)
                    yield data
                yield recordio.padding(length)

    # --- one augmented-manifest line ------------------------------------------------

    def _line(self, line: AugmentedLine, counts: EpochCounts) -> Iterator[Piece]:
        assert self.channel.source is not None
        for name, value in line.values:
            counts.records += 1
            if name.endswith("-ref"):
                obj = self._ref(ref_location(value, self.channel.source, line.number, name))
                yield from self._object(obj, counts)
            else:
                data = attribute_bytes(value)
                yield recordio.frame(data) if self.recordio else data

    def _ref(self, location: Location) -> StoredObject:
        with self._refs_lock:
            known = self._refs.get(location)
        if known is None:
            known = stat_object(location)
            with self._refs_lock:
                self._refs[location] = known
        return known
