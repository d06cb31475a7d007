"""One rate for every sender of an API, kept in a real Redis: the Lua logic with a fake
clock (the script takes "now" when given), and one real-time check across processes."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator

import anyio
import pytest
from redis.asyncio import Redis

from excelfmt.broker.connection import Outage, client
from excelfmt.broker.keys import default_rate_key
from excelfmt.broker.sharedpace import SharedPace
from excelfmt.policies.resilience import PACING_HEADROOM

from .apiserver import Reply
from .conftest import run_subprocess
from .test_queue import drained, orders, start_worker


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def redis(redis_server) -> AsyncIterator[Redis]:
    connection = client(redis_server.url)
    yield connection
    await connection.aclose()


def pace(redis: Redis, rate: float, burst: int) -> SharedPace:
    outage = Outage(5, time.monotonic, anyio.sleep)
    return SharedPace(redis, "http://api:80", rate, burst, outage)


SECOND = 1_000_000  # µs


@pytest.mark.anyio
async def test_slots_are_shared_and_spaced_by_the_rate(redis):
    # Two senders (two processes, in life) of one rate key take turns at 10/s.
    a, b = pace(redis, 10, 1), pace(redis, 10, 1)
    interval = 1 / (10 * PACING_HEADROOM)
    waits = [await sender.take_slot(now_us=0) for sender in (a, b, a, b)]
    assert waits == pytest.approx([0, interval, 2 * interval, 3 * interval], abs=1e-6)
    # Later on the slot is free again at once.
    assert await a.take_slot(now_us=10 * SECOND) == 0


@pytest.mark.anyio
async def test_a_burst_goes_at_once_then_the_rate_holds(redis):
    shared = pace(redis, 10, 5)
    waits = [await shared.take_slot(now_us=0) for _ in range(7)]
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert waits[5] > 0 and waits[6] > waits[5]


@pytest.mark.anyio
async def test_a_hold_pauses_every_sender_of_the_key(redis):
    first, other = pace(redis, 0, 1), pace(redis, 100, 1)
    assert await first.hold(3.0, now_us=SECOND) == pytest.approx(3.0)
    assert await other.hold(0, now_us=2 * SECOND) == pytest.approx(2.0)  # asked only
    assert await other.take_slot(now_us=2 * SECOND) == pytest.approx(2.0)
    assert await first.hold(1.0, now_us=2 * SECOND) == pytest.approx(2.0)  # never shortened


def test_the_rate_key_is_the_apis_origin():
    assert default_rate_key("https://API.example.com/orders/{Id}") == "https://api.example.com:443"
    assert default_rate_key("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"


def test_three_processes_share_one_rate(api, workbook, redis_server):
    """Real time: a run and two workers at --rate 20 stay at 20 a second all together."""
    api.respond = lambda got: Reply(201, {"ok": True}, delay=0.005)
    workers = [start_worker(redis_server.url, "--concurrency", "8") for _ in range(2)]
    try:
        result = run_subprocess(
            "run", str(orders(workbook, 120)), "--url", api.url, "--queue", redis_server.url,
            "--rate", "20", "--batch-rows", "10", "--json",
        )  # fmt: skip
    finally:
        stopped = [drained(worker) for worker in workers]
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] == 120
    assert all(code == 0 for code, _ in stopped)
    start = min(r.at for r in api.received)
    per_second = Counter(int(r.at - start) for r in api.received)
    assert max(per_second.values()) <= 20 + 1, per_second  # the rate, and a burst of 1
    assert len(api.received) == 120


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_a_pause_one_worker_was_asked_for_pauses_the_others(redis):
    """HoldSync both ways: worker A's Retry-After pause becomes the shared hold, and B's
    next round pauses B's own limiter for what is left of it."""
    from excelfmt.broker.sharedpace import HoldSync
    from excelfmt.policies.resilience import Policies
    from excelfmt.settings.config import load_settings

    settings = load_settings({"url": "http://api"}, env={})
    a, b = Policies.from_settings(settings), Policies.from_settings(settings)
    clock = FakeClock()
    sync_a = HoldSync(pace(redis, 0, 1), a)
    sync_b = HoldSync(pace(redis, 0, 1), b)
    a.limiter.pause(clock.now, 30.0, pool=a.gate.limit)  # A saw a 429 with Retry-After: 30
    await sync_a.sync(clock.now)
    await sync_b.sync(clock.now)
    assert b.limiter.paused_until == pytest.approx(clock.now + 30.0, abs=0.5)


@pytest.mark.anyio
async def test_an_open_breaker_on_one_worker_holds_the_others(redis):
    from excelfmt.broker.sharedpace import HoldSync
    from excelfmt.policies.resilience import Policies
    from excelfmt.settings.config import load_settings

    settings = load_settings({"url": "http://api"}, env={})
    a, b = Policies.from_settings(settings), Policies.from_settings(settings)
    now = 100.0
    for _ in range(settings.breaker_min_calls):
        a.breaker.record(now, failure=True)  # the API is down, as A sees it
    assert a.breaker.open_for(now) > 0
    await HoldSync(pace(redis, 0, 1), a).sync(now)
    await HoldSync(pace(redis, 0, 1), b).sync(now)
    assert b.limiter.paused_until == pytest.approx(now + a.breaker.open_for(now), abs=0.5)
