"""What an API's response headers say about slowing down, in seconds from now.

`Retry-After` (RFC 9110: seconds or an HTTP date) says when to come back.
`RateLimit-Remaining` / `RateLimit-Reset` (IETF draft) and the older `X-RateLimit-*`
say how many requests are left in the current window and when it resets, which lets the
pool slow down *before* the API starts refusing. Garbage is ignored, never fatal.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass

# A reset far in the future is an epoch timestamp (GitHub's X-RateLimit-Reset), not a delay.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Throttle:
    """A server's request to slow down, relative to the moment the response arrived."""

    pause: float | None = None
    """Seconds to send nothing (Retry-After, or an exhausted rate-limit window)."""
    rate: float | None = None
    """Requests per second the API still allows until `window` ends."""
    window: float = 0.0


def parse_retry_after(value: str | None, wall_now: float) -> float | None:
    """Seconds to wait from a Retry-After value; None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT by definition
            return None
        seconds = when.timestamp() - wall_now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def _number(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            # RateLimit headers may carry parameters ("10;w=60"): the number comes first.
            return float(value.split(",")[0].split(";")[0].strip())
        except ValueError:
            return None
    return None


def read_throttle(headers: Mapping[str, str], wall_now: float) -> Throttle | None:
    """The slow-down a response asks for, or None when it asks for nothing."""
    pause = parse_retry_after(headers.get("retry-after"), wall_now)
    remaining = _number(headers, "ratelimit-remaining", "x-ratelimit-remaining")
    reset = _number(headers, "ratelimit-reset", "x-ratelimit-reset")
    if reset is not None and reset > _EPOCH_THRESHOLD:
        reset = reset - wall_now
    if remaining is None or reset is None or reset <= 0:
        return Throttle(pause=pause) if pause is not None else None
    if remaining < 1:
        pause = max(pause or 0.0, reset)
        return Throttle(pause=pause)
    return Throttle(pause=pause, rate=remaining / reset, window=reset)
