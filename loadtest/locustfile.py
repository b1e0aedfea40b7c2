"""Locust users for the demo API, driven by the staged shape in shape.py.

User classes (weights): browsers list pages (4), readers open single users/items and the
enrich endpoint (4), creators add items (2), updaters edit and delete items (1), new users
register (1). Each user paces itself to one task per second (constant_pacing), so the request
rate stays the same when the app slows down: the latency spike then shows as slow requests,
not as fewer requests.

Run headless via scripts/loadtest.sh (make loadtest), or in the Locust web UI (compose profile
`loadtest`, http://127.0.0.1:8089). See shape.py for the stages and their env variables.
"""

from __future__ import annotations

import random
import uuid
from collections import deque

from locust import HttpUser, constant_pacing, task
from shape import StagedShape  # noqa: F401 - Locust picks up the shape class from this module

API = "/api/v1"
# ids seen in responses, shared by all users of this process (bounded)
USER_IDS: deque[int] = deque(maxlen=2000)
ITEM_IDS: deque[int] = deque(maxlen=2000)


def _remember(pool: deque[int], response) -> None:
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict) and "items" in body:
        pool.extend(row["id"] for row in body["items"] if isinstance(row, dict) and "id" in row)
    elif isinstance(body, dict) and "id" in body:
        pool.append(body["id"])


class ApiUser(HttpUser):
    abstract = True
    wait_time = constant_pacing(1)

    def random_id(self, pool: deque[int], listing: str) -> int | None:
        if not pool:
            with self.client.get(f"{API}/{listing}?limit=50", name=f"{API}/{listing}", catch_response=True) as resp:
                if resp.ok:
                    _remember(pool, resp)
        return random.choice(pool) if pool else None

    def get_one(self, path: str, name: str) -> None:
        # A deleted id answers 404: expected, not a failure of the app.
        with self.client.get(path, name=name, catch_response=True) as resp:
            if resp.status_code == 404:
                resp.success()


class BrowsingUser(ApiUser):
    weight = 4

    @task(3)
    def list_items(self) -> None:
        offset = random.randint(0, 5) * 20
        with self.client.get(f"{API}/items?limit=20&offset={offset}", name=f"{API}/items", catch_response=True) as resp:
            if resp.ok:
                _remember(ITEM_IDS, resp)

    @task(1)
    def list_users(self) -> None:
        with self.client.get(f"{API}/users?limit=20", name=f"{API}/users", catch_response=True) as resp:
            if resp.ok:
                _remember(USER_IDS, resp)


class ReadingUser(ApiUser):
    weight = 4

    @task(4)
    def read_item(self) -> None:
        item_id = self.random_id(ITEM_IDS, "items")
        if item_id is not None:
            self.get_one(f"{API}/items/{item_id}", f"{API}/items/{{item_id}}")

    @task(2)
    def read_user(self) -> None:
        user_id = self.random_id(USER_IDS, "users")
        if user_id is not None:
            self.get_one(f"{API}/users/{user_id}", f"{API}/users/{{user_id}}")

    @task(1)
    def enrich_item(self) -> None:
        item_id = self.random_id(ITEM_IDS, "items")
        if item_id is not None:
            self.get_one(f"{API}/items/{item_id}/enrich", f"{API}/items/{{item_id}}/enrich")


class CreatingUser(ApiUser):
    weight = 2

    @task
    def create_item(self) -> None:
        owner = random.choice(USER_IDS) if USER_IDS and random.random() < 0.7 else None
        body = {
            "name": f"item-{uuid.uuid4().hex[:8]}",
            "description": "load test item",
            "price": f"{random.uniform(1, 500):.2f}",
        }
        if owner is not None:
            body["owner_id"] = owner
        with self.client.post(f"{API}/items", json=body, name=f"{API}/items", catch_response=True) as resp:
            if resp.status_code == 201:
                _remember(ITEM_IDS, resp)
            elif resp.status_code == 409 and owner is not None:
                resp.success()  # the owner was deleted meanwhile (409 Conflict): fine


class UpdatingUser(ApiUser):
    weight = 1

    @task(4)
    def update_item(self) -> None:
        item_id = self.random_id(ITEM_IDS, "items")
        if item_id is None:
            return
        body = {"price": f"{random.uniform(1, 500):.2f}", "description": "updated by load test"}
        with self.client.put(
            f"{API}/items/{item_id}", json=body, name=f"{API}/items/{{item_id}}", catch_response=True
        ) as resp:
            if resp.status_code == 404:
                resp.success()

    @task(1)
    def delete_item(self) -> None:
        if len(ITEM_IDS) < 50:  # keep enough items around for the readers
            return
        item_id = ITEM_IDS.popleft()
        with self.client.delete(f"{API}/items/{item_id}", name=f"{API}/items/{{item_id}}", catch_response=True) as resp:
            if resp.status_code == 404:
                resp.success()


class RegisteringUser(ApiUser):
    weight = 1

    @task
    def register(self) -> None:
        tag = uuid.uuid4().hex[:12]
        body = {"email": f"load-{tag}@example.com", "full_name": f"Load Tester {tag[:4]}"}
        with self.client.post(f"{API}/users", json=body, name=f"{API}/users", catch_response=True) as resp:
            if resp.status_code == 201:
                _remember(USER_IDS, resp)
