"""excelfmt's local store: the record of every run (its session) and its journal.

The one module that touches diskcache: another back end can take its place behind the
same small interface. The store lives in one folder ($EXCELFMT_HOME, the platform's user
data folder, or --store), readable by its owner only, since it holds what a run sent.
Records are plain JSON-able dicts, so a record written by one version reads in the next.

The journal of a session holds the final outcome of each row, by its position in the
sheet, in a SQLite table of its own (the one part not on diskcache: it is written for
every row); SQLite's write-ahead log makes a committed batch survive the process being
killed. A lock file per session keeps two processes from running it.
Rows that need a person (RowError) are kept apart, across sessions, under ids of their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

import diskcache

from .errors import UsageError
from .models import JSONValue, RecordedOutcome

SESSION_ID_BYTES = 4
"""Session ids are 8 hex digits: short enough to type, and any unique prefix works."""
ERROR_ID_DIGITS = 16
"""Error ids are hashes of session and row: the same row's error always has the same id,
so recording it twice (a resume replaying it) is harmless. People see the first 8 digits."""
SHORT_ID = 8


@dataclass
class Session:
    """One run: what it was given, how it went, and how it ended."""

    id: str
    input: str
    fingerprint: str
    """SHA-256 of the input file's bytes: a changed file is a different input."""
    sheet: str
    settings: dict[str, JSONValue]
    """The effective settings, secrets masked."""
    started_at: str
    pid: int
    state: str = "running"
    """running, finished, stopped (exit 3), interrupted (exit 130) or crashed."""
    finished_at: str | None = None
    summary: dict[str, JSONValue] = field(default_factory=dict)
    """The run's JSON summary once it ended: counts per outcome, rates, latency, policies."""
    progress: dict[str, JSONValue] = field(default_factory=dict)
    """Where the run stood when last recorded (every second while it goes)."""
    output: str | None = None
    """The results file, as an absolute path (a reprocess renders it again)."""


@dataclass
class RowError:
    """A row that needs a person: what was sent, what the API said, and what became of it."""

    id: str
    session: str
    seq: int
    """The row's position among the data rows, as in the journal."""
    row: int
    """The row number Excel shows."""
    category: str
    http_status: int | None
    message: str | None
    fields: list[tuple[str, str]]
    """(field, message) pairs, when the API named the fields it refused."""
    values: dict[str, JSONValue]
    """The row's cells (dates as ISO 8601 text), corrected ones once reprocessed."""
    request: dict[str, JSONValue] | None
    """method, url, headers (secrets masked) and body; None if no request could be made."""
    created_at: str
    state: str = "open"
    """open, resolved (closed by hand) or reprocessed (sent again and succeeded)."""
    updated_at: str | None = None
    note: str | None = None
    attempts: int = 0

    @property
    def short_id(self) -> str:
        return self.id[:SHORT_ID]


def error_id(session_id: str, seq: int) -> str:
    return hashlib.sha256(f"{session_id}:{seq}".encode()).hexdigest()[:ERROR_ID_DIGITS]


