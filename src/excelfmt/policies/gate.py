"""An async gate on requests in flight whose size can change while tasks wait.

anyio's CapacityLimiter has over-granted when its size changed at run time (anyio #1170,
fixed across #1172/#1183/#1223); the gate is small enough to own outright. Waiters are
served first come, first served; lowering the limit never takes a slot away from a
request already in flight, it only holds back the next ones.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType

import anyio


class Gate:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a gate needs a limit of at least 1")
        self._limit = limit
        self.taken = 0
        self._waiters: deque[anyio.Event] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._wake()

    async def acquire(self) -> None:
        if self.taken < self._limit and not self._waiters:
            self.taken += 1
            return
        granted = anyio.Event()
        self._waiters.append(granted)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():  # a slot arrived as we were cancelled: pass it on
                self.release()
            else:
                self._waiters.remove(granted)
            raise

    def release(self) -> None:
        self.taken -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.taken < self._limit:
            self.taken += 1
            self._waiters.popleft().set()

    async def __aenter__(self) -> Gate:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
