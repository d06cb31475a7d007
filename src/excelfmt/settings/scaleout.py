"""The settings of scale-out on a queue (Redis and BullMQ): a part of the settings table
(options.py), kept apart so that each file reads as one topic."""

from __future__ import annotations

from .converters import as_duration, as_flag, as_optional_text, as_queue_url, as_whole
from .option import Option

SCALEOUT_OPTIONS: tuple[Option, ...] = (
    Option(
        "queue",
        as_queue_url,
        None,
        "Send through workers on a queue: redis://host:port/db (rediss:// for TLS). A "
        "password in it is masked everywhere; put the URL in EXCELFMT_QUEUE to keep it off "
        "the command line. Needs the queue extra: pip install 'excelfmt[queue]'.",
        "URL",
    ),
    Option(
        "batch_rows",
        as_whole(1, 10_000),
        200,
        "With queue: rows per batch a worker takes at a time.",
        "number",
    ),
    Option(
        "rate_key",
        as_optional_text,
        None,
        "With queue: runs and workers with the same rate key share one rate, pause and "
        "breaker (default: the URL's scheme, host and port).",
        "text",
    ),
    Option(
        "lock_duration",
        as_duration(1, allow_minimum=True),
        30.0,
        "With queue: BullMQ's lock on a batch a worker holds, the backstop when no run "
        "watches: a run takes a batch from a worker whose heartbeat lapsed (4 s) at once.",
        "duration",
    ),
    Option(
        "no_local_worker",
        as_flag,
        False,
        "With queue: the run only reads, enqueues and collects; workers do all the sending "
        "(by default the run works on its own batches too, so it finishes with no worker up).",
        "flag",
    ),
)
