"""GH Archive's hours as load targets: naming (YYYY-MM-DD-H, hour not zero-padded), ranges of
hours at GHARCHIVE_URL, and local files named like an hour.

A Target is one file to load into bronze: its name in the backfill ledger, where to read it, and
the source recorded on its events. Errors are exceptions (InvalidHour, FileNotFoundError); the
command line decides what to tell the user and how to exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ghdw.sources.event_files import UnsupportedInput, expand_inputs, file_sources

HOUR_FORMAT = "%Y-%m-%d-%H"  # GH Archive names hours YYYY-MM-DD-H, hour not zero-padded
# GH Archive's first file in the modern format (2015-01-01-0) is named in UTC; every earlier file
# (legacy Timeline format, from 2011-02-12-0) is named in US Pacific time, daylight saving included.
# The same instant is silver.modern_format_start() in warehouse/silver/ddl.sql.
MODERN_FORMAT_START = datetime(2015, 1, 1, 0)
LEGACY_FILE_ZONE = ZoneInfo("America/Los_Angeles")


class InvalidHour(ValueError):
    """Text that is not an hour in GH Archive's YYYY-MM-DD-H form."""


@dataclass
class Target:
    name: str  # key in bronze.backfill_files, e.g. 2024-01-01-0.json.gz
    uri: str  # URL or absolute path
    source: str  # bronze.raw_events.source, e.g. gharchive:2024-01-01-0
    member: str | None = None  # for a member of a local zip archive (uri): its path inside it


def parse_hour(text: str) -> datetime:
    """YYYY-MM-DD-H (GH Archive's name of an hour); InvalidHour otherwise."""
    try:
        day, hour = text.rsplit("-", 1)
        return datetime.strptime(day, "%Y-%m-%d").replace(hour=int(hour))
    except ValueError:
        raise InvalidHour(f"not an hour: {text!r} (expected YYYY-MM-DD-H, for example 2024-01-01-0)") from None


def is_legacy_file(moment: datetime) -> bool:
    """Whether the file named by this hour holds legacy Timeline events (named in Pacific time)."""
    return moment < MODERN_FORMAT_START


def utc_hours_of_file(moment: datetime) -> tuple[datetime, datetime]:
    """The first and last UTC hour (naive) the file named by this hour covers.

    A modern file covers its own name. A legacy file's name is Pacific wall-clock time: at the
    autumn change 01:00 happens twice and the file covers two UTC hours; at the spring change
    02:00 never happens and its two readings (PST and PDT) come out in the other order, so the
    pair is sorted.
    """
    if not is_legacy_file(moment):
        return moment, moment
    readings = [
        moment.replace(tzinfo=LEGACY_FILE_ZONE, fold=fold).astimezone(timezone.utc).replace(tzinfo=None)
        for fold in (0, 1)
    ]
    return min(readings), max(readings)


def hour_name(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}-{moment.hour}"


def hour_targets(first: datetime, last: datetime, base_url: str) -> list[Target]:
    targets, moment = [], first
    while moment <= last:
        name = hour_name(moment)
        targets.append(Target(f"{name}.json.gz", f"{base_url.rstrip('/')}/{name}.json.gz", f"gharchive:{name}"))
        moment += timedelta(hours=1)
    return targets


def file_targets(patterns: list[str]) -> list[Target]:
    """A target per local event file, and per event file inside a zip archive; an hour-named file
    counts as that GH Archive hour. Raises FileNotFoundError naming an input that matches nothing,
    and UnsupportedInput naming every input that is a binary container it cannot read (tar, xz, ...)."""
    paths = expand_inputs(patterns)
    targets, refused = [], []
    for path in paths:
        try:
            sources = file_sources(path)
        except UnsupportedInput as exc:
            refused.append(str(exc))
            continue
        for found in sources:
            base = found.member.rsplit("/", 1)[-1] if found.member else path.name
            stem = base.removesuffix(".gz").removesuffix(".json")
            name = f"{path.name}/{found.member}" if found.member else path.name
            source = f"gharchive:{stem}" if looks_like_hour(stem) else found.name
            targets.append(Target(name, str(path.resolve()), source, found.member))
    if refused:
        raise UnsupportedInput("\n".join(refused))
    return targets


def looks_like_hour(stem: str) -> bool:
    try:
        parse_hour(stem)
        return True
    except InvalidHour:
        return False
