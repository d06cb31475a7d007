"""Which sessions the store holds, newest first, and which ran on a given file.

Kept beside the session records so that finding the latest run (`status`) or the runs on
one workbook (every `run`'s resume check) reads only those records, not every one the
store has kept: a record takes ~0.1 ms to read, and a store of a year of hourly cron runs
made each of those commands a second slower. The records stay the truth: an index that
does not count as many sessions as they do (a store from before it, a process killed
between the two writes) is built again from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .private import owner_only
from .records import Session
from .sqlite import connect, transaction


class SessionIndex:
    """Session ids with what they are looked up by: start time, input fingerprint, sheet."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        self._folder = folder
        self._db = connect(
            folder / "index.sqlite3",
            "CREATE TABLE IF NOT EXISTS session (id TEXT PRIMARY KEY, started_at TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, sheet TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS newest ON session (started_at)",
            "CREATE INDEX IF NOT EXISTS by_file ON session (fingerprint, started_at)",
        )
        owner_only(folder)

    def note(self, session: Session) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO session VALUES (?, ?, ?, ?)",
            (session.id, session.started_at, session.fingerprint, session.sheet),
        )

    def forget(self, session_id: str) -> None:
        self._db.execute("DELETE FROM session WHERE id = ?", (session_id,))

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM session").fetchone()[0])

    def newest_first(self, fingerprint: str | None = None, sheet: str | None = None) -> list[str]:
        """Ids, newest first; only those of runs on this content (and sheet) if given."""
        query, given = "SELECT id FROM session", []
        conditions = []
        if fingerprint is not None:
            conditions.append("fingerprint = ?")
            given.append(fingerprint)
        if sheet is not None:
            conditions.append("sheet = ?")
            given.append(sheet)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        rows = self._db.execute(query + " ORDER BY started_at DESC, id", given)
        return [session_id for (session_id,) in rows]

    def rebuild(self, sessions: Iterable[Session]) -> None:
        rows = [(s.id, s.started_at, s.fingerprint, s.sheet) for s in sessions]
        with transaction(self._db):
            self._db.execute("DELETE FROM session")
            self._db.executemany("INSERT OR REPLACE INTO session VALUES (?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
        owner_only(self._folder)
