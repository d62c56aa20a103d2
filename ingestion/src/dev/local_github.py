"""A local stand-in for GitHub's events API, for tests and demos (standard library only).

    python tools/local_github.py --port 8765 --events-per-second 5 --poll-interval 1 --restamp

It serves `GET /events` the way api.github.com does, from recorded real events (the bundled
sample and, when present, ../shared/data/real/): a window that moves forward over time (the
newest 300 of the events "produced" so far, newest first), `per_page` (default 30, max 100),
`page`, `Link` paging, weak `ETag` and `304 Not Modified` (free of rate limit), `X-Poll-Interval`,
`X-RateLimit-*` headers with a real budget, and switchable faults for the next requests:
`500`/`502`/`503`, `403-retry-after:N`, `429-retry-after:N`, `403-exhausted`, `403-secondary`,
`truncated` (a 200 whose body is cut short), `slow:S` (answer after S seconds), `401`, and
`reflect-auth:STATUS[:PAD]` (a 4xx whose body echoes the request's Authorization header after
PAD characters of message, as a misbehaving proxy or API might);
`inject(..., page=N)` aims faults at the next requests for page N only.
A token can be required (`accepted_token`): any other token gets 401 Bad credentials.

The window can also move *between page requests*, as GitHub's does while a client pages:
`events_per_request=N` produces N new events before each request to /events is answered (so
page 2 repeats the tail of page 1), deterministically, with no clock involved. A test that
wants `events_per_second` without waiting passes its own `clock` (seconds, like time.monotonic).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from collections import defaultdict, deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ghdw.config import PROJECT_DIR as REPO_ROOT

DEFAULT_SOURCES = [
    REPO_ROOT / "data_samples" / "github_events_sample.json",
    REPO_ROOT.parent / "shared" / "data" / "real",
]
WINDOW = 300  # GitHub serves the latest 300 events
DEFAULT_PER_PAGE = 30  # GitHub's default page size
MAX_PER_PAGE = 100


def read_events(paths) -> list[dict]:
    """Unique events from JSON arrays, JSON lines or single objects, oldest first."""
    events: dict[str, dict] = {}
    files = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path] if path.exists() else [])
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
            values = data if isinstance(data, list) else [data]
        except ValueError:
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
        for value in values:
            if isinstance(value, dict) and "id" in value:
                events.setdefault(str(value["id"]), value)
    return sorted(events.values(), key=lambda e: (e.get("created_at") or "", str(e["id"])))


class LocalGitHub:
    def __init__(
        self,
        events: list[dict],
        *,
        initially_produced: int = WINDOW,
        events_per_second: float = 0.0,
        poll_interval: int = 60,
        accepted_token: str | None = None,
        rate_limit: int | None = None,
        restamp: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        events_per_request: int = 0,
        clock=time.monotonic,
    ):
        self.events = events
        self.produced = min(initially_produced, len(events))
        self.events_per_second = events_per_second
        self.events_per_request = events_per_request
        self.clock = clock
        self.moved = 0  # events produced by advance() and events_per_request, on top of the clock's
        self.poll_interval = poll_interval
        self.accepted_token = accepted_token
        self.rate_limit = rate_limit
        self.restamp = restamp
        self.faults: deque[str] = deque()
        self.raw_bodies: deque[bytes] = deque()  # served as-is by the next 200 pages (serve_raw)
        self.page_faults: defaultdict[int, deque[str]] = defaultdict(deque)
        self.requests: list[dict] = []  # what clients sent, for assertions
        self.used: dict[str, int] = {}
        self.reset_at = int(time.time()) + 3600
        self.lock = threading.Lock()
        self.started_at = clock()
        self.release_times = [datetime.now(timezone.utc)] * self.produced
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalGitHub:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def advance(self, count: int) -> None:
        """Produce `count` more events: the window moves forward."""
        with self.lock:
            self._produce(count)

    def _produce(self, count: int) -> None:
        new = min(len(self.events), self.produced + count) - self.produced
        self.release_times.extend([datetime.now(timezone.utc)] * new)
        self.produced += new
        self.moved += new

    def inject(self, *faults: str, page: int | None = None) -> None:
        """Faults for the next requests (of page `page` only, when given), in order."""
        (self.faults if page is None else self.page_faults[page]).extend(faults)

    def serve_raw(self, *bodies: bytes) -> None:
        """The next 200 pages carry these bodies byte for byte (headers and paging unchanged):
        for JSON that json.dumps cannot produce, such as events nested deeper than it recurses."""
        self.raw_bodies.extend(bodies)

    def visible(self) -> list[dict]:
        with self.lock:
            if self.events_per_second:
                due = int((self.clock() - self.started_at) * self.events_per_second)
                target = min(len(self.events), max(self.produced, WINDOW + due + self.moved))
                self.release_times.extend([datetime.now(timezone.utc)] * (target - self.produced))
                self.produced = target
            start = max(0, self.produced - WINDOW)
            window = []
            for index in range(self.produced - 1, start - 1, -1):
                event = self.events[index]
                if self.restamp:
                    event = dict(event, created_at=self.release_times[index].strftime("%Y-%m-%dT%H:%M:%SZ"))
                window.append(event)
            return window

    # -- HTTP ----------------------------------------------------------------------------------
    def _handler_class(self):
        github = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: tests read self.requests instead
                pass

            def do_GET(self):
                github._serve(self)

        return Handler

    def _identity(self, handler) -> tuple[str, str | None]:
        auth = handler.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else None
        return ("token" if token else f"ip:{handler.client_address[0]}"), token

    def _send(self, handler, status: int, body: bytes = b"", headers: dict | None = None):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, str(value))
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            try:
                handler.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _serve(self, handler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        identity, token = self._identity(handler)
        page = max(1, int(query.get("page", ["1"])[0]))
        self.requests.append(
            {
                "path": handler.path,
                "if_none_match": handler.headers.get("If-None-Match"),
                "authorization": handler.headers.get("Authorization"),
                "page": page,
                "at": self.clock(),
            }
        )
        if parts.path == "/events" and self.events_per_request:
            with self.lock:
                self._produce(self.events_per_request)  # the stream moved since the previous request
        page_faults = self.page_faults.get(page)
        fault = page_faults.popleft() if page_faults else self.faults.popleft() if self.faults else None
        limit = self.rate_limit or (5000 if token else 60)
        remaining = max(0, limit - self.used.get(identity, 0))
        rate_headers = {
            "X-RateLimit-Limit": limit,
            "X-RateLimit-Remaining": remaining,
            "X-RateLimit-Reset": self.reset_at,
            "X-RateLimit-Used": limit - remaining,
        }
        message = lambda text: json.dumps({"message": text}).encode()  # noqa: E731

        if parts.path != "/events":
            return self._send(handler, 404, message("Not Found"), rate_headers)
        if fault and fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
            fault = None
        if fault and fault.startswith("reflect-auth:"):
            status, _, pad = fault.removeprefix("reflect-auth:").partition(":")
            body = {
                "message": "x" * int(pad or 0) + " Validation Failed",
                "request": {"authorization": handler.headers.get("Authorization")},
            }
            return self._send(handler, int(status), json.dumps(body).encode(), rate_headers)
        if fault == "401" or (self.accepted_token and token and token != self.accepted_token):
            return self._send(handler, 401, message("Bad credentials"))
        if fault and fault[:3] in ("500", "502", "503"):
            return self._send(handler, int(fault[:3]), message("Server Error"))
        if fault and "-retry-after:" in fault:
            status, seconds = fault.split("-retry-after:")
            return self._send(
                handler,
                int(status),
                message("You have exceeded a secondary rate limit"),
                {**rate_headers, "Retry-After": seconds},
            )
        if fault == "403-secondary":
            return self._send(handler, 403, message("You have exceeded a secondary rate limit"), rate_headers)
        if fault == "403-exhausted" or remaining == 0:
            return self._send(
                handler, 403, message("API rate limit exceeded"), {**rate_headers, "X-RateLimit-Remaining": 0}
            )

        per_page = min(MAX_PER_PAGE, max(1, int(query.get("per_page", [DEFAULT_PER_PAGE])[0])))
        window = self.visible()
        items = window[(page - 1) * per_page : page * per_page]
        etag = 'W/"' + hashlib.sha1(("|".join(str(e["id"]) for e in items) + f"#{page}").encode()).hexdigest() + '"'
        headers = {"ETag": etag, "X-Poll-Interval": self.poll_interval, "Content-Type": "application/json"}
        last_page = max(1, -(-len(window) // per_page))
        links = []
        if page < last_page:
            links.append(f'<{self.url}/events?per_page={per_page}&page={page + 1}>; rel="next"')
        links.append(f'<{self.url}/events?per_page={per_page}&page={last_page}>; rel="last"')
        headers["Link"] = ", ".join(links)
        if handler.headers.get("If-None-Match") == etag:
            return self._send(handler, 304, b"", {**headers, **rate_headers})  # free: no budget spent
        self.used[identity] = self.used.get(identity, 0) + 1
        rate_headers.update({"X-RateLimit-Remaining": remaining - 1, "X-RateLimit-Used": limit - remaining + 1})
        body = self.raw_bodies.popleft() if self.raw_bodies else json.dumps(items).encode()
        if fault == "truncated":
            body = body[: len(body) // 2]
        return self._send(handler, 200, body, {**headers, **rate_headers})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", help="event files or directories (default: sample + shared real data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--events-per-second", type=float, default=5.0)
    parser.add_argument("--initial", type=int, default=100, help="events already produced at start")
    parser.add_argument("--poll-interval", type=int, default=1, help="X-Poll-Interval to send")
    parser.add_argument(
        "--events-per-request",
        type=int,
        default=0,
        help="new events produced before each page request: the window moves while clients page",
    )
    parser.add_argument("--restamp", action="store_true", help="give events the time they are served as created_at")
    args = parser.parse_args(argv)
    events = read_events(args.sources or DEFAULT_SOURCES)
    server = LocalGitHub(
        events,
        initially_produced=args.initial,
        events_per_second=args.events_per_second,
        poll_interval=args.poll_interval,
        restamp=args.restamp,
        host=args.host,
        port=args.port,
        events_per_request=args.events_per_request,
    )
    print(f"Local GitHub serving {len(events)} recorded events at {server.url}/events", flush=True)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
