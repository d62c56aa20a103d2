"""Read GitHub events from files in the shapes real data comes in.

* a JSON array (a GET /events response), pretty-printed or not;
* JSON lines (GH Archive: one event per line), streamed in bounded chunks;
* a single event object, pretty-printed, or several concatenated;
* gzip of any of these (detected from the magic bytes, not the file name).

Nothing here parses JSON into Python values, so no input depends on Python's recursion limit:
PostgreSQL parses every event and dead-letters what it refuses, with its reason. JSON lines
are passed on as raw bytes to the loader's COPY (a line that is an array is split into its
elements). Documents -- arrays, pretty-printed or concatenated objects -- are cut into their
values by json_split, streamed, each value put on one line as received.

Which of the two a file is, is read from the first lines' grammar, and a broken line gets no
say: one truncated or garbled line is that line's fault, dead-lettered alone, never the file's.
A document broken in its structure (truncated, a bracket that does not match, a missing comma)
loads every value before and after the damage: the damaged value's lines are one dead letter, with
the reason and the line where it begins, and reading resumes at the next line that opens a value at
its depth (only a document that never offers one, such as a truncated end, dead-letters the rest).
Binary files (executables, images, PDF, SQLite, ...) are refused by their magic bytes or their
control bytes, like archives; UTF-16/32 text with a byte-order mark is read as UTF-8.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import itertools
import logging
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ghdw.sources.json_split import BOM, first_value_shape, flatten, split_values, value_end

log = logging.getLogger("ghdw.ORCHESTRATOR")

GZIP_MAGIC = b"\x1f\x8b"
# A zip's local file header, or the end-of-directory record an empty zip starts with.
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# Binary containers this reader does not take apart. Read as text, every line of one would be a
# dead letter, so they are refused by their magic bytes with one line naming the format.
REFUSED_MAGICS = (
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x04\x22\x4d\x18", "lz4"),
)
# Other binary files, by their magic bytes: refused with one line naming what they look like,
# never read as lines of text (each would be a dead letter of junk).
BINARY_MAGICS = (
    (b"\x7fELF", "an ELF executable"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Java class file (or a Mach-O universal binary)"),
    (b"MZ", "a Windows (PE/MZ) executable"),
    (b"\x00asm", "a WebAssembly module"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE document (old Microsoft Office)"),
    (b"PAR1", "a Parquet file"),
    (b"ORC", "an ORC file"),
    (b"Obj\x01", "an Avro file"),
    (b"RIFF", "a RIFF media file (WAV, AVI, WebP)"),
    (b"OggS", "an Ogg media file"),
    (b"fLaC", "a FLAC audio file"),
    (b"ID3", "an MP3 audio file"),
    (b"\x1a\x45\xdf\xa3", "a Matroska/WebM media file"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"wOFF", "a WOFF font"),
    (b"wOF2", "a WOFF2 font"),
    (b"PGDMP", "a PostgreSQL custom-format dump"),
)
# Byte-order marks of the UTF-16/32 encodings JSON may come in (RFC 8259 8.1): such a file is
# transcoded to UTF-8 as it is read. UTF-32 first: its little-endian mark starts like UTF-16's.
WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# JSON text never holds a raw NUL or most C0 control bytes: a head where they are this common
# is binary, whatever its magic bytes.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r") + b"\x7f"
BINARY_SHARE = 0.1
TEXT_SNIFF_BYTES = 4096  # what the generic test looks at, after decompression
# tar has no magic at its start: "ustar" sits at byte 257 of the first header (POSIX and GNU).
TAR_MAGIC, TAR_MAGIC_OFFSET = b"ustar", 257
SNIFF_BYTES = 512  # one tar header: enough to see every magic above
# Reading in 1 MiB blocks bounds memory and means a damaged gzip loses at most the
# block it broke in, not the chunk being assembled.
READ_BLOCK_BYTES = 1 << 20
# ~16 MiB of JSON lines (5-8k GH Archive events) per COPY/INSERT round trip.
DEFAULT_CHUNK_BYTES = 16 << 20


# What a directory given as input contributes: the event files in it (JSON, JSON lines, gzip, zip).
INPUT_PATTERNS = ("*.json", "*.json.gz", "*.jsonl", "*.jsonl.gz", "*.ndjson", "*.gz", "*.zip")
# The members of a zip that are loaded: event files by their names, as in a directory.
EVENT_MEMBER_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")


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


class UnsupportedInput(Exception):
    """An input that is not event text: a binary container this reader does not open, or a zip
    that cannot be read. Refused before anything of it is loaded; the message names the file."""


def container_format(head: bytes) -> str | None:
    """'gzip', 'zip', the name of a refused container (tar, bzip2, xz, 7z, ...), or None for text."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZIP_MAGICS):
        return "zip"
    for magic, name in REFUSED_MAGICS:
        if head.startswith(magic):
            return name
    if head[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + len(TAR_MAGIC)] == TAR_MAGIC:
        return "tar"
    return None


