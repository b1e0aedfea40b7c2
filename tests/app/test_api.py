"""Demo API against real Postgres and Redis: CRUD, pagination, validation, cache-aside."""

from __future__ import annotations

from helpers import sample


async def _user(client, email="ada@example.com", name="Ada"):
    r = await client.post("/api/v1/users", json={"email": email, "full_name": name})
    assert r.status_code == 201, r.text
    return r.json()


async def test_users_register_get_list(app_factory):
    async with app_factory() as r:
        before = sample("user_registrations_total")
        ada = await _user(r.client)
        await _user(r.client, "bob@example.com", "Bob")
        assert sample("user_registrations_total") == before + 2
        got = await r.client.get(f"/api/v1/users/{ada['id']}")
        assert got.status_code == 200 and got.json()["email"] == "ada@example.com"
        page = (await r.client.get("/api/v1/users", params={"limit": 1, "offset": 1})).json()
        assert page["limit"] == 1 and page["offset"] == 1
        assert [u["email"] for u in page["items"]] == ["bob@example.com"]
        assert (await r.client.get("/api/v1/users/999999")).status_code == 404
        dup = await r.client.post("/api/v1/users", json={"email": "ADA@example.com", "full_name": "X"})
        assert dup.status_code == 409


async def test_validation_errors_are_422_with_a_clear_body(app_factory):
    async with app_factory() as r:
        bad = await r.client.post("/api/v1/users", json={"email": "not-an-email", "full_name": ""})
        assert bad.status_code == 422
        fields = {tuple(e["loc"]) for e in bad.json()["errors"]}
        assert ("body", "email") in fields and ("body", "full_name") in fields
        extra = await r.client.post("/api/v1/items", json={"name": "x", "price": "1", "color": "red"})
        assert extra.status_code == 422 and extra.json()["errors"][0]["loc"] == ["body", "color"]
        negative = await r.client.post("/api/v1/items", json={"name": "x", "price": "-1"})
        assert negative.status_code == 422
        assert (await r.client.get("/api/v1/items", params={"limit": 1000})).status_code == 422
        assert (await r.client.get("/api/v1/items/abc")).status_code == 422


async def test_items_crud_with_cache_aside_and_invalidation(app_factory):
    async with app_factory() as r:
        owner = await _user(r.client)
        created = await r.client.post("/api/v1/items", json={"name": "lamp", "price": "12.50", "owner_id": owner["id"]})
        assert created.status_code == 201
        item_id = created.json()["id"]
        hits = sample("cache_hits_total", {"cache_type": "item"})
        misses = sample("cache_misses_total", {"cache_type": "item"})
        assert (await r.client.get(f"/api/v1/items/{item_id}")).json()["name"] == "lamp"  # miss
        assert (await r.client.get(f"/api/v1/items/{item_id}")).json()["name"] == "lamp"  # hit
        assert sample("cache_misses_total", {"cache_type": "item"}) == misses + 1
        assert sample("cache_hits_total", {"cache_type": "item"}) == hits + 1
        assert await r.app.state.res.redis.ttl(f"item:{item_id}") > 0

        updated = await r.client.put(f"/api/v1/items/{item_id}", json={"price": "9.99"})
        assert updated.status_code == 200 and updated.json()["price"] == "9.99"
        assert await r.app.state.res.redis.exists(f"item:{item_id}") == 0  # invalidated
        assert (await r.client.get(f"/api/v1/items/{item_id}")).json()["price"] == "9.99"

        page = (await r.client.get("/api/v1/items", params={"limit": 10})).json()
        assert [i["id"] for i in page["items"]] == [item_id]
        assert (await r.client.delete(f"/api/v1/items/{item_id}")).status_code == 204
        assert (await r.client.get(f"/api/v1/items/{item_id}")).status_code == 404
        assert (await r.client.delete(f"/api/v1/items/{item_id}")).status_code == 404
        bad_owner = await r.client.post("/api/v1/items", json={"name": "x", "price": "1", "owner_id": 424242})
        assert bad_owner.status_code == 409  # well-formed, but no such user (yet)


async def test_active_users_come_from_redis(app_factory):
    async with app_factory() as r:
        await _user(r.client, "a@example.com")
        await _user(r.client, "b@example.com")
        await r.client.get("/metrics")
        assert sample("active_users") == 2
