"""A small HTTP client on the standard library: tests must not depend on the app's own
client stack to judge it, and an error status is an answer, not an exception."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, NamedTuple


class Reply(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]

    def data(self) -> Any:
        """The body as JSON, else as text (plain endpoints such as /-/ready), else None."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode(errors="replace")


def request(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> Reply:
    """One request; a JSON body when `body` is given. Connection errors raise OSError."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read(), dict(exc.headers))


def exchange(method: str, url: str, body: Any = None, timeout: float = 5) -> tuple[int, Any]:
    """(status, decoded body): the short form for JSON APIs."""
    reply = request(method, url, body, timeout=timeout)
    return reply.status, reply.data()


def get_json(url: str, **params: str) -> Any:
    """GET with query parameters; anything but 200 raises RuntimeError (poll_until retries it)."""
    if params:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    reply = request("GET", url)
    if reply.status != 200:
        raise RuntimeError(f"GET {url} -> {reply.status}: {reply.body[:300]!r}")
    return json.loads(reply.body)


def get_text(url: str, timeout: float = 2) -> str | None:
    """The body of a 2xx answer, or None when nothing (healthy) answers."""
    try:
        reply = request("GET", url, timeout=timeout)
    except OSError:
        return None
    return reply.body.decode() if 200 <= reply.status < 300 else None


def answers(url: str) -> bool:
    """Something answers below 500 (a readiness probe that does not care about the body)."""
    try:
        return request("GET", url, timeout=3).status < 500
    except OSError:
        return False