def wide_encoding(head: bytes) -> str | None:
    """'utf-16' or 'utf-32' when the text starts with that encoding's byte-order mark."""
    for bom, encoding in WIDE_BOMS:
        if head.startswith(bom):
            return encoding
    return None


def binary_kind(head: bytes) -> str | None:
    """What a (decompressed) head looks like when it is not event text: a known binary format by
    its magic bytes, or binary data (NUL and control bytes, which JSON text cannot hold); None
    for text, UTF-16/32 with a byte-order mark included."""
    if wide_encoding(head):
        return None
    for magic, name in BINARY_MAGICS:
        if head.startswith(magic):
            return name
    sample = head[:TEXT_SNIFF_BYTES]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if sample and controls >= 8 and controls >= BINARY_SHARE * len(sample):
        nuls = " (NUL bytes: UTF-16/32 without a byte-order mark?)" if b"\x00" in sample else ""
        return f"binary data{nuls}"
    return None


def binary_refusal(name: str, kind: str, inside: str = "") -> UnsupportedInput:
    return UnsupportedInput(f"{name}: looks like {kind}{inside}, not event text (JSON): not loaded")


def refusal(name: str, fmt: str, inside: str = "") -> UnsupportedInput:
    return UnsupportedInput(
        f"{name}: a {fmt} archive{inside}, not event text: not loaded (extract it and pass "
        f"the event files: .json, .json.gz, .jsonl, or a .zip of them)"
    )


@dataclass
class Source:
    """One event file to load: a file, or a member of a zip archive."""

    label: str  # for log lines: the path, or archive.zip/member.json
    name: str  # bronze.raw_events.source: file:<name>, file:archive.zip/member.json
    open: Callable[[], BinaryIO]  # a fresh stream of its bytes, decompressed
    member: str | None = None  # its path inside the zip archive, for a zip member


def file_sources(path: Path) -> list[Source]:
    """The event sources of one input file: the file itself, or each event-file member of a zip
    (each member loaded as its own source). Binary containers (tar, bzip2, xz, 7z, a gzipped
    tar, ...) and unreadable zips raise UnsupportedInput."""
    path = Path(path)
    with open(path, "rb") as probe:
        head = probe.read(TEXT_SNIFF_BYTES)
    fmt = container_format(head)
    if fmt == "zip":
        return _zip_sources(path)
    if fmt not in (None, "gzip"):
        raise refusal(str(path), fmt)
    if fmt == "gzip":
        inner = _gzip_head(path)
        inner_fmt = container_format(inner) if inner else None
        if inner_fmt not in (None, "gzip"):
            raise refusal(str(path), inner_fmt, " inside gzip")
        kind = binary_kind(inner) if inner_fmt is None else None
        if kind:
            raise binary_refusal(str(path), kind, " inside gzip")
    elif kind := binary_kind(head):
        raise binary_refusal(str(path), kind)
    return [Source(str(path), f"file:{path.name}", lambda: open_binary(path))]


