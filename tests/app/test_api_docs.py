"""/docs and /redoc work without internet access: every asset they load is served by the app."""

from __future__ import annotations

import re


async def test_docs_pages_load_only_local_assets_and_the_app_serves_them(app_factory):
    async with app_factory() as r:
        for page, kinds in (("/docs", {".js", ".css", ".png"}), ("/redoc", {".js", ".png"})):
            resp = await r.client.get(page)
            assert resp.status_code == 200, page
            html = resp.text
            assert "cdn." not in html and "fonts.googleapis" not in html, page
            urls = re.findall(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'|"(/[^"]+\.(?:js|css|png))"', html)
            assets = {u for group in urls for u in group if u.startswith("/docs-assets/")}
            assert {a[a.rfind(".") :] for a in assets} >= kinds, (page, assets)
            for asset in assets:
                got = await r.client.get(asset)
                assert got.status_code == 200, asset
                want = {".js": "javascript", ".css": "text/css", ".png": "image/png"}[asset[asset.rfind(".") :]]
                assert want in got.headers["content-type"], (asset, got.headers["content-type"])
                assert len(got.content) > 1000, asset
        swagger_js = (await r.client.get("/docs-assets/swagger-ui-bundle.js")).text
        assert "SwaggerUIBundle" in swagger_js
        assert "Redoc" in (await r.client.get("/docs-assets/redoc.standalone.js")).text
        assert (await r.client.get("/openapi.json")).json()["info"]["title"] == "FastAPI observability demo"
