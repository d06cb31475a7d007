"""How the console's pages are answered: a Jinja2 template under the console's headers
(its CSP: no inline script or style, nothing from another origin), and a refusal or
an error on a page as a page saying it, never as JSON (JSON is for /api/).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from .access import COOKIE, Access, CookieSession

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
JSON_PATHS = ("/api/", "/metrics", "/static/")
"""Paths whose answers are for programs: refusals there stay problem details (JSON)."""


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = getattr(render, "environment", None)
    if environment is None:
        environment = Environment(
            loader=PackageLoader("excelfmt.serve", "templates"),
            autoescape=select_autoescape(default=True),
        )
        render.environment = environment  # type: ignore[attr-defined]
    context.setdefault("who", getattr(request.state, "identity", None))
    if "csrf" not in context:
        cookie = cookie_of(request)
        context["csrf"] = cookie.csrf if cookie else ""
    page = environment.get_template(template).render(**context)
    return HTMLResponse(page, status, headers=security_headers())


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def cookie_of(request: Request) -> CookieSession | None:
    access: Access = request.app.state.access
    return access.session(request.cookies.get(COOKIE))


def is_page(request: Request) -> bool:
    """Whether the request is for a page a person reads (not /api/, /metrics, /static)."""
    return not request.url.path.startswith(JSON_PATHS) and request.url.path != "/metrics"


def problem_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """A refusal or an error on a page, as a page: the sentence, and what the person may
    do instead (a viewer sent to an operator's page is told what a viewer may do)."""
    who = getattr(request.state, "identity", None)
    viewer = status == 403 and who is not None and not who.operates
    title = HTTPStatus(status).phrase
    return render(request, "problem.html", status, title=title, detail=detail, viewer=viewer)
