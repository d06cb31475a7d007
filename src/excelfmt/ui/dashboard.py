"""The live dashboard: a run's progress, pace, latency, outcomes, errors and policies on one
screen that fits 80x24.

Drawn from plain data (a `Board`), so that the run's own terminal and `excelfmt status ID
--watch` in another one draw the same thing. Rendering happens on rich's refresh thread,
at most 4 times a second; the run only hands over its latest snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..metrics.counters import Snapshot
from ..metrics.summary import RunSummary
from ..metrics.timeline import Percentiles
from ..policies.resilience import LiveState
from ..sending.events import RunInfo
from ..store.records import SHORT_ID

CHART_HEIGHT = 4
"""Rows of the rows-per-second chart: with the other panels, 24 lines in all."""
BLOCKS = " ▁▂▃▄▅▆▇█"
WIDE = 72
"""Below this width the panels stack, without the chart and the errors."""
TOP_ERRORS = 3
ROWS = 5
"""Lines in each of the three lower panels."""


@dataclass(frozen=True)
class Board:
    """Everything the dashboard shows, from the run itself or from its session record."""

    title: str
    snapshot: Snapshot
    live: LiveState
    estimated_rows: int | None
    state: str = "running"


def render(board: Board, width: int) -> RenderableType:
    """The dashboard for a terminal `width` columns wide."""
    if width < WIDE:  # stacked, the panels that say most; still within 24 lines
        return Group(_header(board, width), _latency(board), _outcomes(board), _policies(board))
    lower = [_latency(board, ROWS + 2), _outcomes(board, ROWS + 2), _policies(board, ROWS + 2)]
    row = Table.grid(expand=True)
    for ratio in (22, 30, 28):  # what each needs at 80 columns
        row.add_column(ratio=ratio)
    row.add_row(*lower)
    return Group(_header(board, width), _chart(board, width), row, _errors(board))


def _count(n: float) -> str:
    return f"{n:,.0f}"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _header(board: Board, width: int) -> Panel:
    s = board.snapshot
    recent = s.recent
    total = (
        board.estimated_rows if board.estimated_rows and board.estimated_rows >= s.done else None
    )
    bar = ProgressBar(total=total or None, completed=s.done, width=max(10, width - 4))
    done = f"[bold]{_count(s.done)}[/]"
    if total:
        done += f" of ~{_count(total)} ({100 * s.done // total}%)"
    else:
        done += " rows"
    now = recent.rows_per_second if recent else s.rows_per_second
    timing = f"elapsed {_clock(s.elapsed)}"
    if total and now > 0 and board.state == "running":
        timing += f"   eta {_clock((total - s.done) / now)}"
    elif board.state != "running":
        timing += f"   [bold]{escape(board.state)}[/]"
    line = (
        f"{done}   [green]{_count(s.ok)} ok[/]   [red]{_count(s.failed)} failed[/]"
        f"   rows/s [bold]{_count(now)}[/] now, {_count(s.rows_per_second)} overall   {timing}"
    )
    extra = []
    if s.resumed:
        extra.append(f"{_count(s.resumed)} from the earlier run")
    if s.cached:
        extra.append(f"{_count(s.cached)} from cache")
    body = Table.grid(expand=True)
    body.add_row(bar)  # (in a Group, the bar and the line after it share one line)
    body.add_row(Text.from_markup(line + ("   " + ", ".join(extra) if extra else "")))
    if board.live.batch > 1:
        body.add_row(Text.from_markup(_requests_line(board)))
    if board.live.batches is not None:
        body.add_row(Text.from_markup(_queue_line(board.live)))
    return Panel(body, title=escape(board.title), title_align="left")


def _requests_line(board: Board) -> str:
    """A batched run: requests beside rows, since the API's limits count requests."""
    s, live = board.snapshot, board.live
    now = s.recent.requests_per_second if s.recent else 0.0
    overall = live.requests / s.elapsed if s.elapsed > 0 else 0.0
    line = (
        f"requests/s [bold]{now:,.1f}[/] now, {overall:,.1f} overall   "
        f"{_count(live.requests)} requests (batch {_count(live.batch)})"
    )
    if live.bisections:  # requests spent finding the bad rows of batches refused whole
        line += f", {_count(live.bisections)} narrowing"
    return line


def _queue_line(live: LiveState) -> str:
    """A queued run: its batches in the queue and the workers sending them."""
    workers = live.workers
    shown = ", ".join(f"{name} {_count(rate)}/s" for name, rate in workers[:3])
    more = f" and {len(workers) - 3} more" if len(workers) > 3 else ""
    return (
        f"queue: [bold]{live.batches}[/] batches waiting or in work; "
        f"{len(workers)} worker{'' if len(workers) == 1 else 's'}"
        + (f" ({escape(shown)}{more})" if shown else "")
    )


def _chart(board: Board, width: int) -> Panel:
    """Rows per second over the last minute, one column a second: ok green, failed red
    stacked on top."""
    recent = board.snapshot.recent
    bars = list(recent.bars if recent else ())[-max(10, width - 4) :]
    peak = max((ok + failed for ok, failed in bars), default=0)
    lines = []
    for level in reversed(range(CHART_HEIGHT)):
        line = Text()
        for ok, failed in bars:
            eighths = round((ok + failed) / peak * CHART_HEIGHT * 8) if peak else 0
            ok_eighths = round(ok / peak * CHART_HEIGHT * 8) if peak else 0
            filled = min(8, max(0, eighths - level * 8))
            # A cell mostly above the ok part belongs to the failed part.
            style = "red" if level * 8 + filled / 2 > ok_eighths else "green"
            line.append(BLOCKS[filled], style=style if filled else "")
        lines.append(line)
    title = f"rows/s, last {len(bars)} s: [green]ok[/] / [red]failed[/] (peak {_count(peak)})"
    return Panel(Group(*lines), title=title, title_align="left")


