"""Keeps secrets inside the process: one redaction applied on every route out of it.

The routes are log records (logger.RedactSecrets, on every handler including the root's),
uncaught exceptions (logger's excepthooks), text a command prints (health.py), and text
stored in a table another role can read (bronze.poll_log.error_message via the BI health
view, bronze.backfill_files.error_message). The secrets are the GitHub token, every
database password setting, and the password inside any URL, each in the encodings it
can take on the way out: as configured, percent-encoded, percent-decoded, and escaped
by repr() or JSON. Independently of known secrets, the credentials of any URL in the
text (`scheme://user:password@host`) are blanked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

MASK = "***"
# `scheme://` followed by anything up to the last '@' of that word: the userinfo, even when a
# password holds an unencoded '/', ':' or '@'. Over-redacting a rare '@' in a query string
# is the safe direction.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)\S*@")

_registered: set[str] = set()


def secret_forms(secret: str) -> set[str]:
    """The texts a secret can appear as after URL, repr() or JSON encoding or decoding."""
    forms = {
        secret,
        unquote(secret),
        unquote_plus(secret),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
    }
    return {form for form in forms if form}


def url_userinfo_password(url: str) -> str | None:
    """The password part of a URL's userinfo, as written (not decoded).

    urllib's urlsplit() stops the authority at the first '/', '?' or '#', so it misses a
    password that holds one of them; libpq reads `postgresql://u:a?b@h` as password 'a?b'.
    Taking everything between '://' and the last '@' errs on the side of hiding more.
    """
    _, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    userinfo = rest.rpartition("@")[0]
    user, colon, password = userinfo.partition(":")
    return password if colon and password else None


class Redactor:
    """Replaces known secrets (in every form) and URL credentials in a text."""

    def __init__(self, secrets: Iterable[str] = ()):
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= secret_forms(secret)
        # Longest first, so a secret that contains another is masked whole.
        self.forms = tuple(sorted(forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, MASK)
        return _URL_CREDENTIALS.sub(rf"\1{MASK}@", text)


def register(secrets: Iterable[str]) -> None:
    """Add this process's secrets (setup_logging does, from the settings) to redact()."""
    _registered.update(s for s in secrets if s)


def redact(text: str | None, extra: Iterable[str] = ()) -> str | None:
    """`text` with every registered secret (and `extra`) masked; None stays None."""
    if text is None:
        return None
    return Redactor([*_registered, *extra])(text)
