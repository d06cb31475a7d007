"""How runs went, read from the store: one session's metrics, or every API's over a period
(`excelfmt metrics`, `report`, and serve's /api/metrics/api)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..errors import UsageError
from ..metrics.digest import Digest, api_host, hosts_json, session_json
from ..metrics.timeline import Closed
from ..models import JSONValue
from ..settings.converters import as_duration
from ..store import sessions
from ..store.folder import Store
from ..store.records import Session
from ..store.runfigures import RunFigures, run_figures
from ..store.timeseries import read_timeseries


def session_metrics(store: Store, session_id: str | None) -> dict[str, JSONValue]:
    """One session's metrics (the latest session's without an id): its rows as they
    stand (run_figures, as its page and `status` say), its pace from its timeline."""
    session = store.session_or_latest(session_id)
    closed = read_timeseries(store.journal_folder(session.id))
    figures = run_figures(store, session)
    shown = session_json(_about(store, session), closed, standing(figures, closed))
    return {**shown, **{k: v for k, v in figures.to_json().items() if k not in shown}}


def standing(figures: RunFigures, closed: Closed) -> Digest:
    """A session's timeline digest, its counts as its rows stand."""
    digest = Digest.of(closed)
    if not figures.rows:  # a record without figures (a run that died at once): as sent
        return digest
    return digest.standing(figures.rows, figures.ok, figures.categories, figures.statuses)


def _about(store: Store, session: Session) -> dict[str, JSONValue]:
    return {
        "session": session.id,
        "input": session.input,
        "sheet": session.sheet,
        "api_host": api_host(session.settings.get("url")),
        "state": sessions.shown_state(store, session),
        "started_at": session.started_at,
        "finished_at": session.finished_at,
        "settings": session.settings,  # recorded with secrets masked
    }


def hosts_metrics(store: Store, since: str, flag: str = "--since") -> dict[str, JSONValue]:
    """Every API host's runs started within `since` (7d, 12h) until now."""
    try:
        seconds = as_duration(0, allow_minimum=False)(since)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}.") from None
    cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    chosen = [s for s in store.sessions() if datetime.fromisoformat(s.started_at) >= cutoff]
    return hosts_json(
        since,
        (
            (
                api_host(s.settings.get("url")),
                standing(run_figures(store, s), read_timeseries(store.journal_folder(s.id))),
            )
            for s in chosen
        ),
    )
