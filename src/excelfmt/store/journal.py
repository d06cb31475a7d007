"""A session's journal: the final outcome of each row, durable before the row counts as done."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..jsontext import readable
from ..models import RecordedOutcome
from .private import owner_only
from .sqlite import connect, transaction

ROWS_PER_STATEMENT = 128
"""Rows a statement inserts: 256 values, within any SQLite's limit (999 before 3.32)."""
_INSERT = "INSERT OR REPLACE INTO outcome VALUES "


class Journal:
    """The final outcome of each row of one session, by the row's position (seq).

    SQLite directly, not diskcache: the journal is written for every row, and diskcache
    spends three statements per item (look-up, insert, cull), 60-90 µs a row on this
    machine, a tenth of a 0 ms run's speed. A batch here is one transaction of a few
    statements, a few µs a row. WAL mode: a committed batch survives the process being
    killed, and the workbook process reads the journal while this one writes it.
    """

    def __init__(self, folder: Path) -> None:
        folder.parent.mkdir(mode=0o700, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        self._folder = folder
        self._db = connect(
            folder / "journal.sqlite3",
            "CREATE TABLE IF NOT EXISTS outcome (seq INTEGER PRIMARY KEY, record TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
        )
        owner_only(folder)

    def record(
        self,
        outcomes: Iterable[tuple[int, RecordedOutcome]],
        unsettled: Iterable[tuple[int, int]] | None = None,
    ) -> None:
        """Write a batch in one transaction: all of it is durable, or none. `unsettled`:
        the rows in flight besides (seq, row number), whose outcome is unknown if the
        process dies now."""
        values: list[int | str] = []
        for seq, outcome in outcomes:
            values += (seq, readable(outcome))
        with transaction(self._db):
            # A statement of many rows, not executemany: sqlite3 lets go of the GIL at
            # each statement step, and in a run the event loop's thread takes it every
            # time, a thread switch a row (journal CPU 25 -> 19 µs a row, measured).
            for start in range(0, len(values), 2 * ROWS_PER_STATEMENT):
                part = values[start : start + 2 * ROWS_PER_STATEMENT]
                self._db.execute(_INSERT + ",".join(["(?,?)"] * (len(part) // 2)), part)
            if unsettled is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('unsettled', ?)",
                    (json.dumps(list(unsettled)),),
                )

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
        owner_only(self._folder)
