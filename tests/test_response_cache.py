"""--cache-ttl: repeated look-ups answered from the store, shared while in flight."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from openpyxl import load_workbook

from excelfmt.models import Job, JSONValue, Row
from excelfmt.store.responsecache import ResponseCache

from .apiserver import Reply
from .test_dispatch import FakeTime, ScriptedApi, dispatcher


class MemoryAnswers:
    def __init__(self) -> None:
        self.kept: dict[str, tuple[int, JSONValue]] = {}

    def get(self, key: str) -> tuple[int, JSONValue] | None:
        return self.kept.get(key)

    def put(self, key: str, status: int, response: JSONValue, ttl: float) -> None:
        self.kept[key] = (status, response)


def lookup(seq: int, sku: str, method: str = "GET", key: str = "k") -> Job:
    headers = (("Accept", "application/json"), ("Idempotency-Key", f"{key}{seq}"))
    return Job(Row(seq, seq + 2, {}), method, f"http://api.test/items/{sku}", headers, None)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_identical_requests_share_one_call_and_skip_the_rate_limiter(anyio_backend):
    time, api = FakeTime(), ScriptedApi(200)
    d = dispatcher(api, time, rate=1.0)
    d._cache = cache = ResponseCache(MemoryAnswers(), 60.0, ["GET"])
    outcomes: list[Any] = []

    async def one(job: Job) -> None:
        outcomes.append(await d(job))

    async with anyio.create_task_group() as tasks:
        for seq in range(10):  # all in flight at once: one call, nine wait for it
            tasks.start_soon(one, lookup(seq, "A"))
    assert api.calls == 1 and cache.hits == 9
    assert all(o.ok and o.response == {"m": "x"} for o in outcomes)
    assert sorted(o.row.seq for o in outcomes) == list(range(10))

    before = list(time.sleeps)
    again = await d(lookup(10, "A"))  # from the kept answer: no call, no wait for the rate
    assert again is not None and again.cached and api.calls == 1 and time.sleeps == before
    await d(lookup(11, "B"))
    assert api.calls == 2


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_only_safe_methods_and_successes_are_kept(anyio_backend):
    time, api = FakeTime(), ScriptedApi(404)
    d = dispatcher(api, time)
    d._cache = cache = ResponseCache(MemoryAnswers(), 60.0, ["GET"])
    await d(lookup(0, "gone"))
    await d(lookup(1, "gone"))
    assert api.calls == 2 and cache.hits == 0  # a refusal is asked again
    assert cache.key(lookup(0, "A", method="POST")) is None
    assert cache.key(lookup(0, "A")) == cache.key(lookup(1, "A", key="other"))


def test_a_run_with_cache_ttl_calls_the_api_once_per_distinct_lookup(api, workbook, cli):
    skus = ["A", "B", "A", "C", "A", "B"] * 5
    book = workbook(["Sku"], [[s] for s in skus])
    api.respond = lambda got: Reply(200, {"sku": got.path.rsplit("/", 1)[-1], "price": 3})
    command = [
        "run", str(book), "--url", api.url + "/items/{Sku}", "--method", "GET",
        "--cache-ttl", "10m", "--capture", "price", "--concurrency", "8", "--json",
    ]  # fmt: skip
    first = json.loads(cli(*command).stdout)
    assert len(api.received) == 3
    assert first["ok"] == 30 and first["cached"] == 27
    rows = list(load_workbook(book.with_name("input.results.xlsx"))["Results"].values)
    assert {r[-1] for r in rows[1:]} == {3}  # every row has its answer, cached or not

    second = json.loads(cli(*command).stdout)
    assert len(api.received) == 3 and second["cached"] == 30
    assert "30 from cache" in cli(*command[:-1]).stdout

    fresh = cli(*command, "--cache-ttl", "0")  # off: every row asks
    assert json.loads(fresh.stdout)["cached"] == 0 and len(api.received) == 33


def test_posts_are_cached_only_when_the_settings_say_so(api, workbook, cli):
    book = workbook(["Q"], [["x"], ["x"], ["x"]])
    api.respond = lambda got: Reply(200, {"hits": 1})
    base = ["run", str(book), "--url", api.url + "/search", "--cache-ttl", "1h", "--json"]
    assert json.loads(cli(*base).stdout)["cached"] == 0 and len(api.received) == 3
    marked = json.loads(cli(*base, "--cache-methods", "POST").stdout)
    assert marked["cached"] == 2 and len(api.received) == 4