class Store:
    """The store in `folder`; a context manager that closes it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)
            # Small records only: keep everything inside the database file, whose
            # permissions are set below, rather than in loose value files.
            self._sessions = diskcache.Cache(
                str(folder / "sessions"), disk_min_file_size=1 << 30, eviction_policy="none"
            )
            self._errors = diskcache.Cache(
                str(folder / "errors"), disk_min_file_size=1 << 30, eviction_policy="none"
            )
        except (OSError, diskcache.Timeout) as exc:
            raise UsageError(f"Cannot open the store at {folder}: {exc}.") from None
        self._private()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._sessions.close()
        self._errors.close()
        self._private()

    def _private(self) -> None:
        _owner_only(self.folder, self.folder / "sessions", self.folder / "errors")

    def journal_folder(self, session_id: str) -> Path:
        return self.folder / "journals" / session_id

    def responses(self) -> Responses:
        """The response cache (--cache-ttl); close it when done."""
        return Responses(self.folder / "responses")

    def log_path(self, session_id: str) -> Path:
        """The session's structured log (JSON lines), written by runlog."""
        return self.folder / "logs" / f"{session_id}.jsonl"

    def journal(self, session_id: str) -> Journal:
        return Journal(self.journal_folder(session_id))

    @contextlib.contextmanager
    def lock(self, session_id: str) -> Iterator[None]:
        """Hold the session for this process; UsageError if another process holds it."""
        if sys.platform == "win32":  # no advisory file locks there yet: run unguarded
            yield
            return
        import fcntl

        folder = self.folder / "locks"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"{session_id}.lock"
        with path.open("a+") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.seek(0)
                holder = file.read().strip() or "unknown"
                raise UsageError(
                    f"Session {session_id} is being run by another process (pid {holder}); "
                    "wait for it to end, or stop it first."
                ) from None
            file.seek(0)
            file.truncate()
            file.write(str(os.getpid()))
            file.flush()
            path.chmod(0o600)
            try:
                yield
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)

    def new_session_id(self) -> str:
        while True:
            session_id = secrets.token_hex(SESSION_ID_BYTES)
            if session_id not in self._sessions:
                return session_id

    def save(self, session: Session) -> None:
        self._sessions.set(session.id, asdict(session))

    def session(self, id_or_prefix: str) -> Session:
        """The session with this id, or the only one whose id starts with it."""
        key = self._find(self._sessions, id_or_prefix, "session", "`excelfmt sessions list`")
        return Session(**self._sessions[key])

    def sessions(self) -> Iterator[Session]:
        """Every session, newest first."""
        records = (self._sessions.get(key) for key in list(self._sessions))
        found = [Session(**record) for record in records if record is not None]
        yield from sorted(found, key=lambda s: s.started_at, reverse=True)

    def delete_session(self, session_id: str) -> None:
        """The session's record, journal, log and lock (its errors go with `delete_errors`)."""
        import shutil

        shutil.rmtree(self.journal_folder(session_id), ignore_errors=True)
        (self.folder / "locks" / f"{session_id}.lock").unlink(missing_ok=True)
        self.log_path(session_id).unlink(missing_ok=True)
        self._sessions.delete(session_id)

    # --- rows that need a person -------------------------------------------------------

    def add_errors(self, errors: Iterable[RowError]) -> None:
        """Record new errors in one transaction; one already recorded is left as it is."""
        with self._errors.transact():
            for error in errors:
                self._errors.add(error.id, asdict(error))

    def save_error(self, error: RowError) -> None:
        self._errors.set(error.id, asdict(error))

    def error(self, id_or_prefix: str) -> RowError:
        """The error with this id, or the only one whose id starts with it."""
        key = self._find(self._errors, id_or_prefix, "error", "`excelfmt errors list`")
        return _row_error(self._errors[key])

    def errors(self, session_id: str | None = None) -> Iterator[RowError]:
        """Every recorded error (of one session), in no particular order."""
        for key in list(self._errors):
            record = self._errors.get(key)
            if record is not None and session_id in (None, record["session"]):
                yield _row_error(record)

    def delete_errors(self, ids: Iterable[str]) -> None:
        with self._errors.transact():
            for key in ids:
                self._errors.delete(key)

    def _find(self, cache: diskcache.Cache, id_or_prefix: str, kind: str, lister: str) -> str:
        """The key that is `id_or_prefix`, or the only key starting with it; else UsageError."""
        wanted = id_or_prefix.strip().lower()
        if wanted and wanted in cache:
            return wanted
        matches = [str(key) for key in cache if str(key).startswith(wanted)] if wanted else []
        if len(matches) > 1:
            shown = ", ".join(sorted(m[: SHORT_ID + 4] for m in matches)[:5])
            raise UsageError(
                f"The {kind} id {id_or_prefix!r} is ambiguous: it starts {shown}; give more of it."
            )
        if not matches:
            raise UsageError(f"No {kind} {id_or_prefix!r} in {self.folder}; {lister} shows them.")
        return matches[0]


