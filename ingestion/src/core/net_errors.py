"""One line for an HTTP request that failed before an answer: which host, and why.

requests wraps the real cause two or three levels deep (`ConnectionError(MaxRetryError(
NewConnectionError(... [Errno 111] Connection refused)))`), and its str() is a paragraph that
rarely says it plainly. The listener (api_client) and the backfill both describe failures here,
so an operator reads the same words for the same cause: DNS, refused, TLS, timeout, reset.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import requests

from ghdw.core.lifecycle import first_line

# Sub-errors followed at most when looking for the root cause (requests and urllib3 keep it in args,
# `reason`, or the exception chain; a real chain is 3-6 long, the bound only guards against cycles).
_CHAIN_LIMIT = 32


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(found) < _CHAIN_LIMIT:
        current = todo.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        todo.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        todo.extend(
            x
            for x in (getattr(current, "reason", None), current.__cause__, current.__context__)
            if isinstance(x, BaseException)
        )
    return found


def _is(error: BaseException, *class_names: str) -> bool:
    """Is `error` one of these classes, by name? For urllib3's exceptions, which requests wraps:
    urllib3 is requests' dependency, not ours, so it is not imported here."""
    return any(cls.__name__ in class_names for cls in type(error).__mro__)


def host_of(url: str | None) -> str:
    """host:port of a URL (never its userinfo), for messages."""
    parts = urlsplit(url or "")
    if not parts.hostname:
        return "the server"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.hostname}:{parts.port or default}" if (parts.port or default) else parts.hostname


def cause_of(exc: BaseException, timeout: tuple[float, float] | float | None = None) -> str:
    """The cause of a failed request in a few words: DNS, refused, TLS, timeout, reset, or other."""
    chain = _chain(exc)
    connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)

    def within(seconds) -> str:
        return f" (no answer within {seconds:g} s)" if seconds else ""

    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None:
        return f"TLS handshake failed ({tls.reason or tls})"
    if any(isinstance(e, requests.exceptions.SSLError) for e in chain):
        return "TLS handshake failed"
    if any(isinstance(e, socket.gaierror) or _is(e, "NameResolutionError") for e in chain):
        detail = next((e.strerror for e in chain if isinstance(e, socket.gaierror) and e.strerror), None)
        return f"DNS lookup failed ({detail or 'the name does not resolve'})"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused (nothing is listening on that port)"
    if any(isinstance(e, requests.exceptions.ConnectTimeout) or _is(e, "ConnectTimeoutError") for e in chain):
        return "timed out connecting" + within(connect_timeout)
    if any(
        isinstance(e, (requests.exceptions.ReadTimeout, TimeoutError, socket.timeout)) or _is(e, "ReadTimeoutError")
        for e in chain
    ):
        return "timed out waiting for the response" + within(read_timeout)
    if any(
        isinstance(e, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) or _is(e, "ProtocolError")
        for e in chain
    ):
        return "the connection was closed or reset by the server"
    text = first_line(exc) if str(exc).strip() else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}"


def describe(exc: BaseException, url: str | None = None, timeout: tuple[float, float] | float | None = None) -> str:
    """`cannot reach HOST:PORT: CAUSE` for a request that got no answer."""
    request = getattr(exc, "request", None)
    return f"cannot reach {host_of(url or getattr(request, 'url', None))}: {cause_of(exc, timeout)}"
