"""Find where JSON values begin and end, without parsing them and without recursion.

PostgreSQL parses and judges every event; Python only has to cut the input into one text per
event. Python's own parser (and json.dumps) recurse once per nesting level and raise
RecursionError near 1,000 levels, yet PostgreSQL accepts events nested far deeper. So the
cutting here keeps its nesting in a list (a counter of open brackets, in effect), and the
common work -- skipping strings and everything between brackets -- is done by regular
expressions in C, one match per bracket, never one Python step per character.

* `split_values` turns a stream of bytes holding concatenated top-level JSON values into
  their texts, flattening top-level arrays into their elements (a GET /events page is an
  array of events). A structural fault (input ending inside a value, a closing bracket that
  does not match, a missing comma in an array) is handed back as damage, with the reason and
  the line it starts on, and the split resumes at the next line that opens a value no deeper
  than the damaged one began (see `_resync`); with no such line, the rest is the damage. Only
  the structure is checked: PostgreSQL judges what is inside each value.
* `first_value_shape` checks, with the full grammar, whether the first value of a file's
  head is valid and whether it spans lines: how event_files tells JSON lines from documents.
* `flatten` puts a multi-line (pretty-printed) value on one line.
* `dumps` is json.dumps(compact, ASCII) without recursion, for values Python holds but
  cannot serialise recursively.
* `RawEvent` is an event Python cannot hold: its JSON text, passed through to PostgreSQL.
* `member_text` finds one top-level member of an object's text (a RawEvent's id) by skipping
  the other members' values, however deep, the same way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii


class RawEvent(str):
    """The JSON text of an event, on one line, kept as text because Python could not parse it
    (nested deeper than its recursion limit). Its id is unknown to Python; PostgreSQL reads it."""


@dataclass
class Piece:
    """One value cut from the input (`reason` None), or the damaged rest of it (`reason` set)."""

    line: int  # line of the input where the text starts
    text: bytes
    reason: str | None = None


BOM = b"\xef\xbb\xbf"
# Whitespace between values; a UTF-8 byte-order mark counts too (files joined with `cat`
# carry one at the start of each part).
_SPACE = re.compile(rb"(?:[ \t\r\n]++|\xef\xbb\xbf)*+")
# From inside a container to its next bracket run: skips, possessively (no backtracking),
# everything that is not a bracket and every complete string. Group 1 is the run of opening
# or closing brackets found, or a quote that opens a string not complete in the buffer, or
# empty at the end of the buffer.
_TO_BRACKET = re.compile(rb'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+([\[{]++|[\]}]++|"|)', re.S)
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)
_SCALAR = re.compile(rb'[^ \t\r\n\[\]{},:"]++')
_OPENER_OF = bytes.maketrans(b"]}", b"[{")


class _Buffer:
    """Bytes read so far from a stream of blocks, with line numbers for positions in them."""

    def __init__(self, blocks: Iterable[bytes], first_line: int):
        self.blocks = iter(blocks)
        self.data = b""
        self.eof = False
        self.line = first_line  # line number at position `counted`
        self.counted = 0
        self.column = 0  # column of position 0 (the bytes before it on its line were dropped)

    def more(self, keep_from: int) -> int:
        """Read another block, dropping the bytes before `keep_from`; returns how far positions
        moved (0 at the end of the stream, which sets eof)."""
        block = next(self.blocks, None)
        if block is None:
            self.eof = True
            return 0
        self.line_at(keep_from)
        self.column = self.column_at(keep_from)
        self.data = self.data[keep_from:] + block
        self.counted -= keep_from
        return keep_from

    def column_at(self, position: int) -> int:
        line_start = self.data.rfind(b"\n", 0, position) + 1
        return position - line_start + (self.column if line_start == 0 else 0)

    def line_at(self, position: int) -> int:
        if position > self.counted:
            self.line += self.data.count(b"\n", self.counted, position)
            self.counted = position
        return self.line


def _scan_container(data: bytes, position: int, stack: list[int], eof: bool) -> tuple[int, str | None]:
    """Advance through an open container to just after its closing bracket.

    Returns (position, None) when the container closed, (position, "more") when the buffer
    ended first (resume there with the same stack once more data is in), or (position, reason)
    at a structural fault.
    """
    while True:
        match = _TO_BRACKET.match(data, position)
        run = match.group(1)
        start = match.start(1)
        if not run:
            return (start, "input ends inside a value (truncated)") if eof else (start, "more")
        if run == b'"':
            return (start, "input ends inside a string (truncated)") if eof else (start, "more")
        if run[0] in b"[{":
            stack.extend(run)
            position = match.end()
            continue
        count = min(len(run), len(stack))
        expected = bytes(reversed(stack[-count:]))
        closing = run[:count].translate(_OPENER_OF)
        if closing != expected:
            wrong = next(i for i in range(count) if closing[i] != expected[i])
            return start + wrong, f"'{chr(run[wrong])}' does not close '{chr(expected[wrong])}'"
        del stack[-count:]
        if not stack:
            return start + count, None
        position = start + count


def _value_end(buffer: _Buffer, start: int) -> tuple[int, int, str | None]:
    """(start, end, fault) of the value at `start`, reading more of the stream as needed; the
    buffer may be trimmed meanwhile, so `start` comes back moved with it."""
    stack: list[int] = []
    position = start
    while True:
        data = buffer.data
        char = data[start : start + 1]
        if char in (b"[", b"{"):
            if not stack:
                stack.append(char[0])
                position = start + 1
            position, reason = _scan_container(data, position, stack, buffer.eof)
        elif char == b'"':
            match = _STRING.match(data, start)
            position, reason = (
                (match.end(), None)
                if match
                else ((start, "input ends inside a string (truncated)") if buffer.eof else (start, "more"))
            )
        elif char in (b"]", b"}", b",", b":"):
            return start, start, f"unexpected '{char.decode()}'"
        else:
            position = _SCALAR.match(data, start).end()
            reason = "more" if position == len(data) and not buffer.eof else None
        if reason != "more":
            return start, position, reason
        shift = buffer.more(start)
        position -= shift
        start -= shift


def value_end(data: bytes) -> tuple[int, int, str | None]:
    """(start, end, fault) of the first value in `data`, by its brackets only (no recursion)."""
    buffer = _Buffer([data], 1)
    buffer.more(0)
    return _value_end(buffer, _SPACE.match(buffer.data, 0).end())


def split_values(blocks: Iterable[bytes], first_line: int = 1) -> Iterator[Piece]:
    """Cut a stream of concatenated JSON values into their texts, top-level arrays into their
    elements (see the module docstring). A structural fault is one damage Piece, up to where
    the split can resume (or to the end of the input)."""
    buffer = _Buffer(blocks, first_line)
    position = 0
    state = _TOP
    cut = 0  # where the damaged rest begins if the input ends inside an array
    # An array's element is handed on once a ',' or ']' follows it: garbage right after it on its
    # line (`"id": "1", ...` without braces) makes it part of that line's one damage entry.
    held: Piece | None = None
    while True:
        position = _SPACE.match(buffer.data, position).end()
        if position >= len(buffer.data):
            if buffer.eof:
                if held is not None:
                    yield held
                if state != _TOP:
                    yield _damage(buffer, position, "input ends inside an array (truncated)", cut)
                return
            shift = buffer.more(min(position, cut) if state != _TOP else position)
            position, cut = position - shift, cut - shift
            continue
        char = buffer.data[position : position + 1]
        if state == _AFTER_ELEMENT:
            if char in (b",", b"]"):
                if held is not None:
                    yield held
                    held = None
                position, state = position + 1, (_ELEMENT if char == b"," else _TOP)
                continue
            reason = "expected ',' or ']' after an array element"
            if held is not None and b"\n" not in held.text and b"\n" not in buffer.data[cut:position]:
                piece, position = _resync(buffer, cut, position, reason, True, held)
            else:
                if held is not None:
                    yield held
                piece, position = _resync(buffer, position, position, reason, True)
            held = None
            yield piece
            if position is None:
                return
            state, cut = (_AFTER_ELEMENT if buffer.data[position] == ord("]") else _ELEMENT), position
            continue
        if state == _TOP and char == b"[":
            position, state, cut = position + 1, _FIRST_ELEMENT, position
            continue
        if state == _FIRST_ELEMENT and char == b"]":
            position, state = position + 1, _TOP  # an empty array
            continue
        start, end, reason = _value_end(buffer, position)
        if reason is not None:
            piece, position = _resync(buffer, start, end, reason, state != _TOP)
            yield piece
            if position is None:
                return
            if state != _TOP:
                state = _AFTER_ELEMENT if buffer.data[position] == ord("]") else _ELEMENT
            cut = position
            continue
        if state == _TOP:
            yield Piece(buffer.line_at(start), buffer.data[start:end])
        else:
            held = Piece(buffer.line_at(start), buffer.data[start:end])
            state = _AFTER_ELEMENT
        position = cut = end


# Where split_values is: between top-level values; after '['; after ',' in an array; after
# an array element.
_TOP, _FIRST_ELEMENT, _ELEMENT, _AFTER_ELEMENT = range(4)


# A line that can begin the next value of an array or document: its indentation, then a bracket.
_RESYNC = re.compile(rb"\n([ \t]*+)([\[{\]])")


def _resync(
    buffer: _Buffer, begin: int, fault: int, reason: str, in_array: bool, before: Piece | None = None
) -> tuple[Piece, int | None]:
    """A damaged value (from `begin`, the fault at `fault`) and where the split picks up again:
    the next line, after the damaged value's first line, that opens a value (`{` or `[`) no
    deeper indented than the damaged value began, or that closes the array (`]`, less indented).
    The damage is then just the lines before it (one entry, with its first line); without such
    a line it is the rest of the input, and the position None ends the split. A raw line break
    cannot sit inside a valid JSON string, so a string broken off at a line end resynchronises too.
    `before`: an element on the same line just before `begin`, made part of the damage.
    """
    prefix = before.text if before is not None else b""
    column = buffer.column_at(begin) - len(prefix)
    search = begin
    while True:
        data = buffer.data
        for match in _RESYNC.finditer(data, search):
            indent = match.end(1) - match.start(1)
            closes = match.group(2) == b"]"
            if indent > column or (closes and (not in_array or indent >= column)):
                continue
            resume = match.start(2)
            line = buffer.line_at(begin) if before is None else before.line
            if fault < resume and not reason.startswith("input ends"):
                fault_line = line + data.count(b"\n", begin, fault)
                why = f"invalid JSON: {reason} (line {fault_line})"
            else:
                next_line = line + data.count(b"\n", begin, resume)
                what = "the array closes" if closes else "the next one begins"
                why = f"invalid JSON: a value not closed before {what} (line {next_line})"
            return Piece(line, (prefix + data[begin:resume]).rstrip(b" \t\r\n"), why), resume
        if buffer.eof:
            damage = _damage(buffer, fault, reason, begin)
            if before is not None:
                damage.line, damage.text = before.line, prefix + damage.text
            return damage, None
        last = data.rfind(b"\n", search)
        search = last if last >= 0 else len(data)  # a line cut at the block's end is searched again
        shift = buffer.more(begin)
        begin, fault, search = begin - shift, fault - shift, search - shift


def _damage(buffer: _Buffer, position: int, reason: str, start: int | None = None) -> Piece:
    """The rest of the input from `start` (the broken value) or `position` (the fault), whole."""
    begin = position if start is None else start
    line = buffer.line_at(begin)
    fault_line = line + buffer.data.count(b"\n", begin, position)
    rest = [buffer.data[begin:]]
    while not buffer.eof:
        buffer.more(len(buffer.data))
        if not buffer.eof:
            rest.append(buffer.data)
    return Piece(line, b"".join(rest), f"invalid JSON: {reason} (line {fault_line})")


def member_text(text: bytes, name: str) -> bytes | None:
    """The JSON text of the value of top-level member `name` of the object `text` (the last
    one when the name repeats, as PostgreSQL and json.loads keep), or None when `text` is not
    an object or lacks the member. Other members' values are skipped without recursion."""
    position = _SPACE.match(text).end()
    if not text.startswith(b"{", position):
        return None
    position = _SPACE.match(text, position + 1).end()
    if text.startswith(b"}", position):
        return None
    found = None
    while True:
        key = _STRING.match(text, position)
        if key is None:
            return None
        position = _SPACE.match(text, key.end()).end()
        if not text.startswith(b":", position):
            return None
        start = _SPACE.match(text, position + 1).end()
        char = text[start : start + 1]
        if char in (b"[", b"{"):
            end, reason = _scan_container(text, start + 1, [char[0]], eof=True)
            if reason is not None:
                return None
        else:
            value = (_STRING if char == b'"' else _SCALAR).match(text, start)
            if value is None:
                return None
            end = value.end()
        if key.group() == b'"' + name.encode() + b'"' or _decoded_key(key.group()) == name:
            found = text[start:end]
        position = _SPACE.match(text, end).end()
        if text.startswith(b"}", position):
            return found
        if not text.startswith(b",", position):
            return None
        position = _SPACE.match(text, position + 1).end()


