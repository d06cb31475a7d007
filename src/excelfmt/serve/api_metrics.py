"""How the APIs and the pool are doing, over HTTP; the profiles on offer; who is asking.

GET  /api/metrics/api                 each API host's runs over a period (metrics --since)
GET  /api/metrics/worker-pool         running runs' pools (in flight, limit, breaker),
                                      and with --queue the queue's workers and batches
POST /api/metrics/performance-test    {"profile", "iterations"}: pool vs direct (bench)
GET  /api/profiles                    the profiles, settings masked
GET  /api/whoami                      the token's name and role (and the CSRF token)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from ..store import sessions as records
from .access import COOKIE, operator, viewer
from .api_runs import options_of, store_of
from .problems import Problem, usage_as
from .tokens import Identity

router = APIRouter(prefix="/api")
MOST_ITERATIONS = 10_000


@router.get("/metrics/api", dependencies=[Depends(viewer)])
def api_metrics(request: Request, since: str = "7d") -> dict[str, Any]:
    """Each API host's runs started within `since` (7d, 12h): rows, rates, latency."""
    from ..engine.metricsdata import hosts_metrics

    with store_of(request) as store, usage_as(422):
        return hosts_metrics(store, since, "since")


@router.get("/metrics/worker-pool", dependencies=[Depends(viewer)])
def worker_pool(request: Request) -> dict[str, Any]:
    """The runs going now, each with its pool: requests in flight, the adaptive limit,
    the breaker; with --queue, the queue's workers and batches too."""
    running = []
    with store_of(request) as store:
        for session in store.sessions():
            if records.shown_state(store, session) != "running":
                continue
            progress = session.progress
            running.append(
                {
                    "session": session.id,
                    "input": Path(session.input).name,
                    **{k: progress.get(k) for k in ("in_flight", "limit", "breaker", "rows_per_s")},
                }
            )
    pool: dict[str, Any] = {"runs": running}
    queue = options_of(request).queue
    if queue:
        from ..scaleout.status import queue_status

        status = queue_status(queue, lambda text: None)
        pool["queue"] = {"workers": status.workers, "batches": status.batches}
    return pool


@router.post("/metrics/performance-test")
def performance_test(
    request: Request,
    body: Annotated[dict[str, Any], Body(examples=[{"profile": "orders", "iterations": 20}])],
    identity: Identity = Depends(operator),
) -> dict[str, Any]:
    """N requests one at a time, then N through the pool, to a profile's URL (`bench`).
    It takes a profile, never a URL: the server's credentials go only where it says."""
    options = options_of(request)
    extra = set(body) - {"profile", "iterations", "confirm"}
    if extra:
        raise Problem(
            422,
            f"{sorted(extra)[0]!r} cannot be set by a request; the performance test takes "
            '{"profile": NAME, "iterations": N} and sends to the profile\'s URL.',
        )
    name, iterations = body.get("profile"), body.get("iterations", 20)
    profile = options.profiles.get(str(name))
    if profile is None:
        raise Problem(404, f"No profile named {name!r}.")
    if not isinstance(iterations, int) or not 1 <= iterations <= MOST_ITERATIONS:
        raise Problem(422, f"iterations must be a whole number from 1 to {MOST_ITERATIONS}.")
    from ..engine.bench import bench, check_bench

    with usage_as(422):
        check_bench(profile.settings, iterations, confirmed=body.get("confirm") is True)
    report = bench(profile.settings, iterations)
    return {
        "profile": profile.name,
        "url": profile.settings.url,
        "iterations": iterations,
        "direct_per_s": round(report.direct.per_second, 1),
        "pool_per_s": round(report.pool.per_second, 1),
        "speedup": round(report.speedup, 2),
        "by": identity.name,
    }


@router.get("/profiles", dependencies=[Depends(viewer)])
def profiles(request: Request) -> dict[str, Any]:
    """The profiles a run can use, their settings masked."""
    return {"profiles": [p.public() for p in options_of(request).profiles.values()]}


@router.get("/whoami")
def whoami(request: Request, identity: Identity = Depends(viewer)) -> dict[str, Any]:
    """The token's name and role; with the session cookie, the CSRF token its changes need."""
    access = request.app.state.access
    cookie = access.session(request.cookies.get(COOKIE))
    return {
        "name": identity.name,
        "role": identity.role,
        "csrf": cookie.csrf if cookie is not None else None,
    }