def _ms(value: Percentiles | None) -> list[str]:
    return ["-"] * 3 if value is None else [f"{v * 1000:,.0f}" for v in value]


def _latency(board: Board, height: int | None = None) -> Panel:
    recent = board.snapshot.recent
    table = Table.grid(padding=(0, 1))
    table.add_column()
    for _ in range(3):
        table.add_column(justify="right")
    table.add_row("ms", "p50", "p90", "p99", style="dim")
    table.add_row("[green]ok[/]", *_ms(recent.ok_latency if recent else None))
    table.add_row("[red]failed[/]", *_ms(recent.failed_latency if recent else None))
    return Panel(table, title="latency, 10 s", title_align="left", height=height)


def _outcomes(board: Board, height: int | None = None) -> Panel:
    """Status codes beside categories, the most frequent first."""
    s = board.snapshot
    statuses = list(s.statuses)
    categories = [(name.split("_")[0].lower(), n) for name, n in s.by_category.items()]
    table = Table.grid(padding=(0, 1))
    for justify in ("left", "right", "left", "right"):
        table.add_column(justify=justify)
    for index in range(min(ROWS, max(len(statuses), len(categories), 1))):
        code, n = statuses[index] if index < len(statuses) else ("", None)
        name, m = categories[index] if index < len(categories) else ("", None)
        table.add_row(
            code,
            _count(n) if n is not None else "",
            f"[red]{name}[/]" if name else ("[green]no failures[/]" if not index else ""),
            _count(m) if m is not None else "",
        )
    return Panel(table, title="HTTP status, failures", title_align="left", height=height)


def _policies(board: Board, height: int | None = None) -> Panel:
    live = board.live
    lines = [f"in flight [bold]{live.in_flight}[/] of {live.limit}"]
    pace = f"cap {_count(live.rate)}/s" if live.rate else "no rate cap"
    if live.api_pace is not None:
        pace += f", API {_count(live.api_pace)}/s"
    lines.append(pace)
    if live.breaker == "open":
        lines.append(f"[red]breaker open[/], probe {live.breaker_open_for:.0f}s")
    elif live.breaker != "closed":
        lines.append(f"[yellow]breaker {live.breaker}[/]")
    else:
        trips = live.breaker_opened
        lines.append(f"breaker closed, {trips} trip{'' if trips == 1 else 's'}")
    if live.paused_for > 0:
        lines.append(f"[yellow]paused[/], {live.paused_for:.0f}s left")
    else:
        lines.append(
            f"{live.pauses} pause{'' if live.pauses == 1 else 's'}, {live.throttled} x 429"
        )
    used, room = live.retry_budget
    lines.append(f"retries {_count(live.retries)}, budget {used}/{room}")
    return Panel("\n".join(lines), title="policies", title_align="left", height=height)


def _errors(board: Board) -> Panel:
    messages = board.snapshot.top_errors[:TOP_ERRORS]
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="red")
    table.add_column(overflow="ellipsis", no_wrap=True)
    for message, n in messages:
        table.add_row(_count(n), escape(message))
    if not messages:
        # A queued run's final note in Redis leaves its messages out (they may quote rows).
        kept = not board.snapshot.failed or board.state == "running"
        table.add_row("", "[dim]none yet[/]" if kept else "[dim]excelfmt errors list[/]")
    return Panel(table, title="top errors", title_align="left")


class DashboardView:
    """An Observer that draws the dashboard while the run goes (terminal only)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._title = "excelfmt"
        self._estimated: int | None = None
        self._board: Board | None = None
        self._live = Live(console=console, refresh_per_second=4, get_renderable=self._renderable)

    def _renderable(self) -> RenderableType:
        if self._board is None:
            return Text("starting…", style="dim")
        return render(self._board, self._console.width)

    def started(self, info: RunInfo) -> None:
        self._title = f"{info.input.name} · sheet {info.sheet}"
        if info.session:
            self._title += f" · session {info.session[:SHORT_ID]}"
        self._estimated = info.estimated_rows
        self._console.print(
            f"Sending rows of [bold]{escape(info.input.name)}[/], up to {info.concurrency} "
            "at a time" + (f"; session {info.session}." if info.session else ".")
        )
        self._live.start()

    def progressed(self, snapshot: Snapshot, live: LiveState) -> None:
        self._board = Board(self._title, snapshot, live, self._estimated)

    def stopping(self, in_flight: int, reason: str | None) -> None:
        if reason:
            self._console.print(f"[yellow]Stopping: {escape(reason)}.[/]")
            return
        self._console.print(
            f"[yellow]Stopping: waiting for {in_flight} request(s) in flight to finish; "
            "press Ctrl-C again to abandon them.[/]"
        )

    def noticed(self, text: str) -> None:
        self._console.print(f"[yellow]{escape(text)}[/]", highlight=False)

    def finished(self, summary: RunSummary) -> None:
        if self._board is not None:
            state = (
                "interrupted"
                if summary.interrupted
                else "stopped"
                if summary.stopped
                else "finished"
            )
            self._board = Board(
                self._title, summary.metrics, self._board.live, self._estimated, state
            )
        self._live.stop()


def watch(
    console: Console,
    read: Callable[[], Board | None],
    going: Callable[[], bool],
    every: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Draw the dashboard of a run in another process, read anew every `every` seconds,
    until it ends (`going` turns False); the last frame stays on screen."""
    with Live(console=console, auto_refresh=False) as live:
        while True:
            ended = not going()  # asked first: the board read after it is the last one
            board = read()
            if board is not None:
                live.update(render(board, console.width), refresh=True)
            if ended:
                return
            sleep(every)
