"""GH Archive's hours as load targets: naming (YYYY-MM-DD-H, hour not zero-padded), ranges of
hours at GHARCHIVE_URL, and local files named like an hour.

A Target is one file to load into bronze: its name in the backfill ledger, where to read it, and
the source recorded on its events. Errors are exceptions (InvalidHour, FileNotFoundError); the
command line decides what to tell the user and how to exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ghdw.sources.event_files import UnsupportedInput, expand_inputs, file_sources

HOUR_FORMAT = "%Y-%m-%d-%H"  # GH Archive names hours YYYY-MM-DD-H, hour not zero-padded


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
