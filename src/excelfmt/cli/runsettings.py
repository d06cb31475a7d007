"""A run's settings from its flags: the config file, the session it resumes, and flags that
would change nothing, refused."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..errors import UsageError
from ..settings.config import Settings, changed_settings, load_settings, merged_values
from ..settings.environment import store_folder
from ..settings.options import OPTIONS_BY_NAME
from ..store import sessions
from ..store.folder import Store
from ..store.records import Session

QUEUE_ONLY = ("batch_rows", "rate_key", "lock_duration", "no_local_worker")
"""Settings a run uses only with --queue."""


def refuse_flags_without_effect(flags: dict[str, object], settings: Settings) -> None:
    """A flag given on the command line that would change nothing is a mistake to say,
    not to ignore. (From excelfmt.toml or the environment, which runs and workers may
    share, such a setting is left alone.)"""
    given = [name for name in QUEUE_ONLY if flags.get(name) not in (None, False)]
    if given and not settings.queue:
        named = ", ".join(OPTIONS_BY_NAME[name].flag for name in given)
        verb = "applies" if len(given) == 1 else "apply"
        raise UsageError(f"{named} only {verb} with --queue; this run sends its rows itself.")
    if flags.get("lock_duration") is not None and settings.no_local_worker:
        raise UsageError(
            "--lock-duration does nothing with --no-local-worker: a batch is held by the "
            "worker that took it, for that worker's own --lock-duration "
            "(excelfmt worker --lock-duration ...)."
        )


def run_settings(
    flags: dict[str, object],
    config: Path | None,
    workbook: Path | None,
    resume: str | None,
    dry_run: bool,
    *,
    talk: bool,
    quiet: bool,
) -> tuple[Settings, Path, str | None]:
    """The run's settings, workbook and the session it resumes, if any.

    A resumed session's recorded settings stand in for the defaults, so `--resume ID`
    alone sends the rest as the first run sent the start; what is given now overrides.
    """
    values = merged_values(flags, config_file=config)
    store = store_folder(values["store"])  # type: ignore[arg-type]
    session: Session | None = None
    if resume is not None and resume != "auto":
        with Store(store) as opened:
            session = opened.session(resume)
        workbook = workbook or Path(session.input)
    elif workbook is None:
        raise UsageError("Which workbook? Give its path (or --resume SESSION).")
    elif not dry_run:
        session = _earlier_run(store, workbook, values["sheet"], resume, talk)  # type: ignore[arg-type]
    if session is None:
        return load_settings(flags, config_file=config), workbook, None
    settings = load_settings(flags, config_file=config, recorded=session.settings)
    changed = changed_settings(settings, session.settings)
    if changed and not quiet:  # on stderr: --json keeps stdout to its one object
        print(
            f"excelfmt: resuming session {session.id} with settings that differ from its "
            f"own: {'; '.join(changed)}.",
            file=sys.stderr,
        )
    return settings, workbook, session.id


def _earlier_run(
    store: Path, workbook: Path, sheet: str | None, resume: str | None, talk: bool
) -> Session | None:
    """The session to resume: with --resume auto, the unfinished run on this very file;
    without --resume, offered on a terminal, mentioned elsewhere."""
    if not workbook.is_file():
        return None  # the run reports the missing file
    digest = sessions.fingerprint(workbook)
    with Store(store) as opened:
        earlier = sessions.unfinished(opened, digest, sheet)
        sent = None if earlier else sessions.finished(opened, digest, sheet)
    if sent is not None and talk:
        print(f"excelfmt: note: {_sent_before(sent)}", file=sys.stderr)
    if earlier is None:
        return None
    done = earlier.progress.get("done", earlier.summary.get("rows", 0))
    about = f"Session {earlier.id} on this file {earlier.state} after {done} rows"
    if resume == "auto":
        if talk:
            print(f"excelfmt: {about}; resuming it.", file=sys.stderr)
        return earlier
    if sys.stdin.isatty() and talk:
        if typer.confirm(f"{about}. Resume it (rows it settled are not sent again)?", True):
            return earlier
        return None
    print(
        f"excelfmt: note: {about}; this is a new run. Use --resume {earlier.id} "
        "(or --resume auto) to continue it instead.",
        file=sys.stderr,
    )
    return None


def _sent_before(session: Session) -> str:
    """What to say when this very file was sent in full before: under cron, the same
    unchanged file every day is more often a mistake than a plan."""
    rows, ok = session.summary.get("rows", 0), session.summary.get("ok", 0)
    when = (session.finished_at or session.started_at)[:16].replace("T", " ")
    return (
        f"session {session.id} sent this very file in full on {when} UTC ({rows} rows, "
        f"{ok} ok); sending it again (a request unchanged since then carries the same "
        "Idempotency-Key, which an API that honours it will not apply twice)."
    )
