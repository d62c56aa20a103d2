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
import urllib3.exceptions

# Sub-errors followed when looking for the root cause: requests and urllib3 keep it in args,
# `reason`, or the exception chain.
_CHAIN_DEPTH = 8


def _chain(exc: BaseException) -> list[BaseException]:
    found, todo = [], [exc]
    while todo and len(found) < _CHAIN_DEPTH * 4:
        current = todo.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        todo.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        todo.extend(x for x in (getattr(current, "reason", None), current.__cause__, current.__context__)
                    if isinstance(x, BaseException))
    return found


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
    connect_timeout, read_timeout = (timeout if isinstance(timeout, tuple) else (timeout, timeout))

    def within(seconds) -> str:
        return f" (no answer within {seconds:g} s)" if seconds else ""

    for error in chain:
        if isinstance(error, (ssl.SSLError, requests.exceptions.SSLError, urllib3.exceptions.SSLError)) \
                and not isinstance(error, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
            return f"TLS handshake failed ({getattr(error, 'reason', None) or error})"
    if any(isinstance(e, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)) for e in chain):
        return "TLS handshake failed"
    if any(isinstance(e, (socket.gaierror, urllib3.exceptions.NameResolutionError)) for e in chain):
        detail = next((e.strerror for e in chain if isinstance(e, socket.gaierror) and e.strerror), None)
        return f"DNS lookup failed ({detail or 'the name does not resolve'})"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused (nothing is listening on that port)"
    if any(isinstance(e, (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError))
           for e in chain):
        return "timed out connecting" + within(connect_timeout)
    if any(isinstance(e, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError,
                          socket.timeout)) for e in chain):
        return "timed out waiting for the response" + within(read_timeout)
    if any(isinstance(e, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) for e in chain) or any(
            isinstance(e, urllib3.exceptions.ProtocolError) for e in chain):
        return "the connection was closed or reset by the server"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}"


def describe(exc: BaseException, url: str | None = None,
             timeout: tuple[float, float] | float | None = None) -> str:
    """`cannot reach HOST:PORT: CAUSE` for a request that got no answer."""
    request = getattr(exc, "request", None)
    return f"cannot reach {host_of(url or getattr(request, 'url', None))}: {cause_of(exc, timeout)}"
