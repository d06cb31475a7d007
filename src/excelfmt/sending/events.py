"""What a run tells the outside while it goes: the Observer protocol and its payloads.

The CLI's live view is one observer; the default ignores everything. Events are pushed
out; an observer never reaches back into the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..metrics.counters import Snapshot
from ..metrics.summary import RunSummary

if TYPE_CHECKING:
    from ..policies.resilience import LiveState  # a type only: anyio loads with it


@dataclass(frozen=True)
class RunInfo:
    """What a run is about to do, for the observer's first words."""

    input: Path
    sheet: str
    columns: tuple[str, ...]
    estimated_rows: int | None
    output: Path
    concurrency: int
    session: str | None = None
    """The id of the run's session in the store, when it is recorded."""


class Observer(Protocol):
    """Receives a run's events; the CLI's live view is one, the default ignores them."""

    def started(self, info: RunInfo) -> None: ...
    def progressed(self, snapshot: Snapshot, live: LiveState) -> None: ...
    def stopping(self, in_flight: int, reason: str | None) -> None: ...
    def noticed(self, text: str) -> None:
        """Something the person watching should know, once (a worker refused a batch)."""

    def finished(self, summary: RunSummary) -> None: ...


class SilentObserver:
    def started(self, info: RunInfo) -> None:
        pass

    def progressed(self, snapshot: Snapshot, live: LiveState) -> None:
        pass

    def stopping(self, in_flight: int, reason: str | None) -> None:
        pass

    def noticed(self, text: str) -> None:
        pass

    def finished(self, summary: RunSummary) -> None:
        pass


class Observers:
    """Several observers as one: each hears every event, in order."""

    def __init__(self, *observers: Observer) -> None:
        self._observers = observers

    def started(self, info: RunInfo) -> None:
        for observer in self._observers:
            observer.started(info)

    def progressed(self, snapshot: Snapshot, live: LiveState) -> None:
        for observer in self._observers:
            observer.progressed(snapshot, live)

    def stopping(self, in_flight: int, reason: str | None) -> None:
        for observer in self._observers:
            observer.stopping(in_flight, reason)

    def noticed(self, text: str) -> None:
        for observer in self._observers:
            observer.noticed(text)

    def finished(self, summary: RunSummary) -> None:
        for observer in self._observers:
            observer.finished(summary)
