"""`excelfmt sessions list|show|prune`, `status` and `logs`: runs, from the store."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import UsageError
from ..settings.environment import plain_terminal, store_folder
from ..store import runlog, sessions
from ..store.folder import Store
from ..store.records import SHORT_ID, Session
from ..ui.lines import log_line, sessions_table, status_line
from .app import reported_errors
from .arguments import JsonOption, LatestSession, StoreOption

if TYPE_CHECKING:
    from ..ui.dashboard import Board

sessions_app = typer.Typer(
    help="The record of past runs: one session per run.", no_args_is_help=True
)


@sessions_app.command("list")
def list_sessions(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """Every recorded run, newest first: id, start, state, input, rows, ok, failed."""
    with reported_errors(), Store(store_folder(store)) as opened:
        found = list(opened.sessions())
        for session in found:
            session.state = sessions.shown_state(opened, session)
        if as_json:
            print(json.dumps([asdict(s) for s in found], ensure_ascii=False))
        else:
            print(sessions_table(found))


def _shown(session_id: str | None, store: Path | None) -> tuple[Session, list[int]]:
    """The session as people see it (a dead run shown as crashed) and its unknown rows."""
    with Store(store_folder(store)) as opened:
        session = opened.session_or_latest(session_id)
        unknown = sessions.unknown_outcomes(opened, session)
        session.state = sessions.shown_state(opened, session)
    return session, unknown


@sessions_app.command("show")
def show_session(
    session_id: Annotated[
        str, typer.Argument(metavar="ID", help="A session id, or any unique start of one.")
    ],
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run in full: input and its fingerprint, sheet, settings, counts and metrics."""
    with reported_errors():
        session, unknown = _shown(session_id, store)
        if as_json:
            print(json.dumps({**asdict(session), "unknown_outcome": unknown}, ensure_ascii=False))
        else:
            from ..ui import records
            from ..ui.console import stdout_console

            records.print_session(stdout_console(), session, unknown)


@sessions_app.command("prune")
def prune_sessions(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Delete sessions started longer ago than this: 30d, 12h, 2w.",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")
    ] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete old sessions with their journals, logs and errors (a run going is kept)."""
    with reported_errors():
        try:
            from ..settings.converters import as_duration

            seconds = as_duration(0, allow_minimum=True)(older_than)
        except ValueError as exc:
            raise UsageError(f"--older-than: {exc}.") from None
        with Store(store_folder(store)) as opened:
            old, errors = sessions.prune(opened, seconds, dry_run=dry_run)
    if as_json:
        print(json.dumps({"sessions": [s.id for s in old], "errors": errors, "dry_run": dry_run}))
        return
    verb = "Would delete" if dry_run else "Deleted"
    print(f"{verb} {len(old)} sessions older than {older_than} and their {errors} errors.")


def status_command(
    session_id: LatestSession = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            metavar="redis://HOST:PORT/DB",
            show_default=False,
            help="A run that uses this queue, seen from any host (its progress in Redis).",
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            "-w",
            help="Draw the run's live dashboard until it ends (a line a second off a terminal).",
        ),
    ] = False,
) -> None:
    """Where a run stands, while it goes (from another terminal) or after it ended."""
    with reported_errors():
        if queue is not None:
            if session_id is None:
                raise UsageError(
                    "status --queue needs the run's session id; `excelfmt queue status` "
                    "lists the latest runs."
                )
            if watch:
                _queued_watch(session_id, queue)
            else:
                _queued_status(session_id, queue, as_json)
            return
        if watch:
            _watch(session_id, store)
            return
        session, unknown = _shown(session_id, store)
        if as_json:
            from ..store.runfigures import run_figures

            fields = ("id", "state", "pid", "input", "sheet", "started_at", "finished_at")
            shown = {name: getattr(session, name) for name in fields}
            with Store(store_folder(store)) as opened:
                figures = run_figures(opened, session).to_json()
            recorded = {"progress": session.progress, "summary": session.summary}
            print(json.dumps({**shown, "figures": figures, **recorded, "unknown_outcome": unknown}))
        else:
            print(status_line(session, unknown))


def _watch(session_id: str | None, store: Path | None) -> None:
    """The dashboard of a run going on in another process, from its session record."""
    from rich.console import Console

    from ..ui.dashboard import Board, watch  # the dashboard's modules: only to watch

    console = Console(highlight=False)
    with Store(store_folder(store)) as opened:
        found = opened.session_or_latest(session_id)
        title = f"{Path(found.input).name} · sheet {found.sheet} · session {found.id[:SHORT_ID]}"

        def read() -> Board | None:
            session = opened.session(found.id)
            board = sessions.board_of(session.progress)
            if board is None:
                return None
            estimated = session.progress.get("estimated_rows")
            state = sessions.shown_state(opened, session)
            return Board(
                title,
                *board,
                estimated if isinstance(estimated, int) else None,
                "running" if state == "running" else state,
            )

        def going() -> bool:
            return sessions.is_running(opened, opened.session(found.id))

        try:
            drawable = read() is not None or going()  # (a run from before dashboards: no)
            if console.is_terminal and not plain_terminal() and drawable:
                watch(console, read, going)
                return
            while True:  # off a terminal: the status line, once a second
                ended = not going()
                session, unknown = _shown(found.id, store)
                print(status_line(session, unknown), flush=True)
                if ended:
                    return
                time.sleep(1.0)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


def _queued_status(session_id: str, queue: str, as_json: bool) -> None:
    from ..ui.queue import run_line

    found = _queued_note(session_id, queue)
    print(json.dumps(found) if as_json else run_line(found))


def _queued_note(session_id: str, queue: str) -> dict[str, Any]:
    """A queued run's progress note in Redis; a UsageError when there is none."""
    from ..scaleout.status import run_progress
    from .queue import tell

    found = run_progress(queue, session_id, tell)
    if found is None:
        raise UsageError(f"No run {session_id!r} in the queue's recent runs (or several match).")
    return found


