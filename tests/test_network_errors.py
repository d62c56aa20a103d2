"""A request that gets no answer is reported with its host and its cause (DNS, refused, TLS,
timeout), by the listener's client and by the backfill alike (net_errors.describe)."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest
from conftest import SAMPLE_FILE, scalar
from helpers import free_port

from ghdw.api_client import GitHubClient
from ghdw.bronze.backfill import hour_targets, run_backfill
from ghdw.dev.local_github import LocalGitHub, read_events

pytestmark = pytest.mark.slow  # starts processes, servers or tools, or loads the real data (make test-fast skips it)

SHORT_TIMEOUT = (0.5, 0.5)  # seconds: connect, read (the client's default is 5 s / 30 s)


@pytest.fixture
def silent_server():
    """Accepts connections (the kernel's backlog does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def plain_http_github():
    with LocalGitHub(read_events([SAMPLE_FILE])) as server:
        yield server


def poll_error(base_url: str) -> str:
    client = GitHubClient(base_url, sleep=lambda seconds: None, max_attempts=1, timeout=SHORT_TIMEOUT)
    result = client.poll(lambda event_id: False)
    assert result.error is not None and result.events == []
    return str(result.error)


def test_a_closed_port_is_reported_as_connection_refused_with_its_host():
    port = free_port()
    assert (
        poll_error(f"http://127.0.0.1:{port}")
        == f"network error: cannot reach 127.0.0.1:{port}: connection refused (nothing is listening on that port)"
    )


def test_a_server_that_never_answers_is_reported_as_a_timeout(silent_server):
    error = poll_error(silent_server)
    assert (
        error == f"network error: cannot reach {silent_server.removeprefix('http://')}: "
        "timed out waiting for the response (no answer within 0.5 s)"
    )


def test_a_name_that_does_not_resolve_is_reported_as_dns():
    error = poll_error("http://api.github.invalid")
    assert error.startswith("network error: cannot reach api.github.invalid:80: DNS lookup failed"), error


def test_https_to_a_plain_http_server_is_reported_as_tls(plain_http_github):
    url = plain_http_github.url.replace("http://", "https://")
    error = poll_error(url)
    assert error.startswith(f"network error: cannot reach {url.removeprefix('https://')}: TLS handshake failed"), error


def test_the_listener_logs_the_cause_with_each_retry(caplog):
    port = free_port()
    caplog.set_level("WARNING")
    GitHubClient(f"http://127.0.0.1:{port}", sleep=lambda seconds: None, max_attempts=2, timeout=SHORT_TIMEOUT).poll(
        lambda event_id: False
    )
    assert f"cannot reach 127.0.0.1:{port}: connection refused" in caplog.text
    assert "ConnectionError" not in caplog.text


def test_the_backfill_describes_an_unreachable_archive_the_same_way(settings, conn):
    port = free_port()
    targets = hour_targets(datetime(2024, 1, 1, 0), datetime(2024, 1, 1, 0), f"http://127.0.0.1:{port}")
    outcomes, _ = run_backfill(settings, targets)
    assert outcomes == {"2024-01-01-0.json.gz": "failed"}
    assert (
        scalar(conn, "SELECT error_message FROM bronze.backfill_files")
        == f"cannot reach 127.0.0.1:{port}: connection refused (nothing is listening on that port)"
    )
