"""Attribute values shaped the way the OpenTelemetry semantic conventions (v1.44) ask.

Names and enumerations come from the `opentelemetry-semantic-conventions` package pinned
with the SDK, so a rename there shows up as an import error, not as silent drift.

- HTTP method: known methods as sent (case-sensitive); anything else is `_OTHER`, with the
  raw value in `http.request.method_original` (bounded: span attributes are not a place
  for an attacker's 1 MB method string).
- url.query: values of secret-looking keys become `REDACTED` (the conventions' own
  wording), the rest is kept as sent, truncated to a bound.
- SQL text: the driver gets parameters separately, so the text is already free of the
  values; literals written into the statement itself are replaced by `?` all the same.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qsl, quote

from opentelemetry.semconv.attributes.http_attributes import HttpRequestMethodValues
from opentelemetry.util.http import PARAMS_TO_REDACT

OTHER_METHOD = HttpRequestMethodValues.OTHER.value
KNOWN_METHODS = frozenset(m.value for m in HttpRequestMethodValues) - {OTHER_METHOD}
REDACTED = "REDACTED"
MAX_VALUE_CHARS = 512
# upstream's list (AWS/GCP signed-URL keys) plus the usual credentials in query strings
_SECRET_KEYS = tuple(k.lower() for k in PARAMS_TO_REDACT) + (
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "auth",
    "signature",
    "session",
    "code",
)
_SQL_LITERAL = re.compile(r"'(?:[^']|'')*'|(?<![\w$.])\d+(?:\.\d+)?\b")


def http_method(method: str) -> tuple[str, str | None]:
    """(http.request.method, http.request.method_original or None)."""
    if method in KNOWN_METHODS:
        return method, None
    return OTHER_METHOD, method[:MAX_VALUE_CHARS]


def span_method(method_attr: str) -> str:
    """The method part of a span name: `HTTP` stands in for `_OTHER`."""
    return "HTTP" if method_attr == OTHER_METHOD else method_attr


def _secret(key: str) -> bool:
    lowered = key.lower()
    return any(s in lowered for s in _SECRET_KEYS)


def scrub_query(raw: bytes) -> str:
    """url.query without secret values; '' when there is no query."""
    if not raw:
        return ""
    text = raw.decode("latin-1")[: MAX_VALUE_CHARS * 4]
    if not _secret(text):  # no secret-looking word anywhere: skip parsing (about 8 us saved)
        return text[:MAX_VALUE_CHARS]
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(_secret(k) for k, _ in pairs):
        return text[:MAX_VALUE_CHARS]
    parts = [f"{quote(k, safe='')}={REDACTED if _secret(k) else quote(v, safe='')}" for k, v in pairs]
    return "&".join(parts)[:MAX_VALUE_CHARS]


def host_port(host_header: bytes | None, scope: dict[str, Any]) -> tuple[str | None, int | None]:
    """server.address / server.port of a server span: the Host header, else the socket."""
    if host_header:
        host = host_header.decode("latin-1")[:MAX_VALUE_CHARS]
        if host.startswith("["):  # [v6]:port
            addr, _, rest = host[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            addr, _, port = host.partition(":")
        return addr or None, int(port) if port.isdigit() and len(port) <= 5 else None
    server = scope.get("server")
    if server:
        return str(server[0]), server[1]
    return None, None


def sql_text(statement: str) -> str:
    """db.query.text: the statement with inline literals replaced by `?`."""
    return _SQL_LITERAL.sub("?", statement)


# The upstream instrumentations emit the stable HTTP and database conventions only when
# asked (their default is still the pre-1.21 names: http.url, net.peer.*, db.statement).
# They read this variable once per process, when the first client is instrumented, so it
# is set before that; a value the operator set (e.g. "http/dup,database/dup" during a
# migration of dashboards) wins.
SEMCONV_OPT_IN = "http,database"


def opt_in_stable() -> None:
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", SEMCONV_OPT_IN)
