"""Logs end to end: JSON fields, ids on every line, stdlib records, hold-back on kept requests."""

from __future__ import annotations

import json
import logging
import re

import structlog
from fastapi.responses import JSONResponse

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
log = structlog.get_logger("tests.work")


def _work_routes(app):
    @app.get("/work")
    async def work(fail: bool = False):
        log.info("step one", detail=1)
        logging.getLogger("some.library").info("stdlib step %s", 2)
        if fail:
            return JSONResponse({"detail": "failed"}, status_code=503)
        return {"ok": True}

    @app.get("/crash")
    async def crash():
        raise ValueError("broken on purpose")


def _access(lines, path):
    return [l for l in lines if l.get("logger") == "app.access" and l.get("path") == path]


async def test_every_request_line_has_ids_and_the_contract_fields(app_factory):
    async with app_factory(TRACE_SAMPLE_RATE=1.0, extend=_work_routes) as r:
        resp = await r.client.get("/work", headers={"X-Request-ID": "req-123.abc"})
        assert resp.headers["x-request-id"] == "req-123.abc"
        root = [s for s in r.spans() if s.name == "GET /work"][0]
        trace_id = format(root.context.trace_id, "032x")
        lines = [l for l in r.logs() if l.get("request_id") == "req-123.abc"]
        events = {l["event"] for l in lines}
        assert {"step one", "stdlib step 2", "request"} <= events
        for line in lines:
            assert line["trace_id"] == trace_id and HEX16.match(line["span_id"])
            assert TS.match(line["timestamp"]) and line["level"] == line["level"].lower()
            assert line["service"] == "fastapi-app" and line["logger"]
        access = _access(lines, "/work")[0]
        assert access["method"] == "GET" and access["route"] == "/work"
        assert access["status_code"] == 200 and isinstance(access["duration_ms"], float)
        std = [l for l in lines if l["event"] == "stdlib step 2"][0]
        assert std["logger"] == "some.library" and std["level"] == "info"


async def test_unsampled_traces_still_put_ids_in_logs(app_factory):
    async with app_factory(TRACE_SAMPLE_RATE=0.0, extend=_work_routes) as r:
        resp = await r.client.get("/work", headers={"X-Request-ID": "bad id with spaces"})
        generated = resp.headers["x-request-id"]
        assert HEX32.match(generated), "an unsafe incoming id is replaced"
        assert r.spans() == []
        access = _access(r.logs(), "/work")[0]
        assert access["request_id"] == generated and HEX32.match(access["trace_id"])


async def test_kept_request_keeps_lines_that_sampling_had_dropped(app_factory):
    async with app_factory(
        TRACE_SAMPLE_RATE=0.0, LOG_SAMPLE_INFO=0.0, LOG_SAMPLE_WARNING=0.0, extend=_work_routes
    ) as r:
        await r.client.get("/work", headers={"X-Request-ID": "dropped"})
        await r.client.get("/work", params={"fail": "true"}, headers={"X-Request-ID": "kept"})
        lines = r.logs()
        assert not [l for l in lines if l.get("request_id") == "dropped"]
        kept = [l for l in lines if l.get("request_id") == "kept"]
        assert [l["event"] for l in kept] == ["step one", "stdlib step 2", "request"]
        assert kept[-1]["level"] == "error" and kept[-1]["status_code"] == 503
        assert kept[0]["timestamp"] <= kept[-1]["timestamp"]
        assert len({l["trace_id"] for l in kept}) == 1


async def test_unhandled_exception_logged_once_with_traceback(app_factory):
    async with app_factory(extend=_work_routes) as r:
        resp = await r.client.get("/crash")
        assert resp.status_code == 500 and resp.json() == {"detail": "Internal Server Error"}
        lines = [l for l in r.logs() if "broken on purpose" in str(l)]
        assert len(lines) == 1
        assert lines[0]["level"] == "error" and "ValueError: broken on purpose" in lines[0]["exception"]


async def test_development_console_on_stdout_json_in_file(app_factory, capsys):
    async with app_factory(APP_ENV="development", extend=_work_routes) as r:
        await r.client.get("/work", headers={"X-Request-ID": "dev-1"})
        out = capsys.readouterr().out
        assert "step one" in out and not out.lstrip().startswith("{")
        assert [l for l in r.logs() if l.get("request_id") == "dev-1"]


async def test_disabled_observability_writes_no_access_log(app_factory):
    async with app_factory(OBSERVABILITY_ENABLED=False, extend=_work_routes) as r:
        resp = await r.client.get("/work")
        assert resp.status_code == 200 and "x-request-id" not in resp.headers
        assert not _access(r.logs(), "/work") and r.spans() == []


async def test_log_file_rotates_and_stays_json_lines(app_factory, tmp_path):
    async with app_factory(LOG_FILE_MAX_BYTES=4096, LOG_FILE_BACKUP_COUNT=2, extend=_work_routes) as r:
        for i in range(40):
            await r.client.get("/work", headers={"X-Request-ID": f"rot-{i}"})
    files = sorted(tmp_path.glob("app.log*"))
    assert [f.name for f in files] == ["app.log", "app.log.1", "app.log.2"]
    for f in files:
        assert f.stat().st_size <= 4096
        for line in f.read_text().splitlines():
            json.loads(line)
    newest = [json.loads(x) for x in files[0].read_text().splitlines()]
    assert any(e.get("request_id") == "rot-39" for e in newest)
