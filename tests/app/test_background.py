"""Background loops (app/background.py): they stop when asked, even while a Redis command is
in flight, and a loop that ran out of work starts again on demand."""

from __future__ import annotations

import asyncio

from helpers import REDIS_URL
from redis.asyncio import Redis

from app.background import BackgroundLoop


async def test_stop_ends_a_loop_polling_redis_at_any_moment_of_a_command():
    # Task.cancel() at these moments was lost by the Redis client 85 times in 200 and the
    # cancelled loop polled on forever; stop() must end every one of them.
    redis = Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        for attempt in range(60):
            calls = 0

            async def poll() -> bool:
                nonlocal calls
                await redis.get("background-test")
                calls += 1
                return True

            loop = BackgroundLoop(poll, every=0)
            loop.start()
            await asyncio.sleep(0.0005 * (attempt % 9))
            await asyncio.wait_for(loop.stop(), timeout=2)
            assert not loop.running
            after_stop = calls
            await asyncio.sleep(0.01)
            assert calls == after_stop, "a round ran after stop() returned"
    finally:
        await redis.aclose()


async def test_a_loop_whose_round_says_done_ends_and_start_runs_it_again():
    rounds: list[int] = []
    more = asyncio.Event()

    async def once() -> bool:
        rounds.append(len(rounds))
        more.set()
        return False  # nothing left to do

    loop = BackgroundLoop(once, every=0)
    loop.start()
    await asyncio.wait_for(more.wait(), timeout=2)
    await asyncio.sleep(0)  # let the task finish after its last round
    assert not loop.running and rounds == [0]
    more.clear()
    loop.start()
    await asyncio.wait_for(more.wait(), timeout=2)
    assert rounds == [0, 1]
    await loop.stop()


async def test_a_stopped_loop_does_not_start_again():
    async def never() -> bool:
        raise AssertionError("a stopped loop ran a round")

    loop = BackgroundLoop(never, every=0)
    await loop.stop()
    loop.start()
    assert not loop.running
