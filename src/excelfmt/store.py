"""excelfmt's local store: the record of every run (its session).

The one module that touches diskcache: another back end can take its place behind the
same small interface. The store lives in one folder ($EXCELFMT_HOME, the platform's user
data folder, or --store), readable by its owner only, since it holds what a run sent.
Records are plain JSON-able dicts, so a record written by one version reads in the next.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

import diskcache

from .errors import UsageError
from .models import JSONValue

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


def _owner_only(folder: Path) -> None:
    """Whatever the umask, only the owner may read the store."""
    for root, folders, files in os.walk(folder):
        for name in folders:
            Path(root, name).chmod(0o700)
        for name in files:
            Path(root, name).chmod(0o600)
