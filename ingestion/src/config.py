"""Every setting of the pipeline, read once from the environment (and `.env`) and validated.

Entry points call `get_settings()`; a bad value raises `ConfigError` with a message that
names the variable, what was wrong and what is accepted, before any work starts.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from dotenv import load_dotenv
from psycopg2.extensions import parse_dsn

from ghdw.core import redaction


def _project_dir() -> Path:
    """Where the project's files live (warehouse/, .env, .pgdata/, ingestion/logs/): the checkout
    this package runs from (make installs it editable), else the working directory (an installed
    package, such as the Docker image's /app). GHDW_HOME overrides both."""
    override = os.environ.get("GHDW_HOME")
    if override:
        return Path(override).resolve()
    source_tree = Path(__file__).resolve().parents[2]
    return source_tree if (source_tree / "warehouse").is_dir() else Path.cwd()


PROJECT_DIR = _project_dir()

DEFAULT_DB_NAME = "github_events"
DEFAULT_DB_USER = "postgres"
DEFAULT_DB_PORT = 5432
DEFAULT_EMBEDDED_PG_DIR = PROJECT_DIR / ".pgdata"
DEFAULT_LOG_DIR = PROJECT_DIR / "ingestion" / "logs"
# The specification's silver batch: small enough that one batch is a short transaction.
DEFAULT_SILVER_BATCH_SIZE = 5_000
# Sessions loading silver at once when the backlog holds several batches (one per core).
DEFAULT_SILVER_WORKERS = 2
# Demo: the specification's 2-minute cycle; production: daily at 02:00.
DEFAULT_DEMO_INTERVAL_SECONDS = 120
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_GHARCHIVE_URL = "https://data.gharchive.org"
# The specification's 60 s listener cycle; GitHub's X-Poll-Interval may raise it, never lower it.
DEFAULT_POLL_INTERVAL_SECONDS = 60
DEFAULT_PRODUCTION_TIME = "02:00"
# Bronze loads in flight at once during a backfill: one PostgreSQL backend per core of the
# 2-core machine the benchmark targets; more only queue behind each other.
DEFAULT_BACKFILL_WORKERS = 2
# How long setup_db.py keeps trying to reach a database that is not accepting connections yet
# (compose's first boot: postgres:16 runs its init scripts before it listens on TCP). Long enough
# for a first boot on a slow disk; a server that is still down after it is a real outage.
DEFAULT_DB_WAIT_SECONDS = 60
# The gold transaction waits at most this long for a lock another session holds (a transaction
# left open on a dimension, a DDL): then it rolls back and the next cycle retries, instead of the
# scheduler hanging behind it. Gold's own locks are held for seconds at most.
DEFAULT_GOLD_LOCK_TIMEOUT_SECONDS = 30
# Any one statement of the gold transaction: a day of GH Archive (3.5 million events) takes about
# 80 s in gold on 2 cores, so half an hour means something is wrong, not that there is much work.
DEFAULT_GOLD_STATEMENT_TIMEOUT_SECONDS = 1_800
# Log rotation: a file is rotated when it would pass LOG_MAX_BYTES, keeping LOG_BACKUP_COUNT old
# ones (pipeline.log.1 ... .5): at most 60 MB per log file, about two weeks of a live listener
# at INFO, instead of a file that grows until the disk is full.
DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_LOG_BACKUP_COUNT = 5
# A rotation threshold below one log line would rotate on every line.
MIN_LOG_MAX_BYTES = 1024
ETL_MODES = ("demo", "production")
# The least-privilege roles of warehouse/security/roles.sql and their password variables.
SERVICE_ROLES = {"gh_ingestion": "INGESTION_DB_PASS", "gh_etl": "ETL_DB_PASS", "gh_bi": "BI_DB_PASS"}
# health.py thresholds: (warning, critical), each overridable as HEALTH_<NAME>_WARN / _CRIT.
# Freshness is in minutes; a daily production ETL is allowed a day (and a bit) between loads.
HEALTH_THRESHOLDS = {
    "bronze_age_minutes": (15, 60),
    "poll_age_minutes": (10, 30),
    "gold_age_minutes": (15, 60),
    "backlog_events": (100_000, 1_000_000),
    "dlq_unresolved": (1, 1_000),
    "suspected_gaps_24h": (1, 50),
    "unknown_facts": (1, 1_000_000_000),
    "uncurated_event_types": (1, 1_000_000_000),
    # Events silver kept out of gold (a reject_reason) in the last 24 h: real GitHub events
    # never break the rules, so one is worth a look, and a thousand a day means a broken source.
    "rejected_events_24h": (1, 1_000),
    # Events whose payload had a detail of the wrong type (loaded, the detail NULL): worth a look,
    # never an outage, since the events themselves reach gold.
    "malformed_payloads": (1, 1_000_000_000),
}
PRODUCTION_GOLD_AGE_MINUTES = (26 * 60, 50 * 60)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    db_host: str | None = None
    db_name: str = DEFAULT_DB_NAME
    db_user: str = DEFAULT_DB_USER
    db_pass: str | None = field(default=None, repr=False)
    db_port: int = DEFAULT_DB_PORT
    embedded_pg_dir: Path = DEFAULT_EMBEDDED_PG_DIR
    log_dir: Path = DEFAULT_LOG_DIR
    log_level: str = "INFO"
    log_max_bytes: int = DEFAULT_LOG_MAX_BYTES
    log_backup_count: int = DEFAULT_LOG_BACKUP_COUNT
    db_wait_seconds: int = DEFAULT_DB_WAIT_SECONDS
    silver_batch_size: int = DEFAULT_SILVER_BATCH_SIZE
    silver_workers: int = DEFAULT_SILVER_WORKERS
    etl_mode: str = "demo"
    demo_interval_seconds: int = DEFAULT_DEMO_INTERVAL_SECONDS
    github_token: str | None = field(default=None, repr=False)
    github_api_url: str = DEFAULT_GITHUB_API_URL
    poll_interval_seconds: int = DEFAULT_POLL_INTERVAL_SECONDS
    gharchive_url: str = DEFAULT_GHARCHIVE_URL
    production_time: str = DEFAULT_PRODUCTION_TIME
    backfill_workers: int = DEFAULT_BACKFILL_WORKERS
    gold_lock_timeout_seconds: int = DEFAULT_GOLD_LOCK_TIMEOUT_SECONDS
    gold_statement_timeout_seconds: int = DEFAULT_GOLD_STATEMENT_TIMEOUT_SECONDS
    # Role -> password for the service roles (only those set; see SERVICE_ROLES).
    role_passwords: Mapping[str, str] = field(default_factory=dict, repr=False)
    health_thresholds: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(HEALTH_THRESHOLDS))

    @property
    def uses_embedded_db(self) -> bool:
        """No DATABASE_URL and no DB_HOST: the project runs its own PostgreSQL 16."""
        return not self.database_url and not self.db_host

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a log line (see logger.RedactSecrets)."""
        found = [s for s in (self.db_pass, self.github_token, *self.role_passwords.values()) if s]
        if self.database_url:
            found += database_url_passwords(self.database_url)
        return tuple(found)


def database_url_passwords(url: str) -> list[str]:
    """The password of a DATABASE_URL as written and as libpq decodes it (they differ when it
    holds percent-escapes, '?' or '#', which urlsplit() would not even see as part of it)."""
    found = [redaction.url_userinfo_password(url)]
    try:
        found.append(parse_dsn(url).get("password"))
    except psycopg2.ProgrammingError:
        pass  # load_settings refuses such a URL; the written form is still known above
    return [p for p in found if p]


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer (expected {minimum}..{maximum})") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} is out of range (expected {minimum}..{maximum})")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...], upper=False) -> str:
    raw = _text(env, name)
    if raw is None:
        return default
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return value


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = _text(env, name)
    if raw is None:
        return default
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (PROJECT_DIR / path)


def _clock_time(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _text(env, name) or default
    hours, sep, minutes = raw.partition(":")
    if not (
        sep
        and hours.isdigit()
        and minutes.isdigit()
        and len(minutes) == 2
        and 0 <= int(hours) <= 23
        and 0 <= int(minutes) <= 59
    ):
        raise ConfigError(f"{name}={raw!r} is not a time of day HH:MM (for example 02:00)")
    return f"{int(hours):02d}:{minutes}"


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _text(env, name) or default
    if not raw.startswith(("http://", "https://")) or "@" in raw:
        # Echo the value with any userinfo blanked: a token pasted into the URL stays secret.
        raise ConfigError(
            f"{name}={redaction.redact(raw)!r} must be an http(s) URL without credentials "
            f"(secrets go in their own variables)"
        )
    return raw.rstrip("/")


def _database_url(env: Mapping[str, str]) -> str | None:
    """DATABASE_URL, checked the way libpq will read it. The messages never echo the URL:
    libpq's own parse errors quote the password."""
    url = _text(env, "DATABASE_URL")
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "DATABASE_URL must start with postgresql:// (for example "
            "postgresql://user:password@host:5432/github_events)"
        )
    userinfo = url.partition("://")[2].rpartition("@")[0]
    params: dict = {}
    try:
        params = parse_dsn(url)
        # libpq ends the user name and password at the first '@' or '/': an unencoded one there
        # would silently send part of the password as a host or database name.
        malformed = "@" in userinfo or "/" in userinfo
    except psycopg2.ProgrammingError:
        malformed = True
    if malformed:
        raise ConfigError(
            "DATABASE_URL is not a valid PostgreSQL URL: percent-encode the special characters "
            "of the user name and password (% as %25, @ as %40, / as %2F, : as %3A, "
            "space as %20), e.g. with urllib.parse.quote(password, safe='')"
        )
    _check_libpq_options(params)
    return url


