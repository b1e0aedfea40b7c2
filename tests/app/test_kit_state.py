"""The kit's state belongs to the app it was set up for: two apps in one process (as in
these tests, or two apps mounted side by side) each export their own spans through their
own pipeline and reporter, and shutting one down leaves the other working."""

from __future__ import annotations

from helpers import base_settings, running_app


def _names(spans) -> set[str]:
    return {s.name for s in spans}


async def test_two_apps_in_one_process_keep_their_spans_apart(clean, tmp_path):
    first = base_settings(tmp_path / "a", APP_NAME="first-app")
    second = base_settings(tmp_path / "b", APP_NAME="second-app")
    async with running_app(first) as a, running_app(second) as b:
        assert a.obs.pipeline is not b.obs.pipeline and a.obs.tracer_provider is not b.obs.tracer_provider
        assert (await a.client.get("/api/v1/users")).status_code == 200
        assert (await b.client.get("/internal/ping")).status_code == 200
        a_spans, b_spans = a.spans(), b.spans()
        assert "GET /api/v1/users" in _names(a_spans) and "GET /internal/ping" not in _names(a_spans)
        assert "GET /internal/ping" in _names(b_spans) and "GET /api/v1/users" not in _names(b_spans)
        assert {s.resource.attributes["service.name"] for s in a_spans} == {"first-app"}
        assert {s.resource.attributes["service.name"] for s in b_spans} == {"second-app"}
    async with running_app(first) as again:  # the first pair is shut down: a new app still exports
        assert (await again.client.get("/internal/ping")).status_code == 200
        assert "GET /internal/ping" in _names(again.spans())


async def test_observability_object_holds_every_collaborator(clean, tmp_path):
    async with running_app(base_settings(tmp_path)) as r:
        obs = r.obs
        assert obs.sampler is not None and obs.recorder is not None and obs.pipeline is not None
        assert obs.reporter is None  # no SENTRY_DSN
        assert r.app.state.res.cache.recorder is obs.recorder
    async with running_app(base_settings(tmp_path, OBSERVABILITY_ENABLED=False)) as off:
        assert off.obs.recorder is None and off.obs.pipeline is None and off.obs.tracer_provider is None
