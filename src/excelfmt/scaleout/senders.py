"""What a queue worker keeps for each session it sends for: its settings, policies and
dispatcher (SessionSender); the run's own session, for the worker beside a run
(OwnSession); and the sender that notes each row just before it goes (MarkingSender)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from ..broker import keys
from ..broker.sharedpace import HoldSync
from ..calls.reply import Reply, SendsJobs
from ..models import Job
from ..policies.resilience import Policies
from ..sending.dispatch import Dispatcher
from ..settings.config import Settings


@dataclass
class SessionSender:
    """What a worker keeps for one session: its settings, policies and dispatcher."""

    settings: Settings
    policies: Policies
    dispatcher: Dispatcher
    hold: HoldSync
    closer: AsyncExitStack
    last_used: float
    active: int = 0

    @property
    def api(self) -> str:
        """The API it sends to, as scheme://host:port (a label in Prometheus's figures)."""
        return keys.default_rate_key(self.settings.url)


@dataclass(frozen=True)
class OwnSession:
    """A run's own session, for the worker beside it: sent with the run's dispatcher."""

    session: str
    settings: Settings
    dispatcher: Dispatcher
    hold: HoldSync


class MarkingSender:
    """A session's sender that tells `sent(session, seq)` of each row just before it goes:
    how a batch taken from this worker, were it to die, knows which rows may have reached
    the API (outbox.PUSH records the highest with the outcomes)."""

    def __init__(self, inner: SendsJobs, session: str, sent: Callable[[str, int], None]) -> None:
        self._inner = inner
        self._session = session
        self._sent = sent

    async def send(self, job: Job) -> Reply:
        self._sent(self._session, job.row.seq)
        return await self._inner.send(job)
