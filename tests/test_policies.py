"""The small policies: gate, retry budget, server throttling, auth guard, pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import pytest

from excelfmt.models import Category, Outcome, Row
from excelfmt.policies.authguard import AuthGuard
from excelfmt.policies.gate import Gate
from excelfmt.policies.ratelimit import RateLimiter
from excelfmt.policies.retry import RetryBudget
from excelfmt.policies.throttling import parse_retry_after, read_throttle

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00", None),
        (
            format_datetime(datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=30), usegmt=True),
            30.0,
        ),
    ],
)
def test_retry_after_seconds_dates_and_garbage(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


def test_rate_limit_headers_become_a_rate_or_a_pause():
    paced = read_throttle({"ratelimit-remaining": "20", "ratelimit-reset": "10"}, NOW)
    assert paced is not None and paced.rate == 2.0
    spent = read_throttle({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW + 7)}, NOW)
    assert spent is not None and spent.pause == pytest.approx(7.0)
    assert read_throttle({"content-type": "text/plain"}, NOW) is None
    assert read_throttle({"ratelimit-remaining": "x", "ratelimit-reset": "5"}, NOW) is None


def test_pause_holds_every_slot_then_ramps_the_pool_back_in():
    limiter = RateLimiter(ramp=1.0)
    assert limiter.reserve(0.0) == 0.0  # no rate of our own: no waiting
    limiter.pause(now=0.0, seconds=2.0, pool=10)
    waits = [limiter.reserve(0.0) for _ in range(10)]
    starts = [w for w in waits]
    assert min(starts) >= 2.0
    # Spread over the ramp: at most 20% of the pool in the first 100 ms after the pause.
    assert sum(1 for s in starts if s < 2.1) <= 2
    assert limiter.reserve(10.0) == 0.0  # after the ramp, no pacing again


def test_server_rate_applies_until_its_window_ends():
    limiter = RateLimiter()
    limiter.limit(now=0.0, rate=10.0, window=1.0)
    waits = [limiter.reserve(0.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert limiter.reserve(5.0) == 0.0


def test_retry_budget_allows_a_share_of_first_attempts_plus_a_trickle():
    budget = RetryBudget(share=0.2, ttl=10.0, trickle=0.0)
    for _ in range(100):
        budget.deposit(0.0)
    allowed = sum(budget.try_withdraw(0.5) for _ in range(50))
    assert allowed == 20
    budget.deposit(4.9)  # first attempts go on: the share holds
    assert not budget.try_withdraw(5.0)
    budget.deposit(10.9)
    assert budget.try_withdraw(11.0) is False  # the deposits of second 0 have aged out
    for _ in range(10):
        budget.deposit(12.0)
    assert budget.try_withdraw(12.0) and budget.try_withdraw(12.0)
    assert not budget.try_withdraw(12.0)


def test_retry_budget_trickle_keeps_a_stalled_run_moving():
    budget = RetryBudget(share=0.2, ttl=10.0, trickle=1.0)
    assert sum(budget.try_withdraw(0.0) for _ in range(20)) == 10
    assert RetryBudget().try_withdraw(0.0)  # Finagle's default trickle: 10 a second


def test_retry_budget_steps_aside_when_only_retries_are_left():
    # The tail of a sheet: every row has had its first attempt, and those that met a
    # 429 wait for a retry. Held to a share of first attempts that no longer come, they
    # would wait for the window to pass (issue 16: the last rows waited ~8 s).
    budget = RetryBudget(share=0.2, ttl=10.0, trickle=1.0)
    for _ in range(100):
        budget.deposit(0.0)
    assert sum(budget.try_withdraw(0.1) for _ in range(100)) == 30  # 20% + 10
    assert not budget.try_withdraw(0.9)  # first attempts a moment ago: wait
    assert budget.recheck == 0.25
    assert all(budget.try_withdraw(1.0) for _ in range(50))  # none for a second
    budget.deposit(1.2)  # the sheet goes on after all: the share holds again
    assert not budget.try_withdraw(1.3)


def row(n: int) -> Row:
    return Row(n, n + 2, {})


def test_auth_guard_records_isolated_refusals_and_drops_a_wrong_credentials_streak():
    guard = AuthGuard(limit=3)
    auth = [Outcome(row(n), Category.AUTH_ERROR) for n in range(5)]
    ok = Outcome(row(9), None)
    assert guard.admit(auth[:2]) == []
    assert guard.admit([ok]) == [*auth[:2], ok]  # a success: those two were just refused
    assert guard.admit(auth[2:5]) == []
    assert guard.tripped
    assert guard.release() == []
    fresh = AuthGuard(limit=3)
    fresh.admit(auth[:1])
    assert fresh.release() == auth[:1]  # the run ended: a short streak is recorded


@pytest.mark.anyio
async def test_gate_lowers_then_raises_without_over_granting():
    gate = Gate(4)
    peak = 0
    hold = anyio.Event()

    async def worker() -> None:
        nonlocal peak
        async with gate:
            peak = max(peak, gate.taken)
            await hold.wait()

    async with anyio.create_task_group() as tasks:
        for _ in range(10):
            tasks.start_soon(worker)
        await anyio.sleep(0.01)
        assert gate.taken == 4
        gate.set_limit(2)
        gate.set_limit(6)
        await anyio.sleep(0.01)
        assert gate.taken == 6 and peak == 6
        gate.set_limit(1)
        hold.set()
    assert gate.taken == 0 and peak == 6


@pytest.mark.anyio
async def test_gate_cancelled_waiter_does_not_leak_a_slot():
    gate = Gate(1)
    await gate.acquire()
    with anyio.move_on_after(0.01):
        await gate.acquire()
    gate.release()
    assert gate.taken == 0
    await gate.acquire()
    assert gate.taken == 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_429s_teach_the_pool_a_rate_that_then_grows_back():
    limiter = RateLimiter()
    now = 0.0
    for _ in range(200):  # 200 requests in one second, unpaced
        limiter.reserve(now)
        now += 0.005
    limiter.refused(now)
    assert limiter.learned_rate == pytest.approx(180, rel=0.02)
    limiter.refused(now + 0.1)  # at most one cut a second
    assert limiter.learned_rate == pytest.approx(180, rel=0.02)
    waits = [limiter.reserve(now) for _ in range(3)]
    assert waits[2] - waits[1] == pytest.approx(1 / 180, rel=0.01)
    limiter.reserve(now + 10.0)
    assert limiter.learned_rate is not None and limiter.learned_rate > 250