def _gzip_head(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read(TEXT_SNIFF_BYTES)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError):
        return b""  # damaged from the start: the load reports it as damage, with what preceded it


def _zip_sources(path: Path) -> list[Source]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(info.filename for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise UnsupportedInput(f"{path}: not a readable zip archive ({exc}): not loaded") from None
    events = [m for m in members if m.lower().endswith(EVENT_MEMBER_SUFFIXES) and not m.startswith("__MACOSX/")]
    for skipped in sorted(set(members) - set(events)):
        log.info("%s: skipping member %s (not an event file: %s)", path, skipped, ", ".join(EVENT_MEMBER_SUFFIXES))
    if not events:
        raise UnsupportedInput(
            f"{path}: a zip archive with no event files ({', '.join(EVENT_MEMBER_SUFFIXES)}) "
            f"among its {len(members)} member(s): not loaded"
        )
    for member in events:
        try:
            with open_member(path, member) as stream:
                head = stream.read(TEXT_SNIFF_BYTES)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, RuntimeError, NotImplementedError):
            continue  # read again when loaded: the load reports it as damage
        fmt = container_format(head)
        if fmt not in (None, "gzip"):
            raise refusal(f"{path}/{member}", fmt)
        if fmt is None and (kind := binary_kind(head)):
            raise binary_refusal(f"{path}/{member}", kind)
    return [
        Source(
            f"{path}/{member}", f"file:{path.name}/{member}", lambda member=member: open_member(path, member), member
        )
        for member in events
    ]


class _Member:
    """A zip member's stream that closes its archive with it."""

    def __init__(self, archive: zipfile.ZipFile, stream: BinaryIO):
        self.archive, self.stream = archive, stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self.stream.read1(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.stream.close()
        self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_member(path: Path, member: str, gunzip: bool = True) -> BinaryIO:
    """A member of a zip archive, gunzipped if it is gzip (and `gunzip`)."""
    archive = zipfile.ZipFile(path)
    raw = archive.open(member)
    if gunzip and raw.peek(len(GZIP_MAGIC))[: len(GZIP_MAGIC)] == GZIP_MAGIC:  # a .json.gz inside the zip
        return _Member(archive, gzip.GzipFile(fileobj=raw, mode="rb"))
    return _Member(archive, raw)


@dataclass
class Reject:
    raw_text: str
    reason: str
    line: int | None = None


@dataclass
class Chunk:
    """A piece of input: `data` is newline-separated JSON texts starting at line `first_line`.

    `line_step` 0 says every text is from that one line (the values of one line of a JSON-lines
    file: an array, or objects side by side). `first_line` None: the texts have no line numbers
    (an API page, whose order changes from one poll to the next)."""

    data: bytes = b""
    first_line: int | None = 1
    line_step: int = 1
    rejects: list[Reject] = field(default_factory=list)
    # The input line of each text, when they are not evenly spaced (the values of a document:
    # PostgreSQL's reason for one of them names its real line); None: first_line and line_step.
    line_numbers: list[int] | None = None


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
        except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile, OSError) as exc:
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


