"""A Redis URL for the queue, the clients made from it, and calls that wait out an outage.

The queue is an optional extra: importing this module needs neither bullmq nor redis,
so `--queue` without them can say how to install them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio

from ..errors import RunStopped, UsageError
from ..store import runlog

if TYPE_CHECKING:
    from redis import Redis as SyncRedis
    from redis.asyncio import Redis

QUEUE_NAME = "excelfmt"
"""The one BullMQ queue every run and worker shares; its keys are bull:excelfmt:*."""
INSTALL = "pip install 'excelfmt[queue]'"
SCHEMES = ("redis", "rediss", "unix")

T = TypeVar("T")


def require_queue_extra(what: str) -> None:
    """A UsageError saying how to install the queue extra, unless it is installed."""
    try:
        import bullmq  # noqa: F401
    except ImportError:
        raise UsageError(
            f"{what} needs the queue extra, which is not installed: {INSTALL}."
        ) from None


def check_url(url: str) -> str:
    """`url` if it is a Redis URL (redis://host:port/db, rediss:// for TLS), else why not."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not (parts.hostname or parts.path):
        raise ValueError(f"must be a Redis URL such as redis://localhost:6379/0, got {url!r}")
    return url


def masked(url: str) -> str:
    """The URL with its password, if any, as ***: it is shown, logged and recorded."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def password(url: str) -> str | None:
    return urlsplit(url).password


def client(url: str) -> Redis:
    """A Redis client for our own keys (BullMQ opens its own); it connects lazily."""
    from redis.asyncio import Redis

    return Redis.from_url(url, decode_responses=True, health_check_interval=5)


def named_client(url: str, name: str) -> Redis:
    """One connection of its own, named `name` in CLIENT LIST whenever it (re)connects."""
    from redis.asyncio import Redis

    return Redis.from_url(
        url,
        decode_responses=True,
        health_check_interval=5,
        single_connection_client=True,
        client_name=name,
    )


def named_sync_client(url: str, name: str) -> SyncRedis:
    """A blocking client named `name`, for one thread's calls one at a time: its pool then
    holds one connection (a single_connection_client would open a second for a pipeline).
    A call waits at most 2 s."""
    from redis import Redis as SyncRedis

    return SyncRedis.from_url(
        url,
        decode_responses=True,
        client_name=name,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
    )


def refused_by_acl() -> type[BaseException]:
    """What Redis answers a command the user may not run (NOPERM), by itself or inside a
    script (an error reply that says the user can't run it)."""
    from redis.exceptions import ResponseError

    return ResponseError


def broker_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "Redis is away", not "this call is wrong"."""
    from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError, BusyLoadingError, OSError)


async def tidy(*steps: Callable[[], Awaitable[Any]], within: float = 5.0) -> None:
    """Clean-up calls at the end of a run or worker: each done if Redis answers within
    `within` seconds, skipped if it is away (its keys expire by themselves), never
    cancelled half-way by a Ctrl-C."""
    with anyio.move_on_after(within, shield=True):
        for step in steps:
            with contextlib.suppress(*broker_errors()):
                await step()


class Outage:
    """Calls to Redis that wait out an outage, up to `max_outage` seconds in a row.

    A broker that is away stops nothing for a while: each call is tried again with a
    growing wait (0.1 s to 2 s), and the outage is logged once. Past `max_outage` the
    run or worker stops (exit 3), resumable; no row is marked failed for it.
    """

    def __init__(
        self,
        max_outage: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[Any]],
        notice: Callable[[str], None] = lambda text: None,
        flag: str | None = "--max-outage",
    ) -> None:
        """`notice`: told once when an outage starts and once when it ends, for the
        person watching (a typo in --queue should not look like a run that hangs).
        `flag`: the option that sets `max_outage` here, named in the messages (None for a
        command that has no such option)."""
        self._max_outage = max_outage
        self._flag = flag
        self._clock = clock
        self._sleep = sleep
        self._notice = notice
        self._since: float | None = None
        self.outages = 0
        """Times Redis went away (for Prometheus's excelfmt_redis_connections_lost)."""

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        wait = 0.1
        errors = broker_errors()
        while True:
            try:
                result = await make()
            except refused_by_acl() as exc:
                if "permission" not in str(exc) and "can't run this command" not in str(exc):
                    raise  # a wrong call, not the user's rights: a bug, reported as one
                raise UsageError(
                    f"The queue's Redis refused a command to this user ({exc}); give the "
                    "user the rights the README's ACL line lists."
                ) from None
            except errors as exc:
                now = self._clock()
                if self._since is None:
                    self._since = now
                    self.outages += 1
                    runlog.event(
                        logging.WARNING, "the queue's Redis is unreachable", error=str(exc)
                    )
                    self._notice(
                        f"the queue's Redis is unreachable ({exc}); trying again for up to "
                        f"{self._max_outage:.0f} s" + (f" ({self._flag})" if self._flag else "")
                    )
                if now - self._since > self._max_outage:
                    limit = f"{self._max_outage:.0f} s" + (f", {self._flag}" if self._flag else "")
                    raise RunStopped(
                        f"The queue's Redis was unreachable for {now - self._since:.0f} s "
                        f"(the limit is {limit})."
                    ) from None
                await self._sleep(wait)
                wait = min(2.0, wait * 2)
                continue
            if self._since is not None:
                runlog.event(logging.INFO, "the queue's Redis is back")
                self._notice("the queue's Redis is back")
                self._since = None
            return result
