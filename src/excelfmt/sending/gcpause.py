"""The garbage collector set for a run, so that its pauses do not stall requests in flight."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_COLLECTION_THRESHOLD = 10_000
"""New objects between the garbage collector's youngest-generation passes during a run."""


@contextmanager
def collector_set_for_a_run() -> Iterator[None]:
    """Keep the interpreter's garbage collector from stalling the requests in flight.

    A full collection walks every tracked object: with typer, rich, httpx and aiohttp
    loaded that is some 60,000, a pause of 60-250 ms on this kind of machine, every few
    seconds. A pause that long stalls every request in flight, and the concurrency
    controller rightly reads it as the API queueing. Objects alive now live for the
    whole run anyway; frozen, they are no longer walked.

    The youngest generation is collected after 10,000 new objects, not 700: a row's
    objects die by reference counting. Over 30,000 rows the default ran ~190 passes of
    ~2.7 ms with little to free (about a thousand objects over the whole run): 3% of the
    sending process's CPU, and a stall of every request in flight each time.

    No collection before the freeze: at this point it walks everything to free a few
    dozen objects, and costs 70 ms of every run's start.
    """
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
