"""GitHub events API client: paging, conditional requests, rate limits and retries.

One job: turn `GET /events` into the list of events that are new since the last poll, spending
as little rate limit as possible. Loading them is bronze_loader's job; the loop is main.py's.

Facts of the API this client respects (GitHub REST docs):
* at most 100 events per page and 300 in all (3 pages), linked with the `Link` header;
* `ETag` / `If-None-Match`: a 304 costs no rate limit and means nothing new;
* `X-Poll-Interval`: the minimum seconds between polls;
* `X-RateLimit-Remaining` / `X-RateLimit-Reset`; 403/429 with `Retry-After`, or with
  remaining 0 (wait for the reset), or a secondary limit (wait >= 60 s, then back off).
The retry policy lives in `_retrying()` and nowhere else.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
import tenacity

from ghdw.core import lifecycle, net_errors, redaction
from ghdw.sources.json_split import RawEvent, flatten, member_text, split_values

log = logging.getLogger("ghdw.API_CLIENT")

MAX_PER_PAGE = 100  # GitHub's maximum page size for /events
MAX_EVENTS = 300  # GitHub serves at most the latest 300 events
MAX_PAGES = MAX_EVENTS // MAX_PER_PAGE
REQUEST_TIMEOUT = (5, 30)  # seconds: connect, read
MAX_ATTEMPTS = 6  # per request, for retriable failures
BACKOFF_MAX_SECONDS = 120  # cap of the jittered exponential backoff for 5xx / network errors
SECONDARY_LIMIT_SECONDS = 60  # GitHub: wait at least a minute after a secondary rate limit
USER_AGENT = "github-events-dw (+https://github.com/)"
# A request in flight when a stop is requested gets this long to bring its page home (then it is
# abandoned): the listener stops within 2 s, with the events of every page answered by then.
STOP_REQUEST_GRACE_SECONDS = 1.0
BODY_EXCERPT_CHARS = 200  # of a rejected request's body, kept in the error (and the poll log)


class GitHubError(Exception):
    """Base class; `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class RetriableError(GitHubError):
    """5xx, network trouble, a body that is not JSON, or a rate limit: try again later."""

    def __init__(self, message: str, status: int | None = None, wait_seconds: float | None = None):
        super().__init__(message, status)
        self.wait_seconds = wait_seconds


class AuthenticationError(GitHubError):
    """401: the token is wrong. A configuration error: retrying cannot help."""


class RequestRejected(GitHubError):
    """Another 4xx: log it and skip this poll."""


class PollInterrupted(GitHubError):
    """A stop was requested during a request or a retry's wait: the poll ends with what it has."""


@dataclass
class Page:
    status: int
    events: list = field(default_factory=list)
    etag: str | None = None
    next_url: str | None = None
    poll_interval: int | None = None
    rate_limit: int | None = None
    rate_remaining: int | None = None
    rate_reset: int | None = None


@dataclass
class PollResult:
    events: list = field(default_factory=list)  # events not yet stored, newest first, deduplicated
    fetched: int = 0  # events received, including repeats and stored ones
    pages: int = 0
    status: int | None = None  # first page's status (200, 304, ...), or the failure's
    overlap_found: bool = False  # reached an event a complete earlier poll stored
    reached_stored: bool = False  # reached an event an incomplete earlier poll stored
    gap_suspected: bool = False
    poll_interval: int | None = None  # GitHub's latest X-Poll-Interval, remembered across polls
    rate_remaining: int | None = None
    rate_reset: int | None = None
    started_at: float | None = None  # client.monotonic() at this poll's first request
    error: GitHubError | None = None  # why paging ended early; events before it are kept
    etags: dict = field(default_factory=dict)  # url -> ETag of pages answered 200, to trust once stored


def event_id_of(event) -> str | None:
    """The id bronze keeps `event` under, by the loader's rule (a non-empty string, or a number),
    or None when it has no usable id: the loader dead-letters such an event, so it can never be a
    repeat nor an overlap. A RawEvent's id is read from its top-level members without recursion."""
    if isinstance(event, RawEvent):
        text = member_text(event.encode("utf-8", "surrogateescape"), "id")
        try:
            value = json.loads(text) if text is not None else None
        except (ValueError, RecursionError):
            return None
    elif isinstance(event, dict):
        value = event.get("id")
    else:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(value)
    return None


def _events_without_recursion(body: bytes) -> list:
    """The events of a page too deep for json.loads: each element parsed on its own, and one
    that is itself too deep kept as its JSON text (a RawEvent) for PostgreSQL to read."""
    if not body.lstrip(b" \t\r\n").startswith(b"["):
        raise RetriableError("GitHub returned 200 with a body that is not a list of events", 200)
    events: list = []
    for piece in split_values([body]):
        text = flatten(piece.text) if piece.reason is None else None
        if text is None:
            raise RetriableError("GitHub returned 200 with a body that is not valid JSON", 200)
        try:
            events.append(json.loads(text))
        except RecursionError:
            events.append(RawEvent(text.decode("utf-8", "surrogateescape")))
        except ValueError:
            raise RetriableError("GitHub returned 200 with a body that is not valid JSON", 200) from None
    return events


def _int_header(headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class GitHubClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        stop: threading.Event | None = None,
        timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ):
        self.base_url = base_url.rstrip("/")
        # Retries wait on the stop event (lifecycle.STOP unless given): a SIGTERM during a backoff
        # ends the poll at once instead of after the sleep. A test may pass its own sleep.
        self.stop = stop or lifecycle.STOP
        self.sleep = sleep or self.stop.wait
        self.timeout = timeout
        self.now = now
        self.monotonic = monotonic  # times polls for X-Poll-Interval; a test passes its own clock
        self.max_attempts = max_attempts
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", "User-Agent": USER_AGENT}
        )
        if token:
            # The token only ever travels in this header: never in a URL, never in a log line.
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.authenticated = bool(token)
        # A server (or proxy) may reflect our headers in an error body, which goes to the poll log.
        self._redact = redaction.Redactor([token] if token else [])
        # ETags of pages whose events are stored: the caller adds a poll's with trust_etags() only
        # after its load committed, so a 304 can never hide events that were fetched but not stored.
        self.etags: dict[str, str] = {}
        # GitHub's latest X-Poll-Interval: a 5xx, or a poll that failed, carries none, and must not
        # make the next poll come sooner than GitHub asked.
        self.poll_interval: int | None = None
        self._announced = False
        self._secondary_limits = 0  # consecutive secondary rate limits within this poll

    # -- one request -------------------------------------------------------------------------
    def _wait_for(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception()
        if isinstance(exc, RetriableError) and exc.wait_seconds is not None:
            return exc.wait_seconds
        return lifecycle.backoff_seconds(retry_state.attempt_number, BACKOFF_MAX_SECONDS)

    def _before_sleep(self, retry_state: tenacity.RetryCallState) -> None:
        exc = retry_state.outcome.exception()
        log.warning(
            "%s; retry %d/%d in %.1fs.",
            exc,
            retry_state.attempt_number,
            self.max_attempts - 1,
            retry_state.next_action.sleep,
        )

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(RetriableError),
            wait=self._wait_for,
            stop=tenacity.stop_after_attempt(self.max_attempts),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def _sleep(self, seconds: float) -> None:
        if not self.stop.is_set():
            self.sleep(seconds)
        if self.stop.is_set():
            raise PollInterrupted("stop requested while waiting to retry")

    def fetch_page(self, url: str) -> Page:
        """GET one page, retrying what is retriable. Raises GitHubError subclasses."""
        return self._retrying()(self._fetch_page_once, url)

    def _fetch_page_once(self, url: str) -> Page:
        headers = {}
        if url in self.etags:
            headers["If-None-Match"] = self.etags[url]
        if self.stop.is_set():
            raise PollInterrupted("stop requested")
        try:
            # In a thread of its own, so a stop does not wait for a slow answer (up to the read timeout).
            response = lifecycle.call_until_stopped(
                lambda: self.session.get(url, headers=headers, timeout=self.timeout),
                self.stop,
                abandon=True,
                grace=STOP_REQUEST_GRACE_SECONDS,
                name="github-request",
            )
        except lifecycle.Stopped:
            raise PollInterrupted("stop requested during a request") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableError(f"network error: {net_errors.describe(exc, url, self.timeout)}") from None
        h = response.headers
        page = Page(
            status=response.status_code,
            etag=h.get("ETag"),
            next_url=response.links.get("next", {}).get("url"),
            poll_interval=_int_header(h, "X-Poll-Interval"),
            rate_limit=_int_header(h, "X-RateLimit-Limit"),
            rate_remaining=_int_header(h, "X-RateLimit-Remaining"),
            rate_reset=_int_header(h, "X-RateLimit-Reset"),
        )
        status = response.status_code
        if status == 304:
            return page
        if status == 200:
            try:
                page.events = response.json()
            except ValueError:
                raise RetriableError("GitHub returned 200 with a body that is not valid JSON", 200) from None
            except RecursionError:
                # Nested deeper than Python's parser can go (PostgreSQL may still take it).
                page.events = _events_without_recursion(response.content)
            if not isinstance(page.events, list):
                raise RetriableError("GitHub returned 200 with a body that is not a list of events", 200)
            return page
        if status == 401:
            raise AuthenticationError(
                "GitHub rejected the token (401 Bad credentials): check GITHUB_TOKEN "
                "or unset it to poll unauthenticated",
                401,
            )
        if status in (403, 429):
            retry_after = _int_header(h, "Retry-After")
            if retry_after is not None:
                raise RetriableError(f"rate limited ({status}), Retry-After {retry_after}s", status, retry_after)
            if page.rate_remaining == 0 and page.rate_reset:
                wait = max(1.0, page.rate_reset - self.now() + 1)
                raise RetriableError(f"rate limit exhausted ({status}); resets in {wait:.0f}s", status, wait)
            if status == 429 or "rate limit" in response.text.lower():
                wait = SECONDARY_LIMIT_SECONDS * 2 ** min(self._secondary_limits, 4)
                self._secondary_limits += 1
                raise RetriableError(f"secondary rate limit ({status})", status, wait)
            raise RequestRejected(f"GitHub refused the request ({status}): {self._excerpt(response)}", status)
        if status >= 500:
            raise RetriableError(f"GitHub server error {status}", status)
        raise RequestRejected(f"GitHub answered {status}: {self._excerpt(response)}", status)

    def _excerpt(self, response: requests.Response) -> str:
        """The start of the body, redacted before it is cut: a cut through the token would
        leave a prefix no redaction recognises."""
        return self._redact(response.text)[:BODY_EXCERPT_CHARS]

    # -- one poll --------------------------------------------------------------------------------
    def poll(
        self, seen: Callable[[str], bool], expect_overlap: bool = True, stored: Callable[[str], bool] | None = None
    ) -> PollResult:
        """Fetch pages of /events until one holds an event stored before this poll, or the 300 run out.

        `seen(event_id)` says whether an event was stored by an earlier poll that was complete (paged
        down to such an event, or to the end of what GitHub showed): only those are an overlap.
        `stored(event_id)`, when given, says whether an incomplete earlier poll stored it: a hole may
        lie below such an event (that poll flagged it), so paging goes on through it, but reaching
        one counts as reaching the overlap for the gap check. GitHub computes page N
        on the window as it is when page N is asked for, and the window moves while we page: page 2
        repeats the tail of page 1. Such a repeat is skipped, never taken for the overlap; paging
        stops only at a stored event, after the last page, or at the 300 GitHub serves.
        Not reaching a stored event means events may have been missed: gap_suspected, unless there
        is nothing to overlap yet (`expect_overlap` False: the first poll of an empty warehouse).
        A page that fails for good ends the poll with `error` set (a 401 included: the caller stops
        on it): the events fetched before it are returned (to be stored: at-least-once) and, paging
        being incomplete, a gap is suspected.
        """
        result = PollResult(poll_interval=self.poll_interval, started_at=self.monotonic())
        url: str | None = f"{self.base_url}/events?per_page={MAX_PER_PAGE}"
        this_poll: set[str] = set()
        while url and result.pages < MAX_PAGES:
            try:
                page = self.fetch_page(url)
            except GitHubError as exc:
                result.error, result.status = exc, exc.status
                break
            result.pages += 1
            if result.status is None:
                result.status = page.status
            if page.poll_interval is not None:
                self.poll_interval = result.poll_interval = page.poll_interval
            if page.rate_remaining is not None:
                result.rate_remaining, result.rate_reset = page.rate_remaining, page.rate_reset
            self._announce(page)
            if page.status == 304:
                # We only hold ETags of pages whose events are stored: this page and all below it are.
                result.overlap_found = True
                break
            if page.etag:
                result.etags[url] = page.etag
            result.fetched += len(page.events)
            for event in page.events:
                event_id = event_id_of(event)
                if event_id is not None:
                    if seen(event_id):
                        result.overlap_found = True
                        continue
                    if event_id in this_poll:
                        continue  # the window moved since the page before: a repeat, not an overlap
                    this_poll.add(event_id)
                    if stored is not None and stored(event_id):
                        result.reached_stored = True
                result.events.append(event)
            if result.overlap_found:
                break
            url = page.next_url
        self._secondary_limits = 0
        self._report(result, expect_overlap)
        return result

    def trust_etags(self, etags: dict[str, str]) -> None:
        """Send these ETags back from now on: the caller has stored the events of their pages."""
        self.etags.update(etags)

    def _report(self, result: PollResult, expect_overlap: bool) -> None:
        if result.error is not None:
            if isinstance(result.error, PollInterrupted):
                log.info("Poll stopped after %d page(s): %s.", result.pages, result.error)
            else:
                log.error("Poll failed after %d page(s): %s", result.pages, result.error)
            if result.pages:
                # Paging stopped short of the overlap: what lay below the last page is unknown.
                result.gap_suspected = True
                log.warning(
                    "Paging ended early: keeping the %d new event(s) fetched, but events may have "
                    "been missed since the last poll.",
                    len(result.events),
                )
        elif not result.overlap_found and not result.reached_stored and expect_overlap and result.fetched:
            result.gap_suspected = True
            log.warning(
                "No overlap with earlier events in %d page(s) (%d events): events may have been "
                "missed since the last poll.",
                result.pages,
                result.fetched,
            )
        if result.status == 304:
            log.info("Not modified (304): no new events.")
        elif result.error is None:
            log.info(
                "Successfully fetched %d events (%d new) in %d page(s).",
                result.fetched,
                len(result.events),
                result.pages,
            )

    def _announce(self, page: Page) -> None:
        if self._announced or page.rate_limit is None:
            return
        self._announced = True
        if self.authenticated:
            log.info("Authenticated! Limit: %s (Remaining: %s)", page.rate_limit, page.rate_remaining)
        else:
            log.info(
                "Unauthenticated. Limit: %s (Remaining: %s); set GITHUB_TOKEN for 5000/hour.",
                page.rate_limit,
                page.rate_remaining,
            )
