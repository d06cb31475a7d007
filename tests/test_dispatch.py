"""The per-row path through the policies, on a fake clock with a scripted API."""

from __future__ import annotations

import gc
from collections import deque
from typing import Any

import anyio
import httpx
import pytest

from excelfmt.calls.failures import CouldNotConnect
from excelfmt.calls.reply import Reply
from excelfmt.models import Category, Job, Row
from excelfmt.policies.resilience import Policies
from excelfmt.sending.dispatch import Dispatcher
from excelfmt.settings.config import load_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeTime:
    """A clock that moves only when someone sleeps; sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.sleep(0)


class ScriptedApi:
    """Answers from a script: Reply-like tuples or exceptions to raise."""

    def __init__(self, *answers: Any) -> None:
        self.answers = deque(answers)
        self.calls = 0

    async def send(self, job: Job) -> Reply:
        self.calls += 1
        answer = self.answers.popleft() if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return Reply(status, httpx.Headers(headers), b'{"m": "x"}', "", 0.01)


def dispatcher(api: ScriptedApi, time: FakeTime, **settings: Any) -> Dispatcher:
    settings.setdefault("url", "http://api.test/x")
    policies = Policies.from_settings(load_settings(settings, env={}))
    return Dispatcher(
        api,
        policies,
        status_rules={},
        clock=time.clock,
        wall_clock=lambda: 1_800_000_000.0,
        sleep=time.sleep,
    )


JOB = Job(Row(0, 2, {}), "POST", "http://api.test/x", (), b"{}")


async def test_a_row_that_succeeds_on_its_third_try_is_a_success_with_two_retries():
    time, api = FakeTime(), ScriptedApi(500, 503, 201)
    d = dispatcher(api, time, retry_wait=0.5)
    outcome = await d(JOB)
    assert outcome is not None and outcome.ok and outcome.attempts == 3
    assert d.policies.retries == 2
    backoffs = [s for s in time.sleeps if s not in (d.policies.controller.hold,)]
    assert len(backoffs) == 2
    assert 0 <= backoffs[0] <= 0.5 and 0 <= backoffs[1] <= 1.0  # full jitter, doubling


async def test_retry_after_is_obeyed_and_pauses_the_whole_pool():
    time, api = FakeTime(), ScriptedApi((429, {"Retry-After": "7"}), 201)
    d = dispatcher(api, time)
    outcome = await d(JOB)
    assert outcome is not None and outcome.ok
    assert 7.0 in time.sleeps
    assert d.policies.throttled == 1 and d.policies.limiter.pauses == 1


async def test_user_errors_are_not_retried():
    time, api = FakeTime(), ScriptedApi(422)
    outcome = await dispatcher(api, time)(JOB)
    assert outcome is not None and outcome.category is Category.REQUIRES_USER_ACTION
    assert api.calls == 1 and outcome.attempts == 1


async def test_network_errors_are_retried_until_the_attempts_run_out():
    time, api = FakeTime(), ScriptedApi(CouldNotConnect("refused"))
    outcome = await dispatcher(api, time, retries=3)(JOB)
    assert outcome is not None and outcome.category is Category.NETWORK_ERROR
    assert api.calls == 4 and outcome.attempts == 4


async def test_cancellation_is_never_retried():
    time = FakeTime()

    class Hanging:
        calls = 0

        async def send(self, job: Job) -> Reply:
            self.calls += 1
            await anyio.sleep(10)
            raise AssertionError("unreachable")

    api = Hanging()
    d = dispatcher(api, time)  # type: ignore[arg-type]
    with anyio.move_on_after(0.05):
        await d(JOB)
    assert api.calls == 1


async def test_an_open_breaker_makes_rows_wait_not_fail():
    time = FakeTime()
    api = ScriptedApi(*([500] * 8), 201)
    d = dispatcher(
        api,
        time,
        retries=40,
        breaker_min_calls=5,
        breaker_window=10,
        breaker_wait=2.0,
        retry_budget=10,
    )
    outcome = await d(JOB)
    assert outcome is not None and outcome.ok
    assert d.policies.breaker.trips >= 1


async def test_an_outage_longer_than_max_outage_stops_the_run_and_leaves_the_row():
    time = FakeTime()
    api = ScriptedApi(500)
    d = dispatcher(
        api,
        time,
        retries=100,
        breaker_min_calls=5,
        breaker_window=10,
        breaker_wait=2.0,
        max_outage=30,
        retry_budget=10,
    )
    assert await d(JOB) is None
    assert d.stop_reason is not None and "kept failing" in d.stop_reason


async def test_retry_after_beyond_max_outage_stops_the_run():
    time, api = FakeTime(), ScriptedApi((503, {"Retry-After": "3600"}))
    d = dispatcher(api, time, max_outage=60)
    assert await d(JOB) is None or d.stop_reason
    assert d.stop_reason is not None and "asked to wait 3600 s" in d.stop_reason


async def test_rows_leave_no_reference_cycles_behind():
    # Garbage in cycles waits for the interpreter's full collections, which stall every
    # request in flight for 100 ms and more; the concurrency controller then reads our
    # own pause as the API queueing. A row's retry loop must be freed by reference counts.
    time, api = FakeTime(), ScriptedApi(503, 201)
    d = dispatcher(api, time, retry_wait=0.01)
    await d(JOB)
    gc.collect()
    gc.disable()
    try:
        async with anyio.create_task_group() as tasks:
            for _ in range(200):
                tasks.start_soon(d, JOB)
        assert gc.collect() < 200  # one row alone used to leave some twenty objects
    finally:
        gc.enable()
