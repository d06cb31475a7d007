"""Rows that need a person, across sessions: one SQLite table, indexed by session.

SQLite directly, as for the journal: `errors list --session` must read one session's
errors, not every error in the store. diskcache, which kept them before, has no index
but the key: listing one session read every record, ~35 µs an error. Each error is a
JSON record plus the columns it is chosen by. WAL mode: the workbook process adds
errors while a command in another terminal reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from .private import owner_only
from .records import RowError, row_error_from
from .sqlite import connect, transaction

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS error (id TEXT PRIMARY KEY, session TEXT NOT NULL,"
    " seq INTEGER NOT NULL, category TEXT NOT NULL, state TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS error_by_session ON error (session, seq)",
)
_FILE = "errors.sqlite3"
_DISKCACHE_FILES = ("cache.db", "cache.db-wal", "cache.db-shm")
"""What the errors folder held when the errors were kept on diskcache."""


class ErrorTable:
    """The errors in `folder`; close it when done."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        self._folder = folder
        self._db = connect(folder / _FILE, *_SCHEMA)
        self._take_over_diskcache()
        owner_only(folder)

    def add(self, errors: Iterable[RowError]) -> None:
        """Record new errors in one transaction; one already recorded is left as it is."""
        with transaction(self._db):
            self._db.executemany(
                "INSERT OR IGNORE INTO error VALUES (?, ?, ?, ?, ?, ?)", map(_row, errors)
            )

    def save(self, error: RowError) -> None:
        with transaction(self._db):
            self._db.execute("INSERT OR REPLACE INTO error VALUES (?, ?, ?, ?, ?, ?)", _row(error))

    def ids_starting(self, prefix: str, limit: int) -> list[str]:
        """Up to `limit` ids that start with `prefix` (ids are lower-case hex)."""
        found = self._db.execute(
            "SELECT id FROM error WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (prefix, prefix + "g", limit),
        )
        return [key for (key,) in found]

    def get(self, error_id: str) -> RowError | None:
        found = self._db.execute("SELECT record FROM error WHERE id = ?", (error_id,)).fetchone()
        return None if found is None else row_error_from(json.loads(found[0]))

    def sessions(self) -> list[str]:
        """The sessions that have errors."""
        return [s for (s,) in self._db.execute("SELECT DISTINCT session FROM error")]

    def select(
        self,
        session: str,
        state: str | None = None,
        category: str | None = None,
        page: tuple[int, int] | None = None,
    ) -> Iterator[RowError]:
        """One session's errors in sheet order, read as they are used; `page`: (offset,
        limit), for a page of 100,000 errors without reading those before it."""
        where, args = _where(session, state, category)
        query = f"SELECT record FROM error WHERE {where} ORDER BY seq"
        paged: tuple[str | int, ...] = args
        if page is not None:
            query += " LIMIT ? OFFSET ?"
            paged = (*args, page[1], page[0])
        for (record,) in self._db.execute(query, paged):
            yield row_error_from(json.loads(record))

    def counts(self, session: str | None = None) -> dict[tuple[str, str], int]:
        """How many errors there are of each (category, state)."""
        where, args = ("session = ?", (session,)) if session else ("1", ())
        query = f"SELECT category, state, COUNT(*) FROM error WHERE {where} GROUP BY 1, 2"
        return {(c, s): n for c, s, n in self._db.execute(query, args)}

    def count(self, session: str, state: str | None = None, category: str | None = None) -> int:
        where, args = _where(session, state, category)
        query = f"SELECT COUNT(*) FROM error WHERE {where}"
        return int(self._db.execute(query, args).fetchone()[0])

    def delete(self, ids: Iterable[str]) -> None:
        with transaction(self._db):
            self._db.executemany("DELETE FROM error WHERE id = ?", ((i,) for i in ids))

    def close(self) -> None:
        self._db.close()
        owner_only(self._folder)

    def _take_over_diskcache(self) -> None:
        """Move errors an earlier version kept on diskcache into the table, once."""
        old = self._folder / _DISKCACHE_FILES[0]
        if not old.exists():
            return
        import diskcache

        with transaction(self._db):  # a second process waits here, then finds nothing left
            if not old.exists():
                return
            cache = diskcache.Cache(str(self._folder), eviction_policy="none")
            try:
                records = (cache.get(key) for key in list(cache))
                self._db.executemany(
                    "INSERT OR IGNORE INTO error VALUES (?, ?, ?, ?, ?, ?)",
                    (_row(row_error_from(r)) for r in records if r is not None),
                )
            finally:
                cache.close()
        for name in _DISKCACHE_FILES:
            (self._folder / name).unlink(missing_ok=True)


def _row(error: RowError) -> tuple[str, str, int, str, str, str]:
    record = json.dumps(asdict(error), ensure_ascii=False)
    return error.id, error.session, error.seq, error.category, error.state, record


def _where(session: str, state: str | None, category: str | None) -> tuple[str, tuple[str, ...]]:
    clauses, args = ["session = ?"], [session]
    for column, value in (("state", state), ("category", category)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    return " AND ".join(clauses), tuple(args)
