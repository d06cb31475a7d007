"""One rate limit for every run and worker that calls the same API, kept in Redis.

GCRA, as the local limiter (policies/ratelimit.py) does it, in one Lua script so that
taking a slot is atomic however many hosts ask: the theoretical arrival time lives in
Redis, the clock is Redis's own TIME (hosts' clocks may disagree). A sender takes its
slot once it has room to send (sending/dispatch.py): a slot taken earlier would go by
while the request waited, and it would leave together with the next one. A pause a
worker was asked for (Retry-After) or an open breaker is a "hold" key with an expiry:
every script call respects it, and HoldSync brings it into each worker's own limiter.
Adaptive concurrency stays per worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..policies.resilience import PACING_HEADROOM, Policies
from . import keys
from .connection import Outage

if TYPE_CHECKING:
    from redis.asyncio import Redis

_NOW = """
local now
if ARGV[#ARGV] ~= '' then
  now = tonumber(ARGV[#ARGV])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""
TAKE_SLOT = (
    _NOW
    + """
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now, hold)
local next_tat = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX',
  math.ceil((next_tat - now) / 1000) + 1000)
return math.floor(math.max(0, slot - tolerance - now, hold - now))
"""
)
"""KEYS: pace, hold. ARGV: interval µs, burst tolerance µs, now µs ('' for Redis's
clock). Takes the next slot; returns the µs to wait before using it."""
HOLD = (
    _NOW
    + """
local seconds = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if seconds > 0 and now + seconds > current then
  current = now + seconds
  redis.call('SET', KEYS[1], string.format('%.0f', current), 'PX', math.ceil(seconds / 1000) + 1)
end
return math.floor(math.max(0, current - now))
"""
)
"""KEYS: hold. ARGV: µs to hold from now (0: only ask), now µs. Returns the µs left."""


class SharedPace:
    """The slots and holds of one rate key, shared through Redis."""

    def __init__(
        self, redis: Redis, rate_key: str, rate: float, burst: int, outage: Outage
    ) -> None:
        self._pace, self._hold = keys.pace(rate_key), keys.hold(rate_key)
        interval = 1.0 / (rate * PACING_HEADROOM) if rate > 0 else 0.0
        self._interval_us = round(interval * 1e6)
        self._tolerance_us = (burst - 1) * self._interval_us
        self._take = redis.register_script(TAKE_SLOT)
        self._hold_script = redis.register_script(HOLD)
        self._outage = outage
        self.limited = rate > 0

    async def take_slot(self, now_us: int | None = None) -> float:
        """Seconds to wait before the slot this call took (a hold counts too)."""
        args = [self._interval_us, self._tolerance_us, "" if now_us is None else now_us]
        waited = await self._outage.call(
            lambda: self._take(keys=[self._pace, self._hold], args=args)
        )
        return int(waited) / 1e6

    async def hold(self, seconds: float, now_us: int | None = None) -> float:
        """Hold every sender of this rate key for `seconds` (0: only ask); seconds left."""
        args = [round(max(0.0, seconds) * 1e6), "" if now_us is None else now_us]
        left = await self._outage.call(lambda: self._hold_script(keys=[self._hold], args=args))
        return int(left) / 1e6


class HoldSync:
    """Keeps a worker's own pause in step with the shared hold, both ways.

    Each round: a pause this worker was asked for (Retry-After) or its open breaker is
    published as a hold; a longer hold another worker published pauses this one's
    limiter, so a 429 seen by one worker slows all of them.
    """

    INTERVAL = 0.25

    def __init__(self, pace: SharedPace, policies: Policies) -> None:
        self._pace = pace
        self._policies = policies

    async def sync(self, now: float) -> None:
        p = self._policies
        mine = max(p.limiter.paused_until - now, p.breaker.open_for(now), 0.0)
        shared = await self._pace.hold(mine)
        if shared > mine + 0.01:
            p.limiter.pause(now, shared, pool=p.gate.limit)
