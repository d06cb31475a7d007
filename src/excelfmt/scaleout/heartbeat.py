"""A worker's heartbeat: a key in Redis that lives while the worker does.

    thread, every BEAT s: HSET excelfmt:worker:<host:pid> {host, pid, rows, ...}
                          PEXPIRE it to DEAD_AFTER s
    a run's feed: a batch held by a worker whose key is gone is taken over (feed.py)

It beats from a thread of its own, over a connection of its own, so that what keeps the
event loop busy (a CPU-bound stretch, a long collector pause, a slow push) never lets a
live worker's key lapse: Python hands the thread the interpreter every few milliseconds
however busy the loop is. Only a stopped process (kill -9, a power cut) or a host cut off
from Redis stops beating. The connection is named as BullMQ for Node names a worker's,
so bull-board and getWorkers() count this worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from ..broker import keys
from ..broker.connection import QUEUE_NAME, broker_errors, named_sync_client, refused_by_acl
from ..store import runlog

BEAT = 1.0
"""Seconds between beats."""


class Heartbeat:
    """Beats `fields()` into the worker's key until `stop()`, which deletes the key."""

    def __init__(
        self, url: str, name: str, fields: Callable[[], dict[str, str | int | float]]
    ) -> None:
        self._key = keys.worker(name)
        self._fields = fields
        self._redis = named_sync_client(url, keys.node_worker_client(QUEUE_NAME, name))
        self._stopping = threading.Event()
        self._refused = False
        self._thread = threading.Thread(target=self._beat, name="excelfmt-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and take the key away: the worker is gone, not dead."""
        self._stopping.set()
        self._thread.join(timeout=keys.DEAD_AFTER)
        try:
            self._redis.delete(self._key)
        except broker_errors():
            pass  # it expires by itself
        finally:
            self._redis.close()

    def _beat(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._redis.pipeline(transaction=True) as pipe:
                    beat = {**self._fields(), "seen": round(time.time(), 3)}
                    pipe.hset(self._key, mapping=cast(Any, beat))  # its stubs want bytes keys
                    pipe.pexpire(self._key, round(keys.DEAD_AFTER * 1000))
                    pipe.execute()
            except broker_errors():
                pass  # Redis is away: the worker's own calls wait it out and say so
            except refused_by_acl() as exc:  # the user lacks a right: said once, in the log
                if not self._refused:
                    self._refused = True
                    runlog.event(logging.ERROR, "the heartbeat was refused", error=str(exc))
            self._stopping.wait(BEAT)
