"""The console's ways in and out: the login form, the page that asks before a ?token=
login (access.TokenInUrl), and logging out.

    GET  /login, POST /login     the session cookie, from a token (checked per address)
    POST /logout                 the cookie ended (with the page's CSRF token)
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .access import COOKIE, Access, client_address, refuse_foreign_origin, set_cookie
from .pagerender import cookie_of, render
from .tokens import Identity

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", title="Log in", next=_local(next), who=None)


def confirm_login(
    request: Request, token: str, wanted: Identity, current: Identity | None, next: str
) -> Response:
    """The page that asks before a ?token= login (access.TokenInUrl): a button that
    logs in with a POST from this site, which a page elsewhere cannot press."""
    return render(
        request,
        "confirm_login.html",
        title=f"Log in as {wanted.name}?",
        token=token,
        wanted=wanted,
        current=current,
        next=_local(next),
        who=current,
        csrf="",  # asked before the app: a logout from here needs the console's own page
    )


@router.post("/login")
def login(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
    refuse_foreign_origin(request)
    access: Access = request.app.state.access
    made = access.login(token.strip(), client_address(request))
    if made is None:
        return render(request, "login.html", 401, title="Log in", next=_local(next), who=None,
                      problem="That token is not one this server knows.")  # fmt: skip
    response = RedirectResponse(_local(next), status_code=303)
    set_cookie(response, request, made[0])
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    cookie = cookie_of(request)
    access: Access = request.app.state.access
    if cookie is not None and csrf == cookie.csrf:
        access.logout(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _local(target: str) -> str:
    """Only a path on this server: a login link cannot send anyone elsewhere (a browser
    reads //host and /\\host as another host)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"
