"""The ASGI app `excelfmt serve` runs: FastAPI's routes inside the door's checks.

    HostGuard -> Door -> BodyLimit -> TokenInUrl -> [CORS, if --allow-origin] -> FastAPI
      routes: api_runs, api_errors, api_metrics; the console's pages and /static;
            /api/login, /api/logout; /api/openapi.json; /metrics

FastAPI over plain Starlette for the OpenAPI document it derives from the routes (every
route in it, kept true by construction), request validation that answers with what was
wrong, and dependencies through which each route names the role it needs (a test holds
every route to one). Its cost, pydantic, is paid by `serve` alone. No interactive docs
pages: FastAPI's load their scripts from a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from .._version import __version__
from . import api_errors, api_metrics, api_runs, errorspage, loginpages, pages
from .access import (
    COOKIE,
    Access,
    client_address,
    refuse_foreign_origin,
    set_cookie,
    viewer,
)
from .guards import BodyLimit, Door, HostGuard
from .options import ServeOptions
from .pagerender import is_page, problem_page
from .problems import Problem, handle_problem, problem_response


def create_app(options: ServeOptions, access: Access) -> ASGIApp:
    """The whole server: the FastAPI app wrapped in the door's checks."""
    api = FastAPI(
        title="excelfmt",
        version=__version__,
        summary="Send every row of a workbook to an API; account for every row.",
        openapi_url=None,  # served below, behind a token like every other route
        docs_url=None,
        redoc_url=None,
    )
    api.state.options = options
    api.state.access = access
    api.add_exception_handler(Problem, _problem)
    api.add_exception_handler(HTTPException, _http_problem)
    api.add_exception_handler(RequestValidationError, _invalid)
    for module in (api_runs, api_errors, api_metrics):
        api.include_router(module.router)
    api.add_api_route(
        "/api/openapi.json", _openapi, methods=["GET"], include_in_schema=False,
        dependencies=[Depends(viewer)],
    )  # fmt: skip
    _mount_metrics(api, options)
    api.add_api_route("/api/login", login, methods=["POST"])
    api.add_api_route("/api/logout", logout, methods=["POST"])
    api.include_router(loginpages.router)
    api.include_router(pages.router)
    api.include_router(errorspage.router)
    api.add_exception_handler(pages.LoginNeeded, pages.login_redirect)
    static = Path(__file__).with_name("static")
    api.mount("/static", StaticFiles(directory=static), name="static")
    app: ASGIApp = api
    if options.allow_origins:
        from starlette.middleware.cors import CORSMiddleware

        app = CORSMiddleware(
            app,
            allow_origins=list(options.allow_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
        )
    from .access import TokenInUrl

    app = TokenInUrl(app, access, loginpages.confirm_login)
    app = BodyLimit(app, options.max_upload)
    app = Door(app, access.knows)
    return HostGuard(app, options.host_names())


def _mount_metrics(api: FastAPI, options: ServeOptions) -> None:
    """GET /metrics in Prometheus's format, behind a token unless --metrics-public.
    prometheus_client is imported at the first scrape: a tenth of serve's start."""
    made: list[Any] = []

    def metrics() -> Response:
        """What every run in the store adds up to, per API: rows by outcome, requests by
        status class, retries, latency; in flight, limit and breaker of the runs going."""
        from prometheus_client import CONTENT_TYPE_LATEST

        if not made:
            from ..metrics.prometheus import Exposition
            from .figures import StoreFigures

            figures = StoreFigures(options.store)
            made.append(Exposition(figures.live, figures.totals))
        return Response(made[0].text(), media_type=CONTENT_TYPE_LATEST)

    guard = [] if options.metrics_public else [Depends(viewer)]
    api.add_api_route("/metrics", metrics, methods=["GET"], dependencies=guard)


def _openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of every route."""
    return JSONResponse(request.app.openapi())


def login(
    request: Request, body: Annotated[dict[str, Any], Body(examples=[{"token": "..."}])]
) -> Response:
    """Trade a token for the session cookie (HttpOnly, SameSite=Strict); the answer
    carries the CSRF token every change made with the cookie must send."""
    refuse_foreign_origin(request)
    access: Access = request.app.state.access
    made = access.login(str(body.get("token", "")), client_address(request))
    if made is None:
        return problem_response(401, "The token is not one this server knows.")
    key, session = made
    response = JSONResponse(
        {"name": session.identity.name, "role": session.identity.role, "csrf": session.csrf}
    )
    set_cookie(response, request, key)
    return response


def logout(request: Request) -> Response:
    """End the cookie session."""
    access: Access = request.app.state.access
    access.logout(request.cookies.get(COOKIE, ""))
    response = JSONResponse({"logged_out": True})
    response.delete_cookie(COOKIE, path="/")
    return response


async def _problem(request: Request, exc: Exception) -> Response:
    """A refusal: problem details (JSON) for a program, a page for a person's page."""
    assert isinstance(exc, Problem)
    if is_page(request) and exc.status != 429:
        return problem_page(request, exc.status, exc.detail)
    return await handle_problem(request, exc)


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = str(exc.detail)
    if exc.status_code == 404 and is_page(request):
        detail = "There is no page here; the runs are at /."
    return await _problem(request, Problem(exc.status_code, detail))


async def _invalid(request: Request, exc: Exception) -> Response:
    """A request FastAPI could not read: the first thing wrong with it, as a sentence."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    said = f"{where or 'The request'}: {first.get('msg', 'is not valid')}."
    return await _problem(request, Problem(422, said))
