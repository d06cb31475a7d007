"""The store's SQLite files (journals, row errors): one way to open them, one to write.

WAL mode: a committed transaction survives the process being killed, and readers in
other processes (the workbook process, `excelfmt status` in another terminal) go on
while a run writes. synchronous=NORMAL: durable against a crash of the process, which is
what a kill is; a power loss may take the last transactions, never corrupt the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def connect(path: Path, *schema: str) -> sqlite3.Connection:
    """The database at `path` in WAL mode, with `schema` statements run."""
    # Used from one thread at a time, but not always the same one (worker threads).
    db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for statement in schema:
        db.execute(statement)
    return db


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taken at once (BEGIN IMMEDIATE): all of it, or none."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
