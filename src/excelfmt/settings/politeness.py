"""The settings of how fast and how politely a run sends: concurrency, rate, timeouts,
retries, the circuit breaker and the response cache. A part of the settings table
(options.py), kept apart so that each file reads as one topic."""

from __future__ import annotations

from .converters import (
    as_duration,
    as_fraction,
    as_methods,
    as_seconds,
    as_whole,
)
from .option import Option

POLITENESS_OPTIONS: tuple[Option, ...] = (
    Option(
        "concurrency",
        as_whole(1, 1000),
        16,
        "Most requests in flight at once; the live "
        "limit adapts between min_concurrency and this as the API allows.",
        "number",
    ),
    Option(
        "min_concurrency",
        as_whole(1, 1000),
        1,
        "Fewest requests in flight the adaptive "
        "limit goes down to; set it to concurrency for a fixed limit.",
        "number",
    ),
    Option(
        "rate",
        as_seconds(0, allow_minimum=True),
        0.0,
        "Most requests per second (0 = no cap of our own; the API's Retry-After and "
        "RateLimit headers are honoured either way).",
        "number",
    ),
    Option(
        "burst",
        as_whole(1, 100_000),
        1,
        "Requests that may go back to back before the rate applies.",
        "number",
    ),
    Option(
        "timeout",
        as_duration(0, allow_minimum=False),
        30.0,
        "Seconds to wait for connect and for each read of a response.",
        "duration",
    ),
    Option(
        "retries",
        as_whole(0, 100),
        5,
        "Retries of a row after a 429, 5xx or network "
        "error, with capped exponential backoff and jitter (Retry-After wins).",
        "number",
    ),
    Option(
        "retry_wait",
        as_duration(0, allow_minimum=False),
        0.5,
        "Longest first backoff "
        "before a retry; it doubles per retry (full jitter: a random wait up to it).",
        "duration",
    ),
    Option(
        "retry_max_wait",
        as_duration(0, allow_minimum=False),
        30.0,
        "The longest any backoff grows to.",
        "duration",
    ),
    Option(
        "retry_budget",
        as_seconds(0, allow_minimum=True),
        0.2,
        "Retries may add at most "
        "this share of first attempts over a sliding 10 s (0.2 = 20%); more wait.",
        "number",
    ),
    Option(
        "max_outage",
        as_duration(0, allow_minimum=False),
        300.0,
        "Stop the run (exit 3, "
        "resumable) when the API stays down this long; rows wait, they do not fail.",
        "duration",
    ),
    Option(
        "auth_failures",
        as_whole(1, 100_000),
        5,
        "Stop the run (exit 3) after this many "
        "401/403 answers in a row: the credentials are wrong.",
        "number",
    ),
    Option(
        "breaker_failure_rate",
        as_fraction,
        0.5,
        "Open the circuit breaker when this share of recent calls failed (5xx, network errors).",
        "number",
    ),
    Option(
        "breaker_window", as_whole(1, 100_000), 50, "Recent calls the breaker looks at.", "number"
    ),
    Option(
        "breaker_min_calls",
        as_whole(1, 100_000),
        20,
        "Calls the breaker needs before it judges.",
        "number",
    ),
    Option(
        "breaker_wait",
        as_duration(0, allow_minimum=False),
        5.0,
        "Seconds the breaker stays open before a probe; doubles on repeated trips, up to a minute.",
        "duration",
    ),
    Option(
        "slow_call",
        as_duration(0, allow_minimum=True),
        0.0,
        "A call slower than this counts as slow for the breaker (0 = off).",
        "duration",
    ),
    Option(
        "breaker_slow_rate",
        as_fraction,
        1.0,
        "Open the breaker when this share of recent calls was slow (1 = off).",
        "number",
    ),
    Option(
        "cache_ttl",
        as_duration(0, allow_minimum=True),
        0.0,
        "Answer a repeated request from the local store for this long (e.g. 10m, 1d) "
        "instead of calling the API again; 0 = off. Only for cache_methods.",
        "duration",
    ),
    Option(
        "cache_methods",
        as_methods,
        ("GET", "HEAD"),
        "Methods whose answers may be cached with cache_ttl: look-ups the API does not "
        "change anything for; repeatable.",
        "list",
    ),
)
