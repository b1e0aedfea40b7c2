"""/docs (Swagger UI) and /redoc without a CDN.

FastAPI's default pages load their JavaScript, CSS, favicon and fonts from public CDNs, so on a
machine without internet access they render blank. Here the same FastAPI page builders point at
assets the app serves itself, from the fastapi-offline package (pinned in pyproject.toml; only
its static folder is used, the app stays a plain FastAPI). The assets are ~2.8 MB on disk and
are sent only when someone opens the docs.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"
ASSETS_DIR = str(files("fastapi_offline") / "static")


def mount_api_docs(app: FastAPI) -> None:
    """Serves /docs, /docs/oauth2-redirect and /redoc from local assets.

    Create the app with docs_url=None and redoc_url=None so FastAPI's CDN pages are not added.
    """
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    oauth2_redirect = "/docs/oauth2-redirect"

    def urls(request: Request) -> tuple[str, str, str]:
        """(root path, the OpenAPI document's URL, the assets' URL) behind any root_path."""
        root = request.scope.get("root_path", "").rstrip("/")
        return root, root + (app.openapi_url or "/openapi.json"), root + ASSETS_PATH

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root, openapi, assets = urls(request)
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + oauth2_redirect,
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        _, openapi, assets = urls(request)
        return get_redoc_html(
            openapi_url=openapi,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,  # fonts from a CDN otherwise; the page falls back to system fonts
        )