def _decoded_key(key: bytes) -> str | None:
    """A key's string, escapes decoded (a flat string: no recursion)."""
    if b"\\" not in key:
        return None  # no escape, and the plain comparison already failed
    try:
        return json.loads(key)
    except ValueError:
        return None


# -- the grammar, for telling JSON lines from documents --------------------------------------
_TOKEN = re.compile(
    rb"""[ \t\r\n]*+(?:
     ("[^"\\\x00-\x1f]*+(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*+)*+")     # 1 string
    |(-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][+-]?[0-9]++)?+|true|false|null)      # 2 scalar
    |([\[\]{},:])                                                                     # 3 punctuation
    |(\Z))                                                                            # 4 end of head
""",
    re.X,
)
# What may come next: a value; a key or '}' (after '{'); a key (after ',' in an object);
# ':' ; a value or ']' (after '['); ',' or the closing bracket (after a value in a container).
_VALUE, _KEY_OR_CLOSE, _KEY, _COLON, _VALUE_OR_CLOSE, _NEXT_OR_CLOSE = range(6)


def first_value_shape(data: bytes, start: int, stop: int, eof: bool) -> tuple[str, int]:
    """Check the value starting at `start` against JSON's grammar, without recursion.

    Returns ("complete", end), ("invalid", where), or ("open", where) when `stop` (or the end
    of the data) comes first with the value still valid so far.
    """
    stack: list[int] = []
    expect = _VALUE
    position = start
    while True:
        if position >= stop:
            return "open", position
        match = _TOKEN.match(data, position)
        if match is None:
            return "invalid", position
        string, scalar, punct, end = match.groups()
        if end is not None:
            return ("invalid" if eof else "open"), match.end()
        position = match.end()
        if punct is None:  # a string or a scalar
            if expect in (_KEY_OR_CLOSE, _KEY):
                if string is None:
                    return "invalid", match.start()
                expect = _COLON
                continue
            if expect not in (_VALUE, _VALUE_OR_CLOSE):
                return "invalid", match.start()
        elif punct in b"[{":
            if expect not in (_VALUE, _VALUE_OR_CLOSE):
                return "invalid", match.start()
            stack.append(punct[0])
            expect = _KEY_OR_CLOSE if punct == b"{" else _VALUE_OR_CLOSE
            continue
        elif punct in b"]}":
            closes = b"[" if punct == b"]" else b"{"
            allowed = (_NEXT_OR_CLOSE, _VALUE_OR_CLOSE if punct == b"]" else _KEY_OR_CLOSE)
            if not stack or stack[-1] != closes[0] or expect not in allowed:
                return "invalid", match.start()
            stack.pop()
        elif punct == b":":
            if expect != _COLON:
                return "invalid", match.start()
            expect = _VALUE
            continue
        else:  # ','
            if expect != _NEXT_OR_CLOSE:
                return "invalid", match.start()
            expect = _KEY if stack[-1] == ord("{") else _VALUE
            continue
        # a value just ended
        if not stack:
            return "complete", position
        expect = _NEXT_OR_CLOSE


