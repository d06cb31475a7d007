"""Plain data that flows through a run: Row -> Job -> Outcome. Imports nothing local."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

JSONValue: TypeAlias = (
    "bool | int | float | Decimal | str | list[JSONValue] | dict[str, JSONValue] | None"
)
"""A JSON value; a Decimal is a number written with exactly its digits (calls.jobs)."""


class CellError(str):
    """An Excel error value in a cell (#N/A, #DIV/0!, ...): text, but never data to send."""

    __slots__ = ()


CellValue: TypeAlias = (
    str | int | float | Decimal | bool | datetime | date | time | timedelta | None
)
"""Decimal only where a column's type is decimal."""

RecordedOutcome: TypeAlias = tuple[str | None, int | None, str | None, JSONValue, float | None, int]
"""A row's outcome as a journal keeps it: category (None: ok), http_status, message,
response, latency, attempts."""


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of the sheet, as the reader found it."""

    seq: int
    """Position among the data rows read, from 0; results keep this order."""
    number: int
    """The row number Excel shows for it."""
    values: Mapping[str, CellValue]
    problem: str | None = None
    """Why a cell is not of its column's type ("amount: 'abc' is not a number"); such a
    row keeps its values as read and is never sent."""


@dataclass(frozen=True, slots=True)
class Job:
    """One HTTP request to make for one row, or the reason it cannot be made."""

    row: Row
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    problem: str | None = None
    """Set when the row failed local validation; such a job is never sent."""
    recorded: RecordedOutcome | None = None
    """The row's final outcome from the journal of the run being resumed; never sent."""


class Category(StrEnum):
    """Why a row did not succeed. The names are the ones users see and filter on."""

    REQUIRES_USER_ACTION = "REQUIRES_USER_ACTION"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE"
    SYSTEM_ERROR = "SYSTEM_ERROR"
    NETWORK_ERROR = "NETWORK_ERROR"
    AUTH_ERROR = "AUTH_ERROR"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The final result of one row: success when `category` is None."""

    row: Row
    category: Category | None
    http_status: int | None = None
    message: str | None = None
    """A short sentence: the API's error text, or what went wrong locally."""
    response: JSONValue = None
    """The response body (parsed JSON, or text), or the fields captured from it."""
    latency: float | None = None
    """Seconds the last attempt took, None when nothing was sent."""
    attempts: int = 0
    replayed: bool = False
    """Taken from the journal of the run being resumed, not sent again."""
    cached: bool = False
    """Answered from the response cache (--cache-ttl), without calling the API."""

    @classmethod
    def from_recorded(cls, row: Row, recorded: RecordedOutcome, replayed: bool = False) -> Outcome:
        category, status, message, response, latency, attempts = recorded
        return cls(
            row,
            Category(category) if category else None,
            status,
            message,
            response,
            latency,
            attempts,
            replayed,
        )

    @property
    def recorded(self) -> RecordedOutcome:
        """What the journal keeps of it (already redacted by the dispatcher)."""
        category = self.category.value if self.category else None
        return category, self.http_status, self.message, self.response, self.latency, self.attempts

    @property
    def ok(self) -> bool:
        return self.category is None

    @property
    def status(self) -> str:
        """What the results show in the status column: "ok" or the category."""
        return "ok" if self.category is None else self.category.value
