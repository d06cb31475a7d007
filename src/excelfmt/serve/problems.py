"""Errors as RFC 9457 problem details, carrying the sentence the CLI would print.

raise Problem(404, "No session matches 'abc'.")  ->  404 application/problem+json
{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "..."}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import InputError, UsageError

T = TypeVar("T")
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def problem_response(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status, headers=headers, media_type=MEDIA_TYPE)


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.detail, exc.headers)


@contextmanager
def usage_as(status: int) -> Iterator[None]:
    """A UsageError inside (an unknown id, a wrong value), or an InputError (a file that
    cannot be read: a broken fix workbook), as a problem of `status`."""
    try:
        yield
    except (UsageError, InputError) as exc:
        raise Problem(status, str(exc)) from None


def found(lookup: Callable[[], T]) -> T:
    """What `lookup` finds; its UsageError ("No session matches ...") as a 404."""
    with usage_as(404):
        return lookup()
