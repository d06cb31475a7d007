"""Calls to the queue's Redis that wait out an outage: the policy, on a fake clock."""

from __future__ import annotations

import anyio
import pytest

from excelfmt.broker.connection import Outage
from excelfmt.errors import RunStopped


class Away:
    """A Redis that refuses every call until `back_at` on a fake clock that only the
    outage's own sleeps move."""

    def __init__(self, back_at: float) -> None:
        self.now = 0.0
        self.back_at = back_at
        self.calls = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def ping(self) -> str:
        self.calls += 1
        if self.now < self.back_at:
            raise ConnectionError("Connection refused.")
        return "PONG"


def test_an_outage_shorter_than_the_limit_is_waited_out_and_told_once_each_way():
    redis, told = Away(back_at=7.0), list[str]()
    outage = Outage(300, redis.clock, redis.sleep, told.append)

    assert anyio.run(outage.call, redis.ping) == "PONG"

    assert told == [
        "the queue's Redis is unreachable (Connection refused.); "
        "trying again for up to 300 s (--max-outage)",
        "the queue's Redis is back",
    ]
    # Backoff grows to 2 s between tries: a few tries, not one every 100 ms.
    assert 7 <= redis.calls <= 12


def test_past_the_limit_the_command_stops_naming_the_flag_that_sets_it():
    redis = Away(back_at=1_000.0)
    outage = Outage(30, redis.clock, redis.sleep)

    with pytest.raises(
        RunStopped, match=r"unreachable for 3\d s \(the limit is 30 s, --max-outage\)"
    ):
        anyio.run(outage.call, redis.ping)
    assert redis.now < 33


def test_a_command_without_the_flag_is_not_told_to_use_it():
    redis, told = Away(back_at=1_000.0), list[str]()
    outage = Outage(10, redis.clock, redis.sleep, told.append, flag=None)

    with pytest.raises(RunStopped) as stopped:
        anyio.run(outage.call, redis.ping)

    assert told == [
        "the queue's Redis is unreachable (Connection refused.); trying again for up to 10 s"
    ]
    assert str(stopped.value).endswith("(the limit is 10 s).")
    assert "--max-outage" not in str(stopped.value)
