"""Put outcomes back in input order: workers finish rows out of order, results must not."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from ..models import Outcome


class Reorder:
    """Releases outcomes by row sequence, holding back those that arrive early.

    Memory is bounded by how far the fastest row runs ahead of the slowest one in
    flight (at worst, rows/s times the request timeout), not by the sheet.
    """

    def __init__(self) -> None:
        self._next = 0
        self._waiting: list[tuple[int, Outcome]] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def push(self, outcomes: Iterable[Outcome]) -> list[Outcome]:
        """Accept outcomes in any order; return those now ready, in order."""
        for outcome in outcomes:
            heapq.heappush(self._waiting, (outcome.row.seq, outcome))
        ready = []
        while self._waiting and self._waiting[0][0] == self._next:
            ready.append(heapq.heappop(self._waiting)[1])
            self._next += 1
        return ready

    def drain(self) -> list[Outcome]:
        """Everything still held, in order, skipping rows that never finished."""
        ready = [heapq.heappop(self._waiting)[1] for _ in range(len(self._waiting))]
        if ready:
            self._next = ready[-1].row.seq + 1
        return ready
