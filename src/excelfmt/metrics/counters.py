"""A run's running totals, fed by outcomes: counts, latency, and its timeline. No
rendering, flat memory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from ..models import Category, Outcome
from .histogram import LatencyHistogram
from .tally import Tally
from .timeline import Closed, Recent, Timeline


@dataclass(frozen=True)
class Snapshot:
    """Where a run stands, for the live view and the summary."""

    done: int
    ok: int
    by_category: dict[str, int]
    elapsed: float
    rows_per_second: float
    latency_p50: float | None
    latency_p90: float | None
    latency_p99: float | None
    resumed: int = 0
    """Rows whose outcome came from the journal of the run being resumed."""
    cached: int = 0
    """Rows answered from the response cache."""
    statuses: tuple[tuple[str, int], ...] = ()
    """The rows' status codes ("none": no answer), most frequent first."""
    top_errors: tuple[tuple[str, int], ...] = ()
    """The failed rows' most frequent messages, with their counts."""
    recent: Recent | None = None
    """The last minute, when the run keeps a timeline."""
    closed: Closed = field(default_factory=Closed)
    """Seconds, latency intervals and policy events finished since the previous snapshot
    (all of them in the run's last snapshot): each is in exactly one snapshot."""

    @property
    def failed(self) -> int:
        return self.done - self.ok


@dataclass
class Metrics:
    """Running totals of a run's outcomes; `snapshot` gives a consistent view. With a
    `timeline`, also what happened second by second (give `now` to `record`)."""

    started: float
    done: int = 0
    ok: int = 0
    by_category: Counter[Category] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    resumed: int = 0
    cached: int = 0
    timeline: Timeline | None = None
    tally: Tally = field(default_factory=Tally)

    def record(self, outcome: Outcome, now: float | None = None) -> None:
        self.done += 1
        if outcome.category is None:
            self.ok += 1
        else:
            self.by_category[outcome.category] += 1
        self.cached += outcome.cached
        self.tally.record(outcome)  # a replayed row is one of the run's rows all the same
        if outcome.replayed:
            self.resumed += 1  # counted, but neither its speed nor its latency is this run's
            return
        if outcome.latency is not None:
            self.latency.add(outcome.latency)
        if self.timeline is not None and now is not None:
            self.timeline.record(outcome, now)

    def snapshot(self, now: float, final: bool = False) -> Snapshot:
        """Where the run stands, with the timeline's seconds closed since the last snapshot
        (`final` when the run is over: the last second closes too). The run's progress
        ticker is its one caller: what it hands over goes to the store once; any other
        reader takes a `view`."""
        return replace(
            self.view(now),
            closed=self.timeline.take_closed(now, final) if self.timeline else Closed(),
        )

    def view(self, now: float) -> Snapshot:
        """Where the run stands, taking nothing from the timeline (a queued run's note
        reads it too: had it taken the closed seconds, the store would not get them)."""
        elapsed = max(now - self.started, 1e-9)
        p50, p90, p99 = self.latency.quantiles(0.50, 0.90, 0.99)
        return Snapshot(
            done=self.done,
            ok=self.ok,
            by_category={c.value: n for c, n in sorted(self.by_category.items()) if n},
            elapsed=elapsed,
            rows_per_second=(self.done - self.resumed) / elapsed,
            latency_p50=p50,
            latency_p90=p90,
            latency_p99=p99,
            resumed=self.resumed,
            cached=self.cached,
            statuses=self.tally.top_statuses(),
            top_errors=self.tally.top_messages(),
            recent=self.timeline.recent(now) if self.timeline else None,
        )
