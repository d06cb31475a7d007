"""A run's rows per second as bars, from its stored timeline: the run page draws them on
its first load (running, finished or reloaded) and each live event carries them again,
so the chart is never an empty box and never forgets the start of a run.

At most MOST_BARS bars: a long run's seconds are added up a few to a bar, each bar the
mean rows per second over its seconds. The geometry is console.js's drawBars'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..metrics.timeline import Closed

MOST_BARS = 60
WIDTH, HEIGHT, TOP = 600, 120, 116
"""The chart's viewBox, and the height of its highest bar."""


@dataclass(frozen=True)
class Bars:
    seconds: int
    """Seconds a bar stands for."""
    rates: list[tuple[float, float]]
    """(ok, failed) rows per second, a bar each, oldest first."""

    @property
    def caption(self) -> str:
        if not self.rates:
            return "Rows per second: nothing settled yet"
        each = "a bar a second" if self.seconds == 1 else f"a bar every {self.seconds:,} s"
        span = self.seconds * len(self.rates)
        return f"Rows per second over the run's {span:,} s, {each}:"

    def shapes(self) -> list[dict[str, str]]:
        """The bars as SVG rectangles (x, y, width, height, class), as drawBars makes them."""
        most = max([1.0, *(ok + failed for ok, failed in self.rates)])
        width = WIDTH / max(len(self.rates), MOST_BARS)
        drawn = []
        for index, (ok, failed) in enumerate(self.rates):
            for value, base, kind in ((ok, 0.0, "bar-ok"), (failed, ok, "bar-failed")):
                if not value:
                    continue
                height = value / most * TOP
                drawn.append({
                    "x": f"{index * width:.1f}",
                    "width": f"{max(1.0, width - 1):.1f}",
                    "y": f"{HEIGHT - base / most * TOP - height:.1f}",
                    "height": f"{height:.1f}",
                    "class": kind,
                })  # fmt: skip
        return drawn


def rate_bars(closed: Closed, most: int = MOST_BARS) -> Bars:
    seconds = closed.seconds
    if not seconds:
        return Bars(1, [])
    start = seconds[0].at
    span = seconds[-1].at + 1 - start
    width = max(1, math.ceil(span / most))
    counted = [[0, 0] for _ in range(math.ceil(span / width))]
    for second in seconds:
        ok = second.outcomes.get("ok", 0)
        counted[(second.at - start) // width][0] += ok
        counted[(second.at - start) // width][1] += sum(second.outcomes.values()) - ok
    return Bars(width, [(ok / width, failed / width) for ok, failed in counted])