def iter_file_chunks(path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
    """Yield the events of one file as chunks; raises InputDamaged after the good part."""
    with open_binary(Path(path)) as stream:
        yield from iter_stream_chunks(stream, chunk_bytes)


def iter_source_chunks(source: Source, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
    """Yield the events of one Source as chunks; raises InputDamaged after the good part."""
    try:
        stream = source.open()
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
        raise InputDamaged(f"cannot be read: {exc}") from exc
    with stream:
        yield from iter_stream_chunks(stream, chunk_bytes)


def iter_stream_chunks(stream: BinaryIO, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[Chunk]:
    """Yield the events of a readable (already decompressed) byte stream as chunks."""
    blocks = _UntilDamage(_as_utf8(_read_blocks(stream)))
    head = b""
    for block in blocks:
        head += block
        if head.count(b"\n") > DETECT_LINES or len(head) >= DETECT_BYTES:
            break
    if not head.strip():
        blocks.raise_damage()
        return

    def all_blocks() -> Iterator[bytes]:
        yield head
        yield from blocks

    if _is_json_lines(head, blocks.ended):
        for chunk in iter_json_lines(all_blocks(), chunk_bytes):
            yield from _tidy_json_lines(chunk, chunk_bytes)
    else:
        yield from _document_chunks(all_blocks(), chunk_bytes)
    blocks.raise_damage()


def _as_utf8(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The blocks as they are, or, for UTF-16/32 text with a byte-order mark, transcoded to UTF-8
    (lone surrogates pass through, so PostgreSQL dead-letters just their lines)."""
    first = next(blocks, b"")
    while len(first) < 4:  # enough bytes to tell a UTF-32 mark from a UTF-16 one
        more = next(blocks, b"")
        if not more:
            break
        first += more
    encoding = wide_encoding(first)
    if encoding is None:
        if first:
            yield first
        yield from blocks
        return
    decoder = codecs.getincrementaldecoder(encoding)("surrogatepass")
    for block in itertools.chain([first], blocks):
        yield decoder.decode(block).encode("utf-8", "surrogatepass")
    try:
        yield decoder.decode(b"", final=True).encode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        yield "\ufffd".encode()  # a truncated last character


class _UntilDamage:
    """Blocks of a stream until it ends or breaks; a break (InputDamaged) is kept, to be raised
    once everything read before it has been handed on."""

    def __init__(self, blocks: Iterator[bytes]):
        self.blocks, self.damage, self.ended = blocks, None, False

    # An iterator, not a generator: leaving a loop over it early must not close the stream.
    def __iter__(self) -> _UntilDamage:
        return self

    def __next__(self) -> bytes:
        if self.ended:
            raise StopIteration
        try:
            return next(self.blocks)
        except StopIteration:
            self.ended = True
            raise
        except InputDamaged as exc:
            self.damage, self.ended = exc, True
            raise StopIteration from None

    def raise_damage(self) -> None:
        if self.damage is not None:
            raise self.damage


# -- telling JSON lines from documents --------------------------------------------------------
# The head of a file read to decide its shape: enough lines to see past a few bad ones, small
# enough to be one read block in practice.
DETECT_LINES = 64
DETECT_BYTES = READ_BLOCK_BYTES
# A value still valid after this many lines is a pretty-printed document: a broken JSON line
# that swallows the lines after it fails the grammar within three lines (two values without a
# comma between them).
DOCUMENT_AFTER_LINES = 8
_LINE_START = re.compile(rb"(?:[ \t\r\n]++|\xef\xbb\xbf)*+")
_LINE_START_SPACES = re.compile(rb"[ \t\r]*+")
# Objects side by side: '}' then '{' then a key's quote (or '}'). Inside a JSON string a quote is
# escaped, so there this can only be a string ending in '}{' ("x}{", then ',', ':', '}' or ']').
_BRACE_PAIR = re.compile(rb'\}[ \t]*+\{(?:"[^,:}\]]|\})')
# From a line's start: its text up to a '}' followed by '{' that is outside every string
# (possessive: linear, no backtracking); no match when the line has none.
_SIDE_BY_SIDE = re.compile(rb'(?:[^"}\n]++|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"|\}(?![ \t]*+\{))*+\}[ \t]*+\{')
_OPENING_BRACKET_LINE = re.compile(rb"\[[ \t\r]*+\n")


def _is_json_lines(head: bytes, eof: bool) -> bool:
    """True when the head reads as one value per line, False for pretty-printed document(s).

    Line by line, a value is checked with the full grammar. An object or array alone on its
    line is a vote for JSON lines. A value valid across lines (complete, or still open after a
    few lines), two values on one line (`{..}{..}`), or a value followed by a comma (an array
    with one element per line) is a vote for a document; a file opening with `[` alone on its
    line wins a tie for a document. Anything else
    (a truncated, garbled or otherwise broken line) votes for nothing: one bad line must not
    decide how every other line is read. Most votes win, ties going to JSON lines; with no
    vote at all, a file whose first value was valid over several lines before it broke is a
    damaged document, and any other is judged line by line.
    """
    limit = len(head) if eof else head.rfind(b"\n") + 1 or len(head)
    position = _LINE_START.match(head, 0).end()
    # `[` alone on the first line opens an array with its elements on the lines below, unless
    # the lines below vote for JSON lines (a stray `[` before GH Archive lines is that one line's fault).
    opens_array = _OPENING_BRACKET_LINE.match(head, position) is not None
    one_line = several_lines = 0
    first_fault_lines = None  # how many lines the first value spanned before it broke
    for _ in range(DETECT_LINES):
        if position >= limit:
            break
        line_end = head.find(b"\n", position, limit)
        line_end = limit if line_end < 0 else line_end
        stop = _end_of_lines(head, position, DOCUMENT_AFTER_LINES, limit)
        shape, end = first_value_shape(head, position, stop, eof)
        if shape == "open":  # valid up to `stop`: a document, or a line longer than the head
            several_lines, one_line = several_lines + (end > line_end), one_line + (end <= line_end)
            break
        if shape == "complete" and end > line_end:
            several_lines += 1
            position = _LINE_START.match(head, end).end()
            continue
        rest = head[end:line_end].strip() if shape == "complete" else b""
        if shape == "complete" and not rest and head[position : position + 1] in (b"{", b"["):
            one_line += 1
        elif rest[:1] in (b"{", b"[", b","):  # two values on a line, or an element of an array
            several_lines += 1
        elif first_fault_lines is None:
            first_fault_lines = head.count(b"\n", position, end)
        position = _LINE_START.match(head, line_end + 1).end()
    if one_line or several_lines:
        return one_line > several_lines if opens_array else one_line >= several_lines
    return not first_fault_lines and not opens_array


def _end_of_lines(data: bytes, position: int, lines: int, limit: int) -> int:
    for _ in range(lines):
        position = data.find(b"\n", position, limit) + 1
        if position == 0:
            return limit
    return position


# -- JSON lines: raw bytes to COPY, tidied only where a line needs it -------------------------
# A line that is an array (a saved API page, on one line) is split into its elements.
# Each pattern starts with a literal newline, which the regex engine finds fast; a chunk's
# first line is given one to match (see _tidy_json_lines).
_ARRAY_LINE = re.compile(rb"\n[ \t]*+\[")
_ARRAY_FIRST_LINE = re.compile(rb"[ \t]*+\[")
_BOM_AT_LINE_START = re.compile(rb"\n\xef\xbb\xbf")
_BLANK_WITH_SPACES = re.compile(rb"\n[ \t]++(?=\n|\Z)")
_BLANK_FIRST_LINE = re.compile(rb"\A[ \t]++(?=\n|\Z)")


def _tidy_json_lines(chunk: Chunk, chunk_bytes: int) -> Iterator[Chunk]:
    """Make each line of a JSON-lines chunk stand for itself before COPY sees it: CRLF endings
    (COPY wants one line ending throughout), byte-order marks (a file's first line, or parts
    joined with `cat`), lines of spaces (no event, not an error) and array lines (events)."""
    data = chunk.data
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if BOM in data:
        data = _BOM_AT_LINE_START.sub(b"\n", data).removeprefix(BOM)
    if _BLANK_WITH_SPACES.search(data):
        data = _BLANK_WITH_SPACES.sub(b"\n", data)
    data = _BLANK_FIRST_LINE.sub(b"", data, count=1)
    line = chunk.first_line
    while True:
        start = _next_array_line(data)
        if start < 0:
            yield from _one_value_per_line(data, line)
            return
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        if start:
            yield from _one_value_per_line(data[:start], line)
            line += data.count(b"\n", 0, start)
        # Every element of an array line is from that line (line_step 0).
        yield from _document_chunks([data[start:end]], chunk_bytes, line, same_line=True)
        data, line = data[end + 1 :], line + 1
        if not data.strip():
            return


def _is_plain(data: bytes) -> bool:
    """True when every line of `data` starts with '{', ends with '}' and holds no '}' followed by
    '{' outside its strings: each line can only be one object, and COPY takes the chunk as it
    is. Counted with bytes.count and found by regular expressions (C, no loop over lines), so a
    clean GH Archive chunk costs a few scans; False only means the lines are looked at one by one."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    starts = data.count(b"\n{") + data.startswith(b"{") - data.endswith(b"\n{")
    ends = data.count(b"}\n") + data.endswith(b"}")
    if not starts == ends == lines:
        return False
    checked = -1
    # '}{' is common inside strings (code, LaTeX in issue bodies: 22% of real lines), so only a
    # line holding a likely pair is checked, string-aware, from its start.
    for pair in _BRACE_PAIR.finditer(data):
        line_start = data.rfind(b"\n", 0, pair.start()) + 1
        if line_start != checked:
            checked = line_start
            if _SIDE_BY_SIDE.match(data, line_start):
                return False
    return True


def _is_plain_line(line: bytes) -> bool:
    text = line.strip(b" \t")
    return not text or (text[:1] == b"{" and text[-1:] == b"}" and not _SIDE_BY_SIDE.match(text))


def _one_value_per_line(data: bytes, first_line: int) -> Iterator[Chunk]:
    """JSON lines as COPY will read them, with a second chance for a line that cannot be one value
    as it stands (found by a cheap test of its first and last bytes, never by parsing every line):
    from that line on, the text is read as concatenated values with the full grammar, so

    * a pretty-printed value becomes one line, padded with blank lines to keep line numbers;
    * values side by side on a line (`{..}{..}`, `{..} {..}`) become a chunk of their own, every
      value numbered with that line (line_step 0);
    * a value still broken across lines is ONE dead-letter entry, from its first line up to where
      its brackets close or the next line that can stand alone (`{...}`) begins;
    * a line that is broken on its own stays as it is: PostgreSQL dead-letters it with its reason.
    """
    if not data or _is_plain(data):
        yield Chunk(data=data, first_line=first_line)
        return
    lines = data.split(b"\n")
    out: list[bytes] = []
    rejects: list[Reject] = []
    start_line = first_line
    index = 0
    while index < len(lines):
        if _is_plain_line(lines[index]):
            out.append(lines[index])
            index += 1
            continue
        # Byte offset of this line in `data`, and of every line after it, for the grammar.
        offset = sum(len(line) + 1 for line in lines[:index]) if index else 0
        kind, values, taken, reason = _read_values(data, offset, lines, index)
        number = first_line + index
        if kind == "values" and len(values) > 1:
            if out or rejects:
                yield Chunk(data=b"\n".join(out), first_line=start_line, rejects=rejects)
            yield Chunk(data=b"\n".join(values), first_line=number, line_step=0)
            out, rejects, start_line = [], [], number + 1
        elif kind == "values":
            out.append(values[0])
            out.extend(b"" for _ in range(taken - 1))
        elif taken > 1:
            text = b"\n".join(lines[index : index + taken])
            rejects.append(
                Reject(
                    _printable(text),
                    f"invalid JSON: a value over lines {number}-{number + taken - 1} "
                    f"is not valid at line {number + int(reason)}",
                    number,
                )
            )
            out.extend(b"" for _ in range(taken))
        else:
            out.append(lines[index])
        index += taken
    if out or rejects:
        yield Chunk(data=b"\n".join(out), first_line=start_line, rejects=rejects)


def _read_values(data: bytes, offset: int, lines: list[bytes], index: int) -> tuple[str, list[bytes], int, str]:
    """The values starting at line `index` (at `offset` in data): ("values", texts on one line
    each, lines they take, ""), or ("broken", [], lines the broken value takes, reason)."""
    line_end = offset + len(lines[index])
    values: list[bytes] = []
    position = offset
    while True:
        start = _LINE_START_SPACES.match(data, position).end()
        shape, end = first_value_shape(data, start, len(data), True)
        if shape != "complete":
            break
        last_line_end = data.find(b"\n", end)
        last_line_end = len(data) if last_line_end < 0 else last_line_end
        text = flatten(data[start:end])
        if text is None:
            break
        values.append(text)
        rest = data[end:last_line_end].strip(b" \t\r")
        if not rest:
            return "values", values, data.count(b"\n", offset, end) + 1, ""
        if end > line_end and len(values) == 1:
            break  # a multi-line value with more on its last line: judged line by line
        position = end
    if values and end <= line_end:
        return "line", [], 1, ""  # complete values then garbage on the line: the line is bad
    if end <= line_end:
        return "line", [], 1, ""  # broken on its own line
    # Broken across lines: up to where its brackets close, or before the next line that stands alone.
    end = _LINE_START.match(data, end).end()  # the fault is the token after any line break
    fault_line = data.count(b"\n", offset, end) + 1
    taken = 1
    while index + taken < len(lines) and taken < fault_line and not _is_plain_line(lines[index + taken]):
        taken += 1
    if taken < fault_line or (index + taken < len(lines) and not _is_plain_line(lines[index + taken])):
        stop = offset + sum(len(line) + 1 for line in lines[index : index + taken])
        _, close, fault = value_end(data[offset:stop])
        if fault is None:
            taken = data.count(b"\n", offset, offset + close) + 1
    if taken == 1:
        return "line", [], 1, ""
    return "broken", [], taken, f"{fault_line - 1}"


def _next_array_line(data: bytes) -> int:
    """Where the first line of `data` that holds an array starts, or -1."""
    if _ARRAY_FIRST_LINE.match(data):
        return 0
    match = _ARRAY_LINE.search(data)
    return match.start() + 1 if match else -1


# -- documents: cut into values, one per line -------------------------------------------------
def _document_chunks(
    blocks: Iterable[bytes], chunk_bytes: int, first_number: int = 1, same_line: bool = False
) -> Iterator[Chunk]:
    """Chunks of the values in pretty-printed or concatenated JSON (arrays flattened), one per
    line. A value PostgreSQL rejects carries the input line it starts on (the chunk's
    line_numbers), or, `same_line`, that one line; so does a fault found here. (Padding chunks
    with empty lines instead would cost a staged row per input line: 40% slower on a
    pretty-printed array.) A damaged value costs only its own lines: the split resynchronises at
    the next value (json_split._resync)."""
    step = 0 if same_line else 1
    chunk, parts, size, number = Chunk(first_line=first_number, line_step=step), [], 0, first_number
    lines: list[int] = []  # each value's real line
    for piece in split_values(blocks, first_number):
        if piece.reason is not None:
            chunk.rejects.append(Reject(_printable(piece.text), piece.reason, piece.line))
            continue
        text = flatten(piece.text)
        if text is None:
            chunk.rejects.append(
                Reject(
                    _printable(piece.text),
                    f"invalid JSON: a line break inside a string (line {piece.line})",
                    piece.line,
                )
            )
            continue
        parts.append(text)
        lines.append(piece.line)
        size += len(text)
        number += step
        if size >= chunk_bytes:
            chunk.data = b"\n".join(parts) + b"\n"
            _number_lines(chunk, lines, same_line)
            yield chunk
            chunk, parts, size, lines = Chunk(first_line=number, line_step=step), [], 0, []
    if parts:
        chunk.data = b"\n".join(parts) + b"\n"
        _number_lines(chunk, lines, same_line)
    if chunk.data or chunk.rejects:
        yield chunk


def _number_lines(chunk: Chunk, lines: list[int], same_line: bool) -> None:
    """Give a document's values their real lines (those of one line share it already)."""
    if not same_line and lines:
        chunk.first_line, chunk.line_numbers = lines[0], lines


def _printable(raw: bytes) -> str:
    """Text for a DLQ row: the input as received, undecodable bytes and NULs as \\xNN escapes."""
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


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
