"""The names of excelfmt's own keys in Redis (BullMQ's are bull:excelfmt:*), and how long
they live: an abandoned session's keys expire by themselves."""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlsplit

PREFIX = "excelfmt"
SESSION_TTL = 7 * 24 * 3600
"""Seconds a session's outcomes wait in Redis for the run to collect them (a resume)."""
DEAD_AFTER = 4.0
"""Seconds a worker's heartbeat key lasts: renewed every second while it lives, gone this
long after it dies (scaleout/heartbeat.py)."""
SESSIONS = f"{PREFIX}:sessions"
"""Sorted set of the sessions that use the queue, by last progress time."""


def outcomes(session: str) -> str:
    """List of [batch, records] pushed by workers, read and trimmed by the run."""
    return f"{PREFIX}:{session}:out"


def done(session: str, batch: str) -> str:
    """Set of the seqs of a batch whose outcomes are pushed: a second worker skips them."""
    return f"{PREFIX}:{session}:b:{batch}"


def session_pattern(session: str) -> str:
    """Every key of a session's own: deleted once all its rows are answered."""
    return f"{PREFIX}:{session}:*"


def progress(session: str) -> str:
    """Hash of a queued run's progress, for `excelfmt status` on any host."""
    return f"{PREFIX}:{session}:progress"


def worker(name: str) -> str:
    """A live worker's heartbeat: a hash (host, pid, rows, seen, ...) that expires."""
    return f"{PREFIX}:worker:{name}"


def holders(session: str) -> str:
    """Hash of a session's batches -> the worker that took each last (or TAKEN_OVER)."""
    return f"{PREFIX}:{session}:held"


def taken(session: str) -> str:
    """Hash of a session's batches -> the highest row (seq) a worker had taken from each to
    send, as of its last push: a batch taken from a dead worker was possibly sent up to
    there (feed.py counts those rows as possibly sent twice)."""
    return f"{PREFIX}:{session}:taken"


def lost(name: str) -> str:
    """A worker a run took batches from, having heard no heartbeat: when, and how many of
    its rows went to other workers; kept LOST_FOR s for the Queue page."""
    return f"{PREFIX}:lost:{name}"


def lost_pattern() -> str:
    return f"{PREFIX}:lost:*"


LOST_FOR = 3600
TAKEN_OVER = "-"
"""A batch's holder once the run has given it to another worker: the first holder's
pushes for it are refused, so a worker thought dead that was not stops sending it."""


def bullmq_lock(queue: str, job_id: str) -> str:
    """BullMQ's lock on an active job (bull:<queue>:<id>:lock), holding its worker's token."""
    return f"bull:{queue}:{job_id}:lock"


def worker_name() -> str:
    """This process's name as a worker: its host and pid, as the queue's tools show it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def node_worker_client(queue: str, worker_name: str) -> str:
    """The connection name BullMQ for Node (and bull-board, which uses it) looks for in
    CLIENT LIST to find a queue's workers: its prefix, the queue's name in base64, ":w:"
    and the worker's name. BullMQ for Python names its own connection without the base64
    (bull:excelfmt:w:NAME), which Node's getWorkers does not match."""
    encoded = base64.b64encode(queue.encode()).decode()
    return f"bull:{encoded}:w:{worker_name}"


def workers_pattern() -> str:
    return f"{PREFIX}:worker:*"


def pace(rate_key: str) -> str:
    return f"{PREFIX}:pace:{rate_key}"


def hold(rate_key: str) -> str:
    return f"{PREFIX}:hold:{rate_key}"


def default_rate_key(url: str) -> str:
    """The API a URL template calls, as scheme://host:port: runs and workers calling it
    share one rate. A host that is itself a {placeholder} is kept as written."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "http"
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    except ValueError:
        port = 0
    return f"{scheme}://{(parts.hostname or parts.netloc).lower()}:{port}"
