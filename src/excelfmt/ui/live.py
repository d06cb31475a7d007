"""What people see at the end of a run, and plain progress lines off a terminal (the
live view on a terminal is the dashboard, ui/dashboard.py).

Off a terminal (cron, a pipe, a log file) there is no
bar and no escape code: one summary line at the end, easy to grep and to mail.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..metrics.counters import Snapshot
from ..metrics.summary import RunSummary
from ..policies.retry import RETRYABLE
from ..sending.events import RunInfo
from ..settings.environment import store_folder
from ..store.rowerrors import NEEDS_A_PERSON
from .words import count

if TYPE_CHECKING:
    from ..policies.resilience import LiveState  # a type only: anyio loads with it


def shown_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def summary_line(summary: RunSummary) -> str:
    """The whole run in one line, for logs and cron mail."""
    m = summary.metrics
    parts = [count(m.done, "row"), f"{m.ok:,} ok"]
    if m.failed:
        detail = " ".join(f"{name}={count}" for name, count in m.by_category.items())
        parts.append(f"{m.failed:,} failed ({detail})")
    state = "interrupted after" if summary.interrupted else "in"
    if summary.stopped:
        state = "stopped after"
    text = (
        f"excelfmt: {', '.join(parts)} {state} {m.elapsed:.1f}s "
        f"({m.rows_per_second:.0f} rows/s, p50 {shown_ms(m.latency_p50)}, "
        f"p99 {shown_ms(m.latency_p99)}"
    )
    if m.cached:
        text += f", {m.cached} from cache"
    figures = summary.policies or {}
    if figures.get("batch", 1) > 1:
        requests = figures.get("requests", 0)
        rate = requests / m.elapsed if m.elapsed > 0 else 0.0
        text += f", {requests:,} requests of up to {figures['batch']:,} rows ({rate:.1f}/s)"
        if figures.get("bisect_requests"):
            text += f", {figures['bisect_requests']} narrowing refused batches"
    if figures.get("retries"):
        text += f", {figures['retries']} retries"
    if figures.get("throttled"):
        text += f", {figures['throttled']} x 429"
    if figures.get("breaker_opened"):
        text += f", breaker opened {figures['breaker_opened']} times"
    if summary.sent_twice:
        text += f", {count(len(summary.sent_twice), 'row')} possibly sent twice after a failover"
    text += f"); results: {summary.output}"
    if summary.session:
        text += f"; session {summary.session}"
    if summary.stopped:
        text += f". Stopped: {summary.stopped}"
    if hint := resume_hint(summary):
        text += f". {hint}"
    return text


class PlainView:
    """An Observer for non-terminals (cron, a pipe, a log file): a line when it starts
    (with `announce`), a plain progress line every `every` seconds, a line at the end."""

    def __init__(
        self,
        stream: TextIO,
        announce: bool = False,
        every: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._announce = announce
        self._every, self._clock = every, clock
        self._next = clock() + every
        self._expected: int | None = None

    def started(self, info: RunInfo) -> None:
        self._expected = info.estimated_rows
        if self._announce and info.session:
            # The id, so that another terminal can follow a long run as it goes.
            print(
                f"excelfmt: session {info.session}: sending {info.input.name}, sheet "
                f"'{info.sheet}'; `excelfmt status {info.session}` shows how it goes.",
                file=self._stream,
                flush=True,
            )

    def progressed(self, snapshot: Snapshot, live: LiveState) -> None:
        if not (self._announce and self._every) or self._clock() < self._next:
            return
        self._next = self._clock() + self._every
        print(progress_line(snapshot, live, self._expected), file=self._stream, flush=True)

    def stopping(self, in_flight: int, reason: str | None) -> None:
        what = reason or f"waiting for {in_flight} request(s) in flight"
        print(f"excelfmt: stopping, {what}", file=self._stream, flush=True)

    def noticed(self, text: str) -> None:
        print(f"excelfmt: {text}", file=self._stream, flush=True)

    def finished(self, summary: RunSummary) -> None:
        pass


def progress_line(snapshot: Snapshot, live: LiveState, expected: int | None) -> str:
    """One line of where a run stands, for logs: plain text, no escape codes."""
    done = f"{snapshot.done:,}"
    if expected:
        done += f" of about {expected:,} rows ({min(100, 100 * snapshot.done // expected)}%)"
    else:
        done += " rows"
    state = "" if live.breaker == "closed" else f", breaker {live.breaker}"
    state += ", paused by the API" if live.paused else ""
    return (
        f"excelfmt: {done}, {snapshot.ok:,} ok, {snapshot.failed:,} failed, "
        f"{snapshot.rows_per_second:,.0f} rows/s, {live.in_flight} in flight "
        f"(limit {live.limit}), {live.retries:,} retries{state}"
    )


def _store_flag(summary: RunSummary) -> str:
    """` --store DIR` when the run's store is not the one a command finds by itself."""
    store = summary.settings.get("store")
    return (
        ""
        if store is None or Path(str(store)) == store_folder()
        else f" --store {shlex.quote(str(store))}"
    )


def resume_hint(summary: RunSummary) -> str | None:
    """What to do next: finish a run that ended early, look at the rows that need a person."""
    if not summary.session:
        return None
    hints = []
    if summary.stopped or summary.interrupted:
        hints.append(
            f"To send the rest: excelfmt run --resume {summary.session}{_store_flag(summary)} "
            "(it takes the session's workbook and settings; rows already settled are not "
            "sent again)."
        )
    else:
        temporary = sum(summary.metrics.by_category.get(c.value, 0) for c in RETRYABLE)
        if temporary:
            hints.append(
                f"{count(temporary, 'row')} failed for now (the API was down or busy): "
                f"excelfmt run --resume {summary.session}{_store_flag(summary)} sends them again."
            )
    person = sum(summary.metrics.by_category.get(c.value, 0) for c in NEEDS_A_PERSON)
    if person:
        hints.append(
            f"{count(person, 'row')} {'needs' if person == 1 else 'need'} a person: "
            f"excelfmt errors list --session {summary.session}."
        )
    return " ".join(hints) or None


def print_summary_json(stream: TextIO, summary: RunSummary) -> None:
    print(json.dumps(summary.to_json(), ensure_ascii=False), file=stream, flush=True)
