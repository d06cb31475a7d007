"""What the store keeps of a run and of a row that needs a person: plain records.

Records are plain JSON-able dataclasses, so a record written by one version reads in the
next. Ids are short enough to type; any unique prefix of one finds it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from ..models import JSONValue

SESSION_ID_BYTES = 4
"""Session ids are 8 hex digits: short enough to type, and any unique prefix works."""
ERROR_ID_DIGITS = 16
"""Error ids are hashes of session and row: the same row's error always has the same id,
so recording it twice (a resume replaying it) is harmless. People see the first 8 digits."""
SHORT_ID = 8
STATES = ("open", "resolved", "reprocessed")
"""What becomes of a row that needs a person: waiting, closed by hand, or sent again."""


def now() -> str:
    """The time of a change to an error, as the store keeps it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


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


def error_json(error: RowError) -> dict[str, object]:
    """An error as `errors list --json` and serve's routes show it."""
    return {"short_id": error.short_id, **asdict(error)}


def row_error_from(record: dict[str, object]) -> RowError:
    """A RowError from its stored dict (JSON-like: tuples come back as lists)."""
    error = RowError(**record)  # type: ignore[arg-type]
    error.fields = [(str(f), str(m)) for f, m in error.fields]  # JSON-like: lists come back
    return error