def _row_error(record: dict[str, object]) -> RowError:
    error = RowError(**record)  # type: ignore[arg-type]
    error.fields = [(str(f), str(m)) for f, m in error.fields]  # JSON-like: lists come back
    return error


class Responses:
    """Answers kept for --cache-ttl, by request key; bounded in size, oldest dropped first."""

    SIZE_LIMIT = 1 << 30

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._answers = diskcache.Cache(
            str(folder), size_limit=self.SIZE_LIMIT, eviction_policy="least-recently-stored"
        )
        _owner_only(folder)

    def get(self, key: str) -> tuple[int, JSONValue] | None:
        found = self._answers.get(key)
        return None if found is None else (int(found[0]), found[1])

    def put(self, key: str, status: int, response: JSONValue, ttl: float) -> None:
        self._answers.set(key, (status, response), expire=ttl)

    def close(self) -> None:
        self._answers.expire()  # what has expired goes now, not when next looked up
        self._answers.close()
        _owner_only(self._folder)


class Journal:
    """The final outcome of each row of one session, by the row's position (seq).

    SQLite directly, not diskcache: the journal is written for every row, and diskcache
    spends three statements per item (look-up, insert, cull), 60-90 µs a row on this
    machine, a tenth of a 0 ms run's speed. A batch here is one `executemany` in one
    transaction, a few µs a row. WAL mode: a committed batch survives the process being
    killed, and the workbook process reads the journal while this one writes it.
    """

    def __init__(self, folder: Path) -> None:
        folder.parent.mkdir(mode=0o700, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        self._folder = folder
        # Used from one thread at a time, but not always the same one (worker threads).
        self._db = sqlite3.connect(
            folder / "journal.sqlite3", timeout=60, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outcome (seq INTEGER PRIMARY KEY, record TEXT NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        _owner_only(folder)

    def record(
        self,
        outcomes: Iterable[tuple[int, RecordedOutcome]],
        unsettled: Iterable[tuple[int, int]] | None = None,
    ) -> None:
        """Write a batch in one transaction: all of it is durable, or none. `unsettled`:
        the rows in flight besides (seq, row number), whose outcome is unknown if the
        process dies now."""
        rows = [(seq, json.dumps(outcome, ensure_ascii=False)) for seq, outcome in outcomes]
        with self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO outcome VALUES (?, ?)", rows)
            if unsettled is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('unsettled', ?)",
                    (json.dumps(list(unsettled)),),
                )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def unknown(self) -> list[int]:
        """Row numbers of the rows in flight when the run last recorded a batch that have
        no outcome since: perhaps sent, perhaps not. A resume sends them again."""
        found = self._db.execute("SELECT value FROM meta WHERE key = 'unsettled'").fetchone()
        in_flight = json.loads(found[0]) if found else []
        return sorted(number for seq, number in in_flight if self.get(seq) is None)

    def get(self, seq: int) -> RecordedOutcome | None:
        found = self._db.execute("SELECT record FROM outcome WHERE seq = ?", (seq,)).fetchone()
        return None if found is None else tuple(json.loads(found[0]))

    def close(self) -> None:
        self._db.close()
        _owner_only(self._folder)


def _owner_only(*folders: Path) -> None:
    """Whatever the umask, only the owner may read the store: each folder and its files.

    Not recursive: another process (a run's workbook side, a second command) may be
    creating and removing SQLite's transient files in folders nearby at this moment.
    """
    for folder in folders:
        with contextlib.suppress(FileNotFoundError):
            folder.chmod(0o700)
            for entry in os.scandir(folder):
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_file(follow_symlinks=False):
                        os.chmod(entry.path, 0o600)