# -- one value, one line ---------------------------------------------------------------------
# Matches whole only when no string holds a raw line break (nor a backslash before one).
_NO_BREAK_IN_STRINGS = re.compile(rb'(?:[^"]++|"[^"\\\r\n]*+(?:\\[^\r\n][^"\\\r\n]*+)*+")*+')
# A line break and the indentation after it: outside strings once the check above passed.
_BREAK_AND_INDENT = re.compile(rb"[\r\n][ \t\r\n]*+")


def flatten(text: bytes) -> bytes | None:
    """The value on one line: each line break between tokens, with the indentation after it,
    becomes one space. None when a raw line break sits inside a string (invalid JSON, and one
    that a space would make valid)."""
    if b"\n" not in text and b"\r" not in text:
        return text
    if _NO_BREAK_IN_STRINGS.fullmatch(text) is None:
        return None
    return _BREAK_AND_INDENT.sub(b" ", text)


# -- serialising without recursion -----------------------------------------------------------
def _scalar(value) -> str:
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key) -> str:
    if isinstance(key, str):
        return encode_basestring_ascii(key)
    if isinstance(key, (int, float)) or key is None:
        return '"' + _scalar(key) + '"'  # json.dumps turns such keys into strings the same way
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def event_line(event) -> str:
    """An event as one line of JSON, the one serialisation the loaders and tools write: compact and
    ASCII (json.dumps), or through dumps() when it is nested too deep for json.dumps's recursion."""
    try:
        return json.dumps(event, separators=(",", ":"))
    except RecursionError:
        return dumps(event)


def dumps(value) -> str:
    """json.dumps(value, separators=(",", ":")) -- ASCII, compact -- with an explicit stack."""
    out: list[str] = []
    stack: list[list] = []  # per open container: [iterator over its items, closer, is_first]
    current, have_value = value, True
    while True:
        if have_value:
            if isinstance(current, dict):
                out.append("{")
                stack.append([iter(current.items()), "}", True])
            elif isinstance(current, (list, tuple)):
                out.append("[")
                stack.append([iter(current), "]", True])
            else:
                out.append(_scalar(current))
        if not stack:
            return "".join(out)
        frame = stack[-1]
        item = next(frame[0], _DONE)
        if item is _DONE:
            out.append(frame[1])
            stack.pop()
            have_value = False
            continue
        if not frame[2]:
            out.append(",")
        frame[2] = False
        if frame[1] == "}":
            out.append(_key(item[0]))
            out.append(":")
            current = item[1]
        else:
            current = item
        have_value = True


_DONE = object()
