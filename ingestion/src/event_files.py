"""Read GitHub events from files in the shapes real data comes in.

* a JSON array (a GET /events response), pretty-printed or not;
* JSON lines (GH Archive: one event per line), streamed in bounded chunks;
* a single event object, pretty-printed, or several concatenated;
* gzip of any of these (detected from the magic bytes, not the file name).

JSON lines are passed on as raw bytes: the loader hands them to PostgreSQL's COPY
without parsing them in Python. The other shapes are small (API pages, fixtures) and
are parsed here and re-serialised one event per line. Text that cannot be read as
JSON becomes a `Reject` for the dead-letter queue instead of stopping the load.
"""
from __future__ import annotations

import glob
import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

GZIP_MAGIC = b"\x1f\x8b"
# Reading in 1 MiB blocks bounds memory and means a damaged gzip loses at most the
# block it broke in, not the chunk being assembled.
READ_BLOCK_BYTES = 1 << 20
# ~16 MiB of JSON lines (5-8k GH Archive events) per COPY/INSERT round trip.
DEFAULT_CHUNK_BYTES = 16 << 20


# What a directory given as input contributes: the event files in it (JSON, JSON lines, gzip).
INPUT_PATTERNS = ("*.json", "*.json.gz", "*.jsonl", "*.jsonl.gz", "*.ndjson", "*.gz")


def expand_inputs(names: list[str]) -> list[Path]:
    """Files named directly or by a glob, plus the event files inside named directories, each
    group sorted. A name that matches nothing raises FileNotFoundError naming it."""
    found: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted({p for pattern in INPUT_PATTERNS for p in path.glob(pattern) if p.is_file()}))
        elif path.is_file():
            found.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(name) if Path(m).is_file())
            if not matches:
                raise FileNotFoundError(f"no such file or directory: {name}")
            found.extend(matches)
    return found


class InputDamaged(Exception):
    """The file ended early or is corrupt; everything before the damage was yielded."""


@dataclass
class Reject:
    raw_text: str
    reason: str
    line: int | None = None


@dataclass
class Chunk:
    """A piece of input: `data` is newline-separated JSON texts starting at line `first_line`."""
    data: bytes = b""
    first_line: int = 1
    rejects: list[Reject] = field(default_factory=list)


def open_binary(path: Path) -> BinaryIO:
    """Open a file for reading bytes, transparently gunzipping if it starts with gzip's magic."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_blocks(stream: BinaryIO) -> Iterator[bytes]:
    # read1 returns what one step of decompression produced, so when the stream breaks
    # only that step's output is lost, not a whole block's worth.
    read = getattr(stream, "read1", stream.read)
    while True:
        try:
            block = read(READ_BLOCK_BYTES)
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
            raise InputDamaged(f"compressed data is truncated or corrupt: {exc}") from exc
        if not block:
            return
        yield block


def iter_json_lines(blocks: Iterator[bytes], chunk_bytes: int, first_line: int = 1) -> Iterator[Chunk]:
    """Group a byte stream into chunks of whole lines, about `chunk_bytes` each."""
    pending: list[bytes] = []
    pending_size = 0
    line = first_line
    damage: InputDamaged | None = None
    try:
        for block in blocks:
            pending.append(block)
            pending_size += len(block)
            if pending_size >= chunk_bytes:
                data = b"".join(pending)
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield Chunk(data=data[:cut], first_line=line)
                    line += data.count(b"\n", 0, cut)
                    data = data[cut:]
                pending, pending_size = [data], len(data)
    except InputDamaged as exc:
        damage = exc  # still hand over every line read before the damage
    data = b"".join(pending)
    if data.strip():
        yield Chunk(data=data, first_line=line)
    if damage is not None:
        raise damage


def _events_to_chunk(values: list, first_line: int = 1) -> Chunk:
    lines = [json.dumps(value, separators=(",", ":")) for value in values]
    return Chunk(data="\n".join(lines).encode("utf-8"), first_line=first_line)


def _parse_documents(text: str) -> tuple[list, Reject | None]:
    """Parse one or more concatenated JSON documents; arrays are flattened into events."""
    decoder = json.JSONDecoder()
    values: list = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return values, None
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            line = text.count("\n", 0, position) + 1
            return values, Reject(text[position:], f"invalid JSON: {exc.msg} (line {exc.lineno})", line)
        if isinstance(value, list):
            values.extend(value)
        else:
            values.append(value)


def iter_file_chunks(path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
    """Yield the events of one file as chunks; raises InputDamaged after the good part."""
    with open_binary(Path(path)) as stream:
        yield from iter_stream_chunks(stream, chunk_bytes)


def iter_stream_chunks(stream: BinaryIO, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
    """Yield the events of a readable (already decompressed) byte stream as chunks."""
    blocks = _read_blocks(stream)
    head = b""
    for block in blocks:
        head += block
        if head.strip():
            break
    stripped = head.lstrip()
    if not stripped:
        return
    first_line_end = stripped.find(b"\n")
    first_line = stripped if first_line_end < 0 else stripped[:first_line_end]
    is_json_lines = False
    if stripped[:1] == b"{":
        try:
            json.loads(first_line)
            is_json_lines = True
        except ValueError:
            is_json_lines = False
    elif stripped[:1] != b"[":
        is_json_lines = True  # not JSON at all: let each line be judged (and dead-lettered)

    def all_blocks() -> Iterator[bytes]:
        yield head
        yield from blocks

    if is_json_lines:
        yield from iter_json_lines(all_blocks(), chunk_bytes)
        return

    # A JSON array or pretty-printed object(s): small by nature, parsed whole.
    raw = b"".join(all_blocks())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Chunk(rejects=[Reject(raw.decode("utf-8", "backslashreplace"),
                                    f"not UTF-8: {exc.reason} at byte {exc.start}", 1)])
        return
    values, reject = _parse_documents(text)
    chunk = _events_to_chunk(values)
    if reject:
        chunk.rejects.append(reject)
    yield chunk


_END = object()


def prefetched(chunks: Iterator[Chunk], depth: int = 1) -> Iterator[Chunk]:
    """Read the next chunk(s) in a background thread while the caller loads the current one.

    Downloading, gunzipping and splitting release the GIL (sockets, zlib), and so does
    psycopg2 while PostgreSQL works, so on two cores the reading overlaps the loading.
    Memory stays bounded: at most `depth` chunks wait in the queue. An exception in the
    reader (a damaged gzip) is raised here after the chunks that preceded it.
    """
    import queue
    import threading

    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        handoff.put(chunk, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(_END)
        except BaseException as exc:  # handed to the consumer, raised in its thread
            handoff.put(exc)

    thread = threading.Thread(target=reader, name="chunk-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
