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
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class ErrorFilter:
    """Which of a session's errors: each field given narrows them, all must hold. The
    text ones match in any case; in SQL over each record, so a page of tens of thousands
    of errors is found without reading them into Python (casefold, Python's, is the one
    function called per record: SQLite's lower() folds ASCII only)."""

    state: str | None = None
    category: str | None = None
    status: int | None = None
    """The API's HTTP status; 0 for no answer (a network error)."""
    message: str | None = None
    """Text the API's message contains."""
    column: str | None = None
    """A column the API refused (a field error naming it)."""
    search: str | None = None
    """Text any of the row's cells contains."""
    after: int | None = None
    """Only errors after the one at this position (its seq) in sheet order."""

    def where(self, session: str) -> tuple[str, tuple[str | int, ...]]:
        clauses: list[str] = ["session = ?"]
        args: list[str | int] = [session]
        for column, value in (("state", self.state), ("category", self.category)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.after is not None:
            clauses.append("seq > ?")
            args.append(self.after)
        if self.status is not None:
            clauses.append("coalesce(json_extract(record, '$.http_status'), 0) = ?")
            args.append(self.status)
        if self.message:
            clauses.append("instr(casefold(json_extract(record, '$.message')), ?) > 0")
            args.append(self.message.casefold())
        if self.column:  # as rowerrors.matching_column: Amount, amount, body.Amount, /amount
            field = "casefold(json_extract(value, '$[0]'))"
            clauses.append(
                f"EXISTS (SELECT 1 FROM json_each(record, '$.fields') WHERE trim({field}, '/') = ?"
                f" OR substr({field}, -length(?) - 1) IN ('.' || ?, '/' || ?))"
            )
            args += [self.column.casefold()] * 4
        if self.search:
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(record, '$.values')"
                " WHERE instr(casefold(value), ?) > 0)"
            )
            args.append(self.search.casefold())
        return " AND ".join(clauses), tuple(args)


class ErrorTable:
    """The errors in `folder`; close it when done."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        self._folder = folder
        self._db = connect(folder / _FILE, *_SCHEMA)
        self._db.create_function("casefold", 1, _casefold, deterministic=True)
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
        self, session: str, matching: ErrorFilter, page: tuple[int, int] | None = None
    ) -> Iterator[RowError]:
        """One session's errors in sheet order, read as they are used; `page`: (offset,
        limit), for a page of 100,000 errors without reading those before it."""
        where, args = matching.where(session)
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

    def count(self, session: str, matching: ErrorFilter) -> int:
        where, args = matching.where(session)
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


def _casefold(value: object) -> str | None:
    """SQL's casefold(x): x as text, case folded as Python folds it (None stays NULL)."""
    return None if value is None else str(value).casefold()
