"""The per-second timeline behind the dashboard, the stored metrics and the report (fake clock)."""

from __future__ import annotations

import pytest

from excelfmt.metrics.counters import Metrics
from excelfmt.metrics.histogram import LatencyHistogram
from excelfmt.metrics.tally import MESSAGES_KEPT
from excelfmt.metrics.timeline import Timeline
from excelfmt.models import Category, Outcome, Row

EPOCH = 1_700_000_000.0
ROW = Row(0, 2, {})


def ok(latency: float = 0.05) -> Outcome:
    return Outcome(ROW, None, 200, latency=latency, attempts=1)


def failed(message: str = "bad email", latency: float = 0.5, status: int = 422) -> Outcome:
    return Outcome(ROW, Category.REQUIRES_USER_ACTION, status, message, latency=latency)


def test_bars_cover_the_last_minute_one_per_second_with_quiet_seconds_as_zero():
    timeline = Timeline(started=0.0, epoch=EPOCH)
    for second in range(100):
        if second % 10 == 5:
            continue  # nothing settled in this second
        for _ in range(3):
            timeline.record(ok(), second + 0.5)
        timeline.record(failed(), second + 0.6)
    recent = timeline.recent(99.9)
    assert len(recent.bars) == 60
    assert recent.bars[-1] == (3, 1)
    assert recent.bars[-5] == (0, 0)  # second 95
    assert recent.rows_per_second == pytest.approx(4 * 9 / 10)  # 89..98: one quiet second


def test_latency_of_the_last_window_keeps_ok_and_failed_apart():
    timeline = Timeline(started=0.0, epoch=EPOCH)
    for second in range(30):
        timeline.record(ok(latency=2.0 if second < 15 else 0.05), second + 0.1)
        timeline.record(failed(latency=0.01), second + 0.2)
    recent = timeline.recent(29.5)
    assert recent.ok_latency is not None and recent.failed_latency is not None
    assert recent.ok_latency[2] == pytest.approx(0.05, rel=0.02)  # the slow start is gone
    assert recent.failed_latency[0] == pytest.approx(0.01, rel=0.02)


def test_each_second_and_interval_is_handed_over_once_and_the_last_one_at_the_end():
    timeline = Timeline(started=100.0, epoch=EPOCH)
    for tick in range(125):  # an outcome every 0.1 s
        timeline.record(ok() if tick % 5 else failed(), 100.0 + tick / 10)
    first = timeline.take_closed(112.5)
    assert [s.at for s in first.seconds] == [int(EPOCH) + n for n in range(12)]
    assert first.seconds[0].outcomes == {"ok": 8, "REQUIRES_USER_ACTION": 2}
    assert first.seconds[0].statuses == {"200": 8, "422": 2}
    assert [i.start for i in first.latency] == [int(EPOCH)]
    assert timeline.take_closed(112.55).seconds == ()
    for tick in range(125, 250):
        timeline.record(ok() if tick % 5 else failed(), 100.0 + tick / 10)
    last = timeline.take_closed(124.95, final=True)
    seconds = first.seconds + last.seconds
    assert len(seconds) == 25 and sum(sum(s.outcomes.values()) for s in seconds) == 250
    merged = LatencyHistogram()
    for interval in first.latency + last.latency:
        merged.merge(LatencyHistogram.from_buckets(interval.ok))
        merged.merge(LatencyHistogram.from_buckets(interval.failed))
    assert merged.count == 250


def test_breaker_changes_and_pauses_become_events():
    timeline = Timeline(started=0.0, epoch=EPOCH)
    for now, breaker, pauses in [
        (1.0, "closed", 0),
        (2.0, "open", 0),
        (2.1, "open", 0),
        (7.0, "half_open", 0),
        (7.5, "closed", 1),
    ]:
        timeline.sample(
            now, limit=8, in_flight=3, breaker=breaker, pauses=pauses, paused_for=4.0 * pauses
        )
    events = timeline.take_closed(8.0).events
    assert [(e.at - EPOCH, e.kind, e.detail) for e in events] == [
        (0.0, "run", "started"),
        (2.0, "breaker", "open"),
        (7.0, "breaker", "half_open"),
        (7.5, "breaker", "closed"),
        (7.5, "pause", "Retry-After"),
    ]
    assert events[-1].seconds == 4.0
    seconds = timeline.take_closed(9.0, final=True).seconds
    assert {(s.limit, s.in_flight) for s in seconds} <= {(8, 3)}


