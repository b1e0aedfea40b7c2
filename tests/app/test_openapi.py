"""The OpenAPI document tells the truth: every status an operation can answer is declared,
every error answer has the one Problem schema and the real bodies validate against the
declared schema, and a 405 names every method the path supports."""

from __future__ import annotations

import re

import jsonschema_rs  # comes with schemathesis (dev group)
import pytest

PROBLEM_REF = "#/components/schemas/Problem"
API = {422, 500, 503}  # every /api/v1 operation: validation, fault injection, database down
BODY = {400, 409, 413}  # JSON body: malformed, conflicting, too large
EXPECTED = {
    ("post", "/api/v1/users"): {201} | API | BODY,
    ("get", "/api/v1/users"): {200} | API,
    ("get", "/api/v1/users/{user_id}"): {200, 404} | API,
    ("post", "/api/v1/items"): {201} | API | BODY,
    ("get", "/api/v1/items"): {200} | API,
    ("get", "/api/v1/items/{item_id}"): {200, 404} | API,
    ("put", "/api/v1/items/{item_id}"): {200, 404} | API | BODY,
    ("delete", "/api/v1/items/{item_id}"): {204, 404} | API,
    ("get", "/api/v1/items/{item_id}/enrich"): {200, 404, 502} | API,
    ("get", "/health"): {200},
    ("get", "/health/live"): {200},
    ("get", "/health/ready"): {200, 503},
    ("get", "/admin/faults"): {200, 401, 403},
    ("put", "/admin/faults"): {200, 400, 401, 403, 413, 422},
}


@pytest.fixture
async def running(app_factory):
    async with app_factory() as r:
        r.doc = (await r.client.get("/openapi.json")).json()
        yield r


def _validator(doc: dict, method: str, path: str, status: int):
    content = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return jsonschema_rs.validator_for({**content["schema"], "components": doc["components"]})


async def test_every_operation_declares_exactly_the_statuses_it_can_answer(running):
    declared = {
        (method, path): {int(code) for code in op["responses"]}
        for path, ops in running.doc["paths"].items()
        for method, op in ops.items()
    }
    assert declared == EXPECTED


async def test_every_error_answer_is_declared_with_the_problem_schema(running):
    for path, ops in running.doc["paths"].items():
        for method, op in ops.items():
            for code, response in op["responses"].items():
                if int(code) < 400 or path == "/health/ready":
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": PROBLEM_REF}, (method, path, code)
                if code == "503":
                    assert "Retry-After" in response["headers"], (method, path)
    problem = running.doc["components"]["schemas"]["Problem"]
    assert problem["required"] == ["detail"]
    assert "HTTPValidationError" not in running.doc["components"]["schemas"]  # FastAPI's default 422


@pytest.mark.parametrize(
    ("method", "path", "template", "kwargs", "status"),
    [
        ("post", "/api/v1/items", "/api/v1/items", {"json": {"name": "", "price": -1, "color": "red"}}, 422),
        ("get", "/api/v1/users", "/api/v1/users", {"params": {"limit": "x", "offset": 2**64}}, 422),
        ("get", "/api/v1/items/5", "/api/v1/items/{item_id}", {}, 404),
        ("post", "/api/v1/items", "/api/v1/items", {"json": {"name": "x", "price": 1, "owner_id": 7}}, 409),
        (
            "post",
            "/api/v1/users",
            "/api/v1/users",
            {"content": b"\xff", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("put", "/admin/faults", "/admin/faults", {"json": {}}, 401),
        ("put", "/api/v1/items/1", "/api/v1/items/{item_id}", {"content": b" " * (2 * 1024 * 1024)}, 413),
    ],
)
async def test_real_error_bodies_match_the_declared_schema(running, method, path, template, kwargs, status):
    resp = await running.client.request(method, path, **kwargs)
    assert resp.status_code == status, resp.text[:300]
    validator = _validator(running.doc, method, template, status)
    validator.validate(resp.json())
    assert not validator.is_valid({"detail": ["FastAPI's default 422 shape"]})


async def test_405_names_every_method_of_the_path(running):
    for template, ops in running.doc["paths"].items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        documented = {m.upper() for m in ops}
        resp = await running.client.request("PATCH", path)  # no path declares PATCH
        assert resp.status_code == 405, template
        allow = set(resp.headers["allow"].split(", "))
        assert allow - {"HEAD"} == documented, (template, allow)
        assert resp.json() == {"detail": "Method Not Allowed"}
