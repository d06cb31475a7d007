"""Ctrl-C and SIGTERM as an async stream, on POSIX and on Windows.

anyio's signal receiver rests on asyncio's `add_signal_handler`, which Windows lacks.
There, Python's own handler (it runs in the main thread, between bytecodes) hands the
signal to the event loop, which the Proactor loop's wake-up socket lets it notice at
once. The run reads the stream the same way on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals(*, native: bool | None = None) -> Iterator[AsyncIterator[int]]:
    """The stop signals received while inside, as signal numbers; call from the loop's
    thread. `native`: anyio's receiver (the default where the platform has one)."""
    if native is None:
        native = sys.platform != "win32"
    if native:
        with anyio.open_signal_receiver(*STOP_SIGNALS) as received:
            yield received
        return
    with _handled_by_python() as received:
        yield received


@contextlib.contextmanager
def _handled_by_python() -> Iterator[MemoryObjectReceiveStream[int]]:
    loop = asyncio.get_running_loop()
    send, receive = anyio.create_memory_object_stream[int](len(STOP_SIGNALS) * 4)

    def deliver(signum: int) -> None:
        with contextlib.suppress(anyio.WouldBlock, anyio.ClosedResourceError):
            send.send_nowait(signum)  # a full stream: the run has enough to go on

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(deliver, signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        with send, receive:
            yield receive
    finally:
        for signum, was in previous.items():
            signal.signal(signum, was)