def _queued_watch(session_id: str, queue: str) -> None:
    """The dashboard of a queued run, on any host: from the board its note carries."""
    from rich.console import Console

    from ..ui.dashboard import Board, watch
    from ..ui.queue import run_line

    console = Console(highlight=False)
    note = _queued_note(session_id, queue)
    last: dict[str, Any] = {}  # the last board the run published: its final frame

    def going() -> bool:
        latest = _queued_note(note["session"], queue)
        note.clear()  # a note without a board (a stopped run) has none
        note.update(latest)
        return bool(note["state"] == "running")

    def read() -> Board | None:
        if note.get("board"):
            last.update(json.loads(note["board"]))
        found = sessions.board_of({"board": last}) if last else None
        if found is None:
            return None
        return Board(last["title"], *found, last.get("estimated_rows"), note["state"])

    try:
        if console.is_terminal and not plain_terminal():
            watch(console, read, going)
            return
        while True:  # off a terminal: the note's line, once a second
            ended = not going()
            print(run_line(note), flush=True)
            if ended:
                return
            time.sleep(1.0)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def logs_command(
    session_id: LatestSession = None,
    level: Annotated[
        str,
        typer.Option(
            "--level", metavar="LEVEL", help="The least level shown: INFO, WARNING, ERROR."
        ),
    ] = "INFO",
    row: Annotated[
        int | None,
        typer.Option("--row", metavar="N", show_default=False, help="Only lines about this row."),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Then print the lines a running session adds, until it ends."
        ),
    ] = False,
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """A run's log: its start and end, rows that failed, retries, the breaker, stops."""
    with reported_errors():
        if level.upper() not in runlog.LEVELS:
            raise UsageError(f"--level {level!r}: use one of {', '.join(runlog.LEVELS)}.")
        with Store(store_folder(store)) as opened:
            session = opened.session_or_latest(session_id)
            path = opened.log_path(session.id)

            def running() -> bool:
                return sessions.is_running(opened, opened.session(session.id))

            lines = (
                runlog.follow(path, running, level, row)
                if follow
                else runlog.read(path, level, row)
            )
            for line in lines:
                text = json.dumps(line, ensure_ascii=False) if as_json else log_line(line)
                print(text, flush=follow)
