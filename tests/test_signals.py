"""Stop signals reach the run the same way with anyio's receiver and Python's handlers."""

from __future__ import annotations

import signal

import anyio
import pytest

from excelfmt.sending.signals import stop_signals


@pytest.mark.parametrize("native", [True, False], ids=["anyio", "python-handlers"])
def test_ctrl_c_and_sigterm_arrive_as_a_stream_and_the_old_handlers_come_back(native):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    async def main() -> list[int]:
        got: list[int] = []
        with stop_signals(native=native) as received:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.raise_signal(signum)
                with anyio.fail_after(5):
                    got.append(await received.__anext__())
        return got

    assert anyio.run(main) == [signal.SIGTERM, signal.SIGINT]
    assert {s: signal.getsignal(s) for s in before} == before
