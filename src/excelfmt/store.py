"""excelfmt's local store: the record of every run (its session) and its journal.

The one module that touches diskcache: another back end can take its place behind the
same small interface. The store lives in one folder ($EXCELFMT_HOME, the platform's user
data folder, or --store), readable by its owner only, since it holds what a run sent.
Records are plain JSON-able dicts, so a record written by one version reads in the next.

The journal of a session holds the final outcome of each row, by its position in the
sheet; SQLite's write-ahead log (diskcache's default) makes a committed batch survive
the process being killed. A lock file per session keeps two processes from running it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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
        except (OSError, diskcache.Timeout) as exc:
            raise UsageError(f"Cannot open the store at {folder}: {exc}.") from None
        _owner_only(folder)

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
        _owner_only(self.folder)

    def journal_folder(self, session_id: str) -> Path:
        return self.folder / "journals" / session_id

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
        wanted = id_or_prefix.strip().lower()
        record = self._sessions.get(wanted) if wanted else None
        if record is None:
            matches = (
                [key for key in self._sessions if str(key).startswith(wanted)] if wanted else []
            )
            if len(matches) > 1:
                raise UsageError(
                    f"Session id {id_or_prefix!r} is ambiguous: it starts "
                    f"{', '.join(sorted(matches))}; give more of it."
                )
            if not matches:
                raise UsageError(
                    f"No session {id_or_prefix!r} in {self.folder}; "
                    "`excelfmt sessions list` shows them."
                )
            record = self._sessions.get(matches[0])
        return Session(**record)

    def sessions(self) -> Iterator[Session]:
        """Every session, newest first."""
        records = (self._sessions.get(key) for key in list(self._sessions))
        found = [Session(**record) for record in records if record is not None]
        yield from sorted(found, key=lambda s: s.started_at, reverse=True)


class Journal:
    """The final outcome of each row of one session, by the row's position (seq)."""

    def __init__(self, folder: Path) -> None:
        folder.parent.mkdir(mode=0o700, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        self._folder = folder
        self._rows = diskcache.Cache(
            str(folder), disk_min_file_size=1 << 30, eviction_policy="none"
        )
        _owner_only(folder)

    def record(self, outcomes: Iterable[tuple[int, RecordedOutcome]]) -> None:
        """Write a batch in one transaction: all of it is durable, or none."""
        with self._rows.transact():
            for seq, outcome in outcomes:
                self._rows.set(seq, outcome)

    def get(self, seq: int) -> RecordedOutcome | None:
        found = self._rows.get(seq)
        return None if found is None else tuple(found)

    def __len__(self) -> int:
        return len(self._rows)

    def close(self) -> None:
        self._rows.close()
        _owner_only(self._folder)


def _owner_only(folder: Path) -> None:
    """Whatever the umask, only the owner may read the store."""
    for root, folders, files in os.walk(folder):
        for name in folders:
            Path(root, name).chmod(0o700)
        for name in files:
            Path(root, name).chmod(0o600)
