"""Values that must not leave the process: which names are secret, and how to strip
input values out of database error text.

Names: one pattern, matched against a lowercased name with "-" and "_" removed, so
X-CSRF-Token, x_csrf_token and csrftoken are the same name. Over-matching ("author",
"keyword") costs a scrubbed harmless value; under-matching leaks a secret.

Free text: URLs in library log lines (httpx logs every request URL) carry query
parameters by name. Error text: drivers put the offending values into messages (Postgres
`DETAIL:  Key (email)=(a@b.c) already exists.`, asyncpg `invalid input for query
argument $1: 'a@b.c'`, SQLAlchemy `[parameters: ...]` unless hide_parameters=True).
Those messages reach tracebacks in logs, span exception events and Sentry; redact_text()
cuts the values and keeps the explanation.
"""

from __future__ import annotations

import re

FILTERED = "[Filtered]"

_SENSITIVE_NAME = re.compile(
    r"token|secret|passw|pwd|key|session|csrf|xsrf|cookie|auth|forwarded|email|sig|credential"
    r"|realip|ipaddress|remoteaddr|clientip"
)

# (literal that must be present, pattern, replacement): the literal check keeps the cost
# of a line without any of them at about 1 us
_TEXT_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("DETAIL:", re.compile(r"(DETAIL:)[^\n]*"), rf"\1  {FILTERED}"),  # key values, failing rows
    ("[parameters: ", re.compile(r"(\[parameters: )[^\n]*"), rf"\1{FILTERED}]"),
    ("query argument", re.compile(r"(invalid input for query argument \$\d+: )[^\n]*?(?= \(|\n|$)"), rf"\1{FILTERED}"),
    ("invalid input", re.compile(r"(invalid input (?:syntax|value) for[^:\n]*: )[^\n]*"), rf"\1{FILTERED}"),
    ("value too long", re.compile(r"(value too long for[^:\n]*: )[^\n]*"), rf"\1{FILTERED}"),
    ("@", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), FILTERED),  # e-mail addresses anywhere
)

_QUERY_PAIR = re.compile(r"([?&;])([^=&;\s\"'#]+)=([^&;\s\"'#]*)")


def sensitive_name(name: str) -> bool:
    return _SENSITIVE_NAME.search(name.lower().replace("-", "").replace("_", "")) is not None


def _query_pair(match: re.Match[str]) -> str:
    sep, name, value = match.groups()
    return f"{sep}{name}={FILTERED}" if sensitive_name(name) else match.group(0)


def redact_text(text: str) -> str:
    """The text with input values taken out of database error messages, secret URL query
    parameters (?token=..., &email=...) and e-mail addresses removed."""
    for literal, pattern, replacement in _TEXT_RULES:
        if literal in text:
            text = pattern.sub(replacement, text)
    if "=" in text:
        text = _QUERY_PAIR.sub(_query_pair, text)
    return text
