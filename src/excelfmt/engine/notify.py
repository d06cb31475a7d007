"""Tell someone how a run ended: POST its JSON summary to a URL (a chat webhook, a monitor).

Cron mail is read the next morning; a webhook is read now. A few tries with a short
timeout, so that a notification never holds a finished run for long; one that fails is
logged and reported, and changes nothing else: the run's outcome and exit code are what
they were.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable

import httpx

from .._version import __version__
from ..metrics.summary import RunSummary
from ..settings.config import Settings

ATTEMPTS = 3
TIMEOUT = 5.0
BACKOFF = 0.2
"""Seconds before the second try; doubled before the third."""

log = logging.getLogger(__name__)


def notify(
    settings: Settings, summary: RunSummary, *, sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """Send the notification the settings ask for. None when it was sent or not asked
    for; otherwise a sentence saying that it failed, and why (secrets masked)."""
    if not settings.notify_url or (settings.notify_on == "failure" and not summary.exit_code):
        return None
    body = {"event": "excelfmt.run.ended", **summary.to_json()}
    verify: ssl.SSLContext | bool = True
    if settings.ca_bundle is not None:
        verify = ssl.create_default_context(cafile=str(settings.ca_bundle))
    problem = ""
    with httpx.Client(timeout=TIMEOUT, verify=verify, proxy=settings.proxy) as client:
        for attempt in range(ATTEMPTS):
            if attempt:
                sleep(BACKOFF * 2 ** (attempt - 1))
            try:
                answer = client.post(
                    settings.notify_url,
                    json=body,
                    headers={"User-Agent": f"excelfmt/{__version__}"},
                )
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
                continue
            if answer.is_success:
                return None
            problem = f"HTTP {answer.status_code}"
            if answer.status_code < 500 and answer.status_code not in (408, 429):
                break  # refused, not busy: another try would be refused too
    said = (
        f"The notification of the run's end could not be sent ({problem}, "
        f"{attempt + 1} tries); the run's result is unchanged."
    )
    log.warning(settings.redactor()(said))
    return said
