"""What sending a Job brings back, and what every sender shares: imported by the senders
and by client.py, which picks one, so that neither imports the other's module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..models import Job
from ..settings.config import Settings

MAX_BODY_BYTES = 1 << 20
"""Bytes of a response body kept; the rest is not read (a results cell holds 32k)."""

Clock = Callable[[], float]


@dataclass(slots=True)
class Reply:
    """What came back for one request. Made for every request and never changed; not
    frozen because a frozen dataclass sets each field through object.__setattr__: 1.9 µs
    to make one instead of 0.45."""

    status: int
    headers: Mapping[str, str]
    """Header names in lower case; of a repeated header, the last."""
    body: bytes
    reason: str
    latency: float


def plain_http(settings: Settings) -> bool:
    """Whether the run speaks no TLS: plain http:// and no https:// proxy."""
    return settings.url.lower().startswith("http://") and not (
        settings.proxy or ""
    ).lower().startswith("https://")


class SendsJobs(Protocol):
    """The seam to the network: a sender (with OAuth2 perhaps) in a run, a scripted fake in
    tests."""

    async def send(self, job: Job) -> Reply: ...
