"""excelfmt's local store: one folder that keeps every run and what came of it.

The store lives in one folder ($EXCELFMT_HOME, the platform's user data folder, or
--store), readable by its owner only, since it holds what a run sent. `Store` opens it
and hands out its parts, each in a module of this package:

- session records (records.py), on diskcache here, with an index of them by start and
  input (sessionindex.py), so that a big store does not slow every start;
- rows that need a person (errortable.py), SQLite indexed by session;
- each session's journal (journal.py), plain SQLite: it is written for every row;
- a lock file per session (locks.py), so two processes cannot run one session;
- answers kept for --cache-ttl (responsecache.py);
- each session's structured log (runlog.py writes it).

Only this package touches diskcache and SQLite: another back end can take their place
behind the same small interface.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import diskcache

from ..errors import UsageError
from .errortable import ErrorFilter, ErrorTable
from .journal import Journal
from .locks import is_locked, session_lock
from .private import owner_only
from .records import SESSION_ID_BYTES, SHORT_ID, RowError, Session
from .sessionindex import SessionIndex

if TYPE_CHECKING:
    from .responsecache import Responses


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
            self._errors = ErrorTable(folder / "errors")
            self._index = SessionIndex(folder / "session-index")
            if self._index.count() != len(self._sessions):
                self._index.rebuild(self._every_session())
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
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
        self._index.close()
        self._private()

    def _private(self) -> None:
        owner_only(
            self.folder,
            self.folder / "sessions",
            self.folder / "errors",
            self.folder / "session-index",
        )

    def journal_folder(self, session_id: str) -> Path:
        return self.folder / "journals" / session_id

    def responses(self) -> Responses:
        """The response cache (--cache-ttl); close it when done."""
        from .responsecache import Responses  # only runs with a cache load anyio for it

        return Responses(self.folder / "responses")

    def log_path(self, session_id: str) -> Path:
        """The session's structured log (JSON lines), written by runlog."""
        return self.folder / "logs" / f"{session_id}.jsonl"

    def journal(self, session_id: str) -> Journal:
        return Journal(self.journal_folder(session_id))

    def lock(self, session_id: str) -> contextlib.AbstractContextManager[None]:
        """Hold the session for this process; UsageError if another process holds it."""
        return session_lock(self.folder / "locks", session_id)

    def is_locked(self, session_id: str) -> bool:
        """Whether a process is running the session now."""
        return is_locked(self.folder / "locks", session_id)

    def new_session_id(self) -> str:
        import secrets  # only a run makes sessions; reading them needs no random source

        while True:
            session_id = secrets.token_hex(SESSION_ID_BYTES)
            if session_id not in self._sessions:
                return session_id

    def save(self, session: Session) -> None:
        self._sessions.set(session.id, asdict(session))
        self._index.note(session)

    def session(self, id_or_prefix: str) -> Session:
        """The session with this id, or the only one whose id starts with it."""
        key = self._find(self._sessions, id_or_prefix, "session", "`excelfmt sessions list`")
        return Session(**self._sessions[key])

    def session_or_latest(self, id_or_prefix: str | None) -> Session:
        """The session with this id (or start of one), or without one the latest run."""
        if id_or_prefix:
            return self.session(id_or_prefix)
        for session in self.sessions():
            return session
        raise UsageError(f"No runs are recorded in {self.folder} yet.")

    def sessions(
        self, fingerprint: str | None = None, sheet: str | None = None
    ) -> Iterator[Session]:
        """Every session, newest first, read as it is reached; only the runs on this
        content (and sheet) when given."""
        for session_id in self._index.newest_first(fingerprint, sheet):
            record = self._sessions.get(session_id)
            if record is not None:  # deleted by another process since
                yield Session(**record)

    def _every_session(self) -> list[Session]:
        records = (self._sessions.get(key) for key in list(self._sessions))
        return [Session(**record) for record in records if record is not None]

    def delete_session(self, session_id: str) -> None:
        """The session's record, journal, log and lock (its errors go with `delete_errors`)."""
        import shutil

        shutil.rmtree(self.journal_folder(session_id), ignore_errors=True)
        for suffix in (".lock", ".pid"):
            (self.folder / "locks" / f"{session_id}{suffix}").unlink(missing_ok=True)
        self.log_path(session_id).unlink(missing_ok=True)
        self._sessions.delete(session_id)
        self._index.forget(session_id)

    # --- rows that need a person -------------------------------------------------------

    def add_errors(self, errors: Iterable[RowError]) -> None:
        """Record new errors in one transaction; one already recorded is left as it is."""
        self._errors.add(errors)

    def save_error(self, error: RowError) -> None:
        self._errors.save(error)

    def error(self, id_or_prefix: str) -> RowError:
        """The error with this id, or the only one whose id starts with it."""
        wanted = id_or_prefix.strip().lower()
        found = self._errors.get(wanted) if wanted else None
        if found is None:
            matches = self._errors.ids_starting(wanted, 6) if wanted else []
            key = self._one(id_or_prefix, matches, "error", "`excelfmt errors list`")
            found = self._errors.get(key)
            assert found is not None, "an id just listed"  # nothing deletes between the two
        return found

    def errors(
        self,
        session_id: str | None = None,
        *,
        state: str | None = None,
        category: str | None = None,
        matching: ErrorFilter | None = None,
    ) -> Iterator[RowError]:
        """The recorded errors (of one session; in one state, of one category; or those
        `matching`, which is then the whole filter): newest session first, each
        session's in sheet order; read as they are used."""
        where = matching or ErrorFilter(state, category)
        for session in [session_id] if session_id else self._sessions_with_errors():
            yield from self._errors.select(session, where)

    def error_page(
        self,
        session_id: str,
        offset: int,
        limit: int,
        *,
        state: str | None = None,
        category: str | None = None,
        matching: ErrorFilter | None = None,
    ) -> list[RowError]:
        """A page of one session's errors, in sheet order (`matching`: as for `errors`)."""
        where = matching or ErrorFilter(state, category)
        return list(self._errors.select(session_id, where, (offset, limit)))

    def count_errors(
        self,
        session_id: str | None = None,
        *,
        state: str | None = None,
        category: str | None = None,
        matching: ErrorFilter | None = None,
    ) -> int:
        where = matching or ErrorFilter(state, category)
        sessions = [session_id] if session_id else self._errors.sessions()
        return sum(self._errors.count(s, where) for s in sessions)

    def error_counts(self, session_id: str | None = None) -> dict[tuple[str, str], int]:
        """How many errors there are of each (category, state)."""
        return self._errors.counts(session_id)

    def delete_errors(self, ids: Iterable[str]) -> None:
        self._errors.delete(ids)

    def _sessions_with_errors(self) -> list[str]:
        """Newest session first; errors of sessions no longer recorded last."""
        order = {session_id: n for n, session_id in enumerate(self._index.newest_first())}
        return sorted(self._errors.sessions(), key=lambda s: (order.get(s, len(order)), s))

    def _find(self, cache: diskcache.Cache, id_or_prefix: str, kind: str, lister: str) -> str:
        """The key that is `id_or_prefix`, or the only key starting with it; else UsageError."""
        wanted = id_or_prefix.strip().lower()
        if wanted and wanted in cache:
            return wanted
        matches = [str(key) for key in cache if str(key).startswith(wanted)] if wanted else []
        return self._one(id_or_prefix, matches, kind, lister)

    def _one(self, id_or_prefix: str, matches: list[str], kind: str, lister: str) -> str:
        """The one id that matches, or a UsageError saying why there is none."""
        if len(matches) > 1:
            shown = ", ".join(sorted(m[: SHORT_ID + 4] for m in matches)[:5])
            raise UsageError(
                f"The {kind} id {id_or_prefix!r} is ambiguous: it starts {shown}; give more of it."
            )
        if not matches:
            raise UsageError(f"No {kind} {id_or_prefix!r} in {self.folder}; {lister} shows them.")
        return matches[0]
