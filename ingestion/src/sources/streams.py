"""Opening a load target as a stream of event bytes: a local file or an HTTP download, gunzipped
on the fly when it starts with gzip's magic, with the compressed bytes counted and hashed on the
way (the backfill ledger records both). Nothing is written to disk.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import BinaryIO, Protocol, cast

import requests

from ghdw.sources.event_files import SNIFF_BYTES, container_format, open_member, refusal
from ghdw.sources.gharchive import Target

DOWNLOAD_TIMEOUT = (10, 120)  # seconds: connect, read between bytes


class Closeable(Protocol):
    def close(self) -> None: ...


class HashingReader:
    """Wraps a byte stream, counting and hashing what passes through (the compressed bytes)."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        self.bytes += len(data)
        return data

    def readable(self) -> bool:
        return True


def open_target(target: Target, session: requests.Session | None) -> tuple[BinaryIO, HashingReader, Closeable]:
    """A decompressed stream of the target, plus the hashing reader under it and what to close."""
    if target.uri.startswith(("http://", "https://")):
        session = session or requests.Session()
        response = session.get(target.uri, stream=True, timeout=DOWNLOAD_TIMEOUT)
        if response.status_code != 200:
            response.close()
            raise FileNotFoundError(f"{target.uri}: HTTP {response.status_code}")
        response.raw.decode_content = False  # we gunzip ourselves, streaming
        raw = cast(BinaryIO, response.raw)
        closer: Closeable = response
    elif target.member:
        raw = open_member(Path(target.uri), target.member, gunzip=False)
        closer = raw
    else:
        raw = open(target.uri, "rb")  # noqa: SIM115 - closed by the caller, through `closer`
        closer = raw
    hashing = HashingReader(raw)
    peek = hashing.read(SNIFF_BYTES)
    fmt = container_format(peek)
    if fmt not in (None, "gzip"):
        closer.close()
        raise refusal(target.name, fmt)
    rest = _Prefixed(peek, hashing)
    stream = gzip.GzipFile(fileobj=cast(BinaryIO, rest), mode="rb") if fmt == "gzip" else rest
    return cast(BinaryIO, stream), hashing, closer


class _Prefixed:
    """A stream that first returns `prefix` (bytes already read to sniff the format)."""

    def __init__(self, prefix: bytes, raw):
        self.prefix, self.raw = prefix, raw

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            if size is None or size < 0:
                data, self.prefix = self.prefix + self.raw.read(), b""
                return data
            data, self.prefix = self.prefix[:size], self.prefix[size:]
            return data + (self.raw.read(size - len(data)) if size > len(data) else b"")
        return self.raw.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readable(self) -> bool:
        return True