def test_top_messages_are_counted_and_their_table_stays_bounded():
    metrics = Metrics(started=0.0)
    for n in range(5000):
        metrics.record(failed(f"row {n} has a bad email"))
    for _ in range(40):
        metrics.record(failed("the  API\nis down", status=503))
    metrics.record(Outcome(ROW, None, 201, latency=0.05, replayed=True))  # a resumed row
    snapshot = metrics.view(6.0)
    assert snapshot.top_errors[0] == ("the API is down", 40)
    assert len(metrics.tally.messages) <= MESSAGES_KEPT
    assert dict(snapshot.statuses) == {"422": 5000, "503": 40, "201": 1}


def test_metrics_hand_the_timeline_out_in_snapshots_and_skip_replayed_rows():
    metrics = Metrics(started=0.0, timeline=Timeline(0.0, EPOCH))
    metrics.record(ok(), 0.5)
    metrics.record(Outcome(ROW, None, 200, latency=0.05, replayed=True), 0.6)
    snapshot = metrics.snapshot(1.5)
    assert snapshot.recent is not None and snapshot.recent.bars == ((1, 0), (0, 0))
    assert [s.outcomes for s in snapshot.closed.seconds] == [{"ok": 1}]
    last = metrics.snapshot(1.6, final=True).closed
    assert last.seconds == () and [sum(i.ok.values()) for i in last.latency] == [1]
    assert [(e.kind, e.detail, round(e.at - EPOCH, 3)) for e in last.events] == [
        ("run", "ended", 1.6)
    ]


def test_a_resumed_sessions_runs_add_up_without_the_gap_between_them():
    from excelfmt.metrics.digest import Digest, run_periods
    from excelfmt.metrics.timeline import Closed, PolicyEvent, SecondRecord

    start = 1_700_000_000
    seconds = tuple(SecondRecord(start + n, {"ok": 10}, {"201": 10}, 4, 4) for n in range(10))
    seconds += tuple(SecondRecord(start + 500 + n, {"ok": 10}, {"201": 10}, 4, 4) for n in range(5))
    events = (
        PolicyEvent(start, "run", "started"),  # killed: no "ended"; lasts to its last second
        PolicyEvent(start + 500, "run", "started"),
        PolicyEvent(start + 505, "run", "ended"),
    )
    closed = Closed(seconds, (), events)
    assert run_periods(closed) == [(start, start + 10), (start + 500, start + 505)]
    digest = Digest.of(closed)
    assert (digest.runs, digest.rows, digest.seconds) == (2, 150, 15)
    assert digest.to_json()["rows_per_s"] == 10.0


def test_a_queued_runs_note_takes_no_second_from_the_timeline_the_store_keeps():
    # Issue 25: `metrics` counted 8,719 rows of a queued run of 10,000. The note's board,
    # drawn once a second, took the seconds that had just closed, before the progress
    # ticker could hand them to the store.
    from pathlib import Path

    from excelfmt.scaleout.queuedrun import QueueRun
    from excelfmt.sending.events import RunInfo
    from excelfmt.settings.config import load_settings

    from .test_dashboard import LIVE

    settings = load_settings({"url": "http://127.0.0.1:9/o", "queue": "redis://127.0.0.1:9/0"})
    queued = QueueRun(settings, "s1", clock=lambda: 1.2)  # connects to nothing until used
    info = RunInfo(Path("in.xlsx"), "Sheet1", ("N",), 5, Path("out.xlsx"), 4, "s1")
    metrics = Metrics(started=0.0, timeline=Timeline(0.0, EPOCH))
    for _ in range(5):
        metrics.record(ok(), 0.5)
    board = queued.board(info, metrics, LIVE, final=False)  # the note, at 1.2 s
    seen = board["snapshot"]
    assert isinstance(seen, dict) and seen["done"] == 5
    handed = metrics.snapshot(1.3).closed  # the ticker's, which the store appends
    assert [s.outcomes for s in handed.seconds] == [{"ok": 5}]
