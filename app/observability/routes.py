"""Full route templates ("/api/v1/items/{item_id}") for metric labels and span names.

Since FastAPI 0.137, scope["route"] is the route object as declared on its router, so
route.path lacks the include_router() prefixes. We map each route object to its full
template(s) once, through FastAPI's iter_route_contexts(), and fall back to matching
the candidates' regexes when one route object is mounted under several prefixes.
Unmatched requests (404 without a route, redirects) get the fixed label "unmatched".
"""

from __future__ import annotations

from typing import Any

from .limiter import UNMATCHED

# Any: the kit supports FastAPI versions without it (older ones copied routes with their prefix)
iter_route_contexts: Any
try:  # FastAPI >= 0.137
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover
    iter_route_contexts = None


class RouteResolver:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._map: dict[int, list[tuple[Any, str]]] | None = None
        # routes mounted once: id -> (route, template), the per-request path; holding the route
        # keeps its id from being reused by another object
        self._single: dict[int, tuple[Any, str]] = {}

    def _build(self) -> dict[int, list[tuple[Any, str]]]:
        mapping: dict[int, list[tuple[Any, str]]] = {}
        routes = getattr(self.app, "routes", [])
        if iter_route_contexts is not None:
            for rc in iter_route_contexts(routes):
                template = rc.path_format or rc.path
                if template:
                    mapping.setdefault(id(rc.original_route), []).append((getattr(rc, "path_regex", None), template))
        else:  # pragma: no cover
            for route in routes:
                mapping[id(route)] = [(None, getattr(route, "path_format", route.path))]
        return mapping

    def template(self, scope: dict[str, Any]) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        single = self._single.get(id(route))
        if single is not None and single[0] is route:
            return single[1]
        return self._resolve(scope, route)

    def _resolve(self, scope: dict[str, Any], route: Any) -> str:
        mapping = self._map
        if mapping is None:
            mapping = self._map = self._build()
        candidates = mapping.get(id(route))
        if candidates is None:  # added after the first request, or not a FastAPI route
            self._map = self._build()
            candidates = self._map.get(id(route))
            if candidates is None:
                return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
        if len(candidates) == 1:
            self._single[id(route)] = (route, candidates[0][1])
            return candidates[0][1]
        path = scope.get("path", "")
        for regex, template in candidates:
            if regex is not None and regex.match(path):
                return template
        return candidates[0][1]