# Connection options libpq accepts only with one of these values; it checks them only when it
# connects, so a typo would otherwise surface as a failed connection in the middle of a run.
_LIBPQ_CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "target_session_attrs": ("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
    "load_balance_hosts": ("disable", "random"),
}
_LIBPQ_INTEGERS = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")


def _check_libpq_options(params: Mapping[str, str]) -> None:
    """The options of a parsed DATABASE_URL that libpq would reject at connect time. The messages
    name the option and its value, never the rest of the URL (it holds the password)."""
    for port in str(params.get("port", "")).split(","):  # one per host: host1:5432,host2:5433
        if port and not (port.isdigit() and 1 <= int(port) <= 65535):
            raise ConfigError(f"DATABASE_URL has port {port!r} (expected a number 1..65535)")
    for name, choices in _LIBPQ_CHOICES.items():
        if name in params and params[name] not in choices:
            raise ConfigError(f"DATABASE_URL has {name}={params[name]!r} (expected one of {', '.join(choices)})")
    for name in _LIBPQ_INTEGERS:
        if name in params and not re.fullmatch(r"-?\d+", params[name].strip()):
            raise ConfigError(f"DATABASE_URL has {name}={params[name]!r} (expected an integer)")


def _thresholds(env: Mapping[str, str], etl_mode: str) -> dict[str, tuple[int, int]]:
    found = {}
    for name, (warn, crit) in HEALTH_THRESHOLDS.items():
        if name == "gold_age_minutes" and etl_mode == "production":
            warn, crit = PRODUCTION_GOLD_AGE_MINUTES
        key = f"HEALTH_{name.upper()}"
        warn = _int(env, f"{key}_WARN", warn, 0, 10**12)
        crit = _int(env, f"{key}_CRIT", crit, 0, 10**12)
        if crit < warn:
            raise ConfigError(f"{key}_CRIT={crit} is below {key}_WARN={warn}")
        found[name] = (warn, crit)
    return found


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build and validate Settings from `env` (default: os.environ after loading `.env`)."""
    if env is None:
        load_dotenv(PROJECT_DIR / ".env", override=False)
        env = os.environ

    database_url = _database_url(env)
    etl_mode = _choice(env, "ETL_MODE", "demo", ETL_MODES)
    return Settings(
        database_url=database_url,
        db_host=_text(env, "DB_HOST"),
        db_name=_text(env, "DB_NAME") or DEFAULT_DB_NAME,
        db_user=_text(env, "DB_USER") or DEFAULT_DB_USER,
        db_pass=env.get("DB_PASS") or None,
        db_port=_int(env, "DB_PORT", DEFAULT_DB_PORT, 1, 65535),
        embedded_pg_dir=_path(env, "EMBEDDED_PG_DIR", DEFAULT_EMBEDDED_PG_DIR),
        log_dir=_path(env, "LOG_DIR", DEFAULT_LOG_DIR),
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
        log_max_bytes=_int(env, "LOG_MAX_BYTES", DEFAULT_LOG_MAX_BYTES, MIN_LOG_MAX_BYTES, 2**40),
        log_backup_count=_int(env, "LOG_BACKUP_COUNT", DEFAULT_LOG_BACKUP_COUNT, 1, 1_000),
        db_wait_seconds=_int(env, "DB_WAIT_SECONDS", DEFAULT_DB_WAIT_SECONDS, 0, 3_600),
        silver_batch_size=_int(env, "SILVER_BATCH_SIZE", DEFAULT_SILVER_BATCH_SIZE, 1, 1_000_000),
        silver_workers=_int(env, "SILVER_WORKERS", DEFAULT_SILVER_WORKERS, 1, 32),
        etl_mode=etl_mode,
        demo_interval_seconds=_int(env, "DEMO_INTERVAL_SECONDS", DEFAULT_DEMO_INTERVAL_SECONDS, 1, 86_400),
        github_token=_text(env, "GITHUB_TOKEN"),
        github_api_url=_url(env, "GITHUB_API_URL", DEFAULT_GITHUB_API_URL),
        poll_interval_seconds=_int(env, "POLL_INTERVAL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS, 1, 86_400),
        gharchive_url=_url(env, "GHARCHIVE_URL", DEFAULT_GHARCHIVE_URL),
        production_time=_clock_time(env, "PRODUCTION_TIME", DEFAULT_PRODUCTION_TIME),
        backfill_workers=_int(env, "BACKFILL_WORKERS", DEFAULT_BACKFILL_WORKERS, 1, 32),
        gold_lock_timeout_seconds=_int(env, "GOLD_LOCK_TIMEOUT_SECONDS", DEFAULT_GOLD_LOCK_TIMEOUT_SECONDS, 1, 86_400),
        gold_statement_timeout_seconds=_int(
            env, "GOLD_STATEMENT_TIMEOUT_SECONDS", DEFAULT_GOLD_STATEMENT_TIMEOUT_SECONDS, 1, 86_400
        ),
        role_passwords={role: env[var] for role, var in SERVICE_ROLES.items() if env.get(var)},
        health_thresholds=_thresholds(env, etl_mode),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
