"""Hostile input against the real app (Postgres + Redis): every case is a clear 4xx in the
one error shape, with no ERROR log line and no Sentry event (the real SDK, a local sink).

Each case was a 500 (or an 8 MiB echo) before the inputs were bounded to the storage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers import ADMIN_TOKEN
from sqlalchemy import text
from stub_server import Recorder

from app.api.deps import SessionDep
from app.api.problems import INPUT_PREVIEW_CHARS
from app.schemas import INT4_MAX, INT8_MAX, Problem

MIB = 1024 * 1024
ITEM = {"name": "lamp", "price": "1.00"}


def _raw(text: str) -> dict[str, Any]:
    """A JSON body sent byte for byte (NaN, lone surrogates: json.dumps would refuse or fix them)."""
    return {"content": text.encode("utf-8", "surrogatepass"), "headers": {"content-type": "application/json"}}


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * size  # JSON whitespace: the body would parse if it were allowed in
        sent += size


@dataclass
class Case:
    method: str
    path: str
    status: int
    request: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    before: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    field_errors: bool = True  # 422 from validation names the fields; from Postgres it cannot


ADMIN = {"X-Admin-Token": ADMIN_TOKEN}
CASES: dict[str, Case] = {
    # ids and foreign keys: Postgres integer (int4)
    "user id above int4": Case("GET", f"/api/v1/users/{INT4_MAX + 1}", 422),
    "user id above int8": Case("GET", f"/api/v1/users/{2**63}", 422),
    "user id of 30 digits": Case("GET", f"/api/v1/users/{10**30}", 422),
    "item id zero": Case("GET", "/api/v1/items/0", 422),
    "item id negative": Case("DELETE", "/api/v1/items/-1", 422),
    "put item id above int4": Case("PUT", f"/api/v1/items/{INT4_MAX + 1}", 422, {"json": {"name": "x"}}),
    "enrich item id above int4": Case("GET", f"/api/v1/items/{2**40}/enrich", 422),
    "owner_id above int4": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "owner_id": INT4_MAX + 1}}),
    "owner_id of 22 digits": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "owner_id": 2**70}}),
    "owner_id true": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "owner_id": True}}),
    "owner_id as a string": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "owner_id": "5"}}),
    "owner_id that does not exist": Case("POST", "/api/v1/items", 409, {"json": {**ITEM, "owner_id": 424242}}),
    # pagination
    "limit zero": Case("GET", "/api/v1/items", 422, {"params": {"limit": 0}}),
    "limit above the page max": Case("GET", "/api/v1/items", 422, {"params": {"limit": 101}}),
    "limit of 22 digits": Case("GET", "/api/v1/users", 422, {"params": {"limit": 2**70}}),
    "offset negative": Case("GET", "/api/v1/users", 422, {"params": {"offset": -1}}),
    "offset above int8": Case("GET", "/api/v1/items", 422, {"params": {"offset": INT8_MAX + 1}}),
    "offset of 25 digits": Case("GET", "/api/v1/users", 422, {"params": {"offset": 10**25}}),
    # strings Postgres cannot store
    "NUL in full_name": Case("POST", "/api/v1/users", 422, {"json": {"email": "a@b.co", "full_name": "a\x00b"}}),
    "NUL in item name": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "name": "\x00"}}),
    "NUL in description": Case("PUT", "/api/v1/items/1", 422, {"json": {"description": "x\x00"}}),
    "lone surrogate in name": Case("POST", "/api/v1/items", 422, _raw('{"name": "a\\ud800b", "price": "1"}')),
    "lone surrogate in email": Case("POST", "/api/v1/users", 422, _raw('{"email": "\\udfff@b.co", "full_name": "x"}')),
    "blank name": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "name": " \t "}}),
    "name longer than the column": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "name": "n" * 201}}),
    "control character in email": Case(
        "POST", "/api/v1/users", 422, {"json": {"email": "a\x1f@b.co", "full_name": "x"}}
    ),
    # numbers: finite only
    "price NaN": Case("POST", "/api/v1/items", 422, _raw('{"name": "x", "price": NaN}')),
    "price Infinity": Case("POST", "/api/v1/items", 422, _raw('{"name": "x", "price": Infinity}')),
    "price -Infinity": Case("PUT", "/api/v1/items/1", 422, _raw('{"price": -Infinity}')),
    "price 1e400": Case("POST", "/api/v1/items", 422, _raw('{"name": "x", "price": 1e400}')),
    "price above numeric(12,2)": Case("POST", "/api/v1/items", 422, {"json": {"name": "x", "price": 1e10}}),
    "price as exponent string": Case("POST", "/api/v1/items", 422, {"json": {"name": "x", "price": "1e3"}}),
    "price true": Case("POST", "/api/v1/items", 422, {"json": {"name": "x", "price": True}}),
    "price null on update": Case("PUT", "/api/v1/items/1", 422, {"json": {"price": None}}),
    "owner_id 1e400": Case("POST", "/api/v1/items", 422, _raw('{"name": "x", "price": 1, "owner_id": 1e400}')),
    "fault rate NaN": Case(
        "PUT",
        "/admin/faults",
        422,
        {**_raw('{"error_rate_percent": NaN}'), "headers": {"content-type": "application/json", **ADMIN}},
    ),
    # bodies
    "Content-Length above the limit": Case("POST", "/api/v1/items", 413, {"content": b" " * (MIB + 1)}),
    "chunked body above the limit": Case("POST", "/api/v1/users", 413, {"content": _chunks(2 * MIB)}),
    "lower limit from the setting": Case(
        "PUT", "/admin/faults", 413, {"json": {"latency_ms": 1}, "headers": ADMIN}, {"MAX_REQUEST_BODY_BYTES": 8}
    ),
    "not JSON": Case("POST", "/api/v1/items", 422, _raw('{"name": ')),
    "not UTF-8": Case("POST", "/api/v1/users", 400, {**_raw(""), "content": b'{"email": "\xff"}'}),
    "JSON nested 100,000 deep": Case("POST", "/api/v1/items", 400, _raw("[" * 100_000 + "]" * 100_000)),
    "integer literal of 5,000 digits": Case(
        "POST", "/api/v1/items", 400, _raw('{"name": "x", "price": ' + "9" * 5000 + "}")
    ),
    "email that outgrows its column when lowercased": Case(
        "POST",
        "/api/v1/users",
        422,
        {"json": {"email": "\u0130" * 300 + "@b.co", "full_name": "x"}},  # "İ".lower() is 2 characters
        field_errors=False,
    ),
    "large string is not echoed": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "name": "x" * 500_000}}),
    "large unknown key is not echoed": Case("POST", "/api/v1/items", 422, {"json": {**ITEM, "k" * 100_000: 1}}),
    # headers
    "admin token missing": Case("GET", "/admin/faults", 401),
    "admin token wrong": Case("GET", "/admin/faults", 401, {"headers": {"X-Admin-Token": "nope"}}),
    "admin token latin-1 bytes": Case("GET", "/admin/faults", 401, {"headers": {b"X-Admin-Token": b"caf\xe9"}}),
    "admin token UTF-8 bytes": Case(
        "PUT", "/admin/faults", 401, {"headers": {b"X-Admin-Token": "tøken✓".encode()}, "json": {}}
    ),
    "admin API disabled": Case("GET", "/admin/faults", 403, {"headers": ADMIN}, {"ADMIN_TOKEN": ""}),
    # state and methods
    "email already registered": Case(
        "POST",
        "/api/v1/users",
        409,
        {"json": {"email": "ADA@example.com", "full_name": "Ada"}},
        before=[("POST", "/api/v1/users", {"json": {"email": "ada@example.com", "full_name": "Ada"}})],
    ),
    "unknown item": Case("GET", f"/api/v1/items/{INT4_MAX}", 404),
    "method not allowed": Case("PATCH", "/api/v1/items", 405),
}


def _sentry_events(recorder: Recorder) -> list[bytes]:
    return [r["body"] for r in recorder.requests if r["path"].endswith("/envelope/")]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
class TestHostileInputIsAClear4xx:
    async def test_answer(self, case: Case, app_factory, sentry_sink) -> None:
        dsn = f"http://publickey@127.0.0.1:{sentry_sink.server.server_address[1]}/42"
        async with app_factory(SENTRY_DSN=dsn, **case.settings) as r:
            for method, path, request in case.before:
                assert (await r.client.request(method, path, **request)).status_code < 300
            resp = await r.client.request(case.method, case.path, **case.request)
            r.obs.reporter.flush(5)

            assert resp.status_code == case.status, resp.text[:500]
            assert resp.headers["content-type"] == "application/json"
            body = resp.json()
            assert set(body) <= {"detail", "errors"}, body
            problem = Problem.model_validate(body)
            assert problem.detail
            if case.status == 422 and case.field_errors:
                assert problem.errors, body
                for error in problem.errors:
                    assert error.input is None or len(error.input) <= INPUT_PREVIEW_CHARS + 3
            assert len(resp.content) < 4096, "an error answer never echoes the input"
            if case.status == 405:
                assert resp.headers["allow"] == "GET, HEAD, POST"

            logged = [line for line in r.logs() if line["level"] in ("error", "critical")]
            assert logged == [], json.dumps(logged)[:2000]
        assert _sentry_events(sentry_sink) == []


# Database errors that values cause, as the API layer sees them. Validation keeps these
# values out of the real routes; this route sends them to Postgres on purpose, through
# the same session dependency, to prove the last line of defence.
SQL: dict[str, tuple[str, dict[str, Any], int]] = {
    "unique violation": ("INSERT INTO users (email, full_name) VALUES ('dup@x.co', 'a'), ('dup@x.co', 'b')", {}, 409),
    "foreign key violation": ("INSERT INTO items (name, price, owner_id) VALUES ('x', 1, 999999)", {}, 409),
    "value too long for the column": ("INSERT INTO users (email, full_name) VALUES (:v, 'a')", {"v": "e" * 400}, 422),
    "NUL refused by Postgres": ("SELECT CAST(:v AS text)", {"v": "a\x00b"}, 422),
    "int beyond int4 refused by the driver": ("SELECT CAST(:v AS integer)", {"v": 2**40}, 422),
    "numeric overflow": ("SELECT CAST(:v AS numeric(12, 2))", {"v": 10**12}, 422),
}


def _sql_probe(app) -> None:
    @app.post("/sql-probe/{name}")
    async def probe(name: str, s: SessionDep) -> dict:
        statement, params, _ = SQL[name]
        await s.execute(text(statement), params)
        return {}


@pytest.mark.parametrize("name", SQL)
class TestDatabaseErrorsCausedByValuesAre4xx:
    async def test_answer(self, name: str, app_factory, sentry_sink) -> None:
        dsn = f"http://publickey@127.0.0.1:{sentry_sink.server.server_address[1]}/42"
        async with app_factory(SENTRY_DSN=dsn, extend=_sql_probe) as r:
            resp = await r.client.post(f"/sql-probe/{name}")
            r.obs.reporter.flush(5)
            assert resp.status_code == SQL[name][2], resp.text[:300]
            assert set(resp.json()) == {"detail"}
            assert "dup@x.co" not in resp.text and "eeee" not in resp.text  # no values, no SQL
            assert [line for line in r.logs() if line["level"] == "error"] == []
        assert _sentry_events(sentry_sink) == []


async def test_a_query_bug_is_still_a_500(app_factory):
    """Only errors the values cause become 4xx: a broken query is the server's fault."""

    def broken(app) -> None:
        @app.get("/broken-query")
        async def query(s: SessionDep) -> dict:
            await s.execute(text("SELEC 1"))
            return {}

    async with app_factory(extend=broken) as r:
        resp = await r.client.get("/broken-query")
        assert resp.status_code == 500 and resp.json() == {"detail": "Internal Server Error"}
