"""(HTTP status | exception) -> Category, table-driven; None means success.

The table is ARCHITECTURE.md's; per-API status rules from the settings come first, so a
user can say "409 means it already exists, count it as ok".
"""

from __future__ import annotations

from collections.abc import Mapping

from ..models import Category
from ..settings.options import SUCCESS
from .failures import CouldNotConnect, NoAnswerInTime, NoResponse

STATUS_TABLE: Mapping[int, Category] = {
    400: Category.REQUIRES_USER_ACTION,
    401: Category.AUTH_ERROR,
    403: Category.AUTH_ERROR,
    404: Category.REQUIRES_USER_ACTION,
    409: Category.REQUIRES_USER_ACTION,
    422: Category.REQUIRES_USER_ACTION,
    429: Category.TEMPORARY_FAILURE,
}


def classify_status(
    status: int, rules: Mapping[int, str] | None = None, *, retry_after: bool = False
) -> Category | None:
    """The category of a response with `status`; None when it counts as success."""
    if rules and status in rules:
        verdict = rules[status]
        return None if verdict == SUCCESS else Category(verdict)
    if 200 <= status < 300:
        return None
    if status in STATUS_TABLE:
        return STATUS_TABLE[status]
    if status == 503 and retry_after:
        # An API that says when to come back is shedding load, not broken.
        return Category.TEMPORARY_FAILURE
    if status >= 500:
        return Category.SYSTEM_ERROR
    return Category.UNKNOWN_ERROR


def classify_exception(exc: BaseException) -> Category:
    """The category of a request that got no response."""
    if isinstance(exc, NoResponse | OSError | TimeoutError):
        return Category.NETWORK_ERROR
    return Category.UNKNOWN_ERROR


def describe_exception(exc: BaseException) -> str:
    """A short sentence for a request that got no response."""
    if isinstance(exc, NoAnswerInTime | TimeoutError):
        return "The API did not answer in time (timeout)."
    if isinstance(exc, CouldNotConnect | ConnectionRefusedError):
        return f"Could not connect to the API ({_detail(exc)})."
    if isinstance(exc, NoResponse | OSError):
        return f"The connection to the API failed ({_detail(exc)})."
    return f"Unexpected error: {type(exc).__name__}: {_detail(exc)}"


def _detail(exc: BaseException) -> str:
    text = str(exc).strip() or (str(exc.__cause__).strip() if exc.__cause__ else "")
    return text or type(exc).__name__
