"""Wrong tokens per client address (serve): a handful a minute, then 429 for the rest of
it. Pure policy, on a fake clock."""

from __future__ import annotations

from excelfmt.serve.guessing import Guesses, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_after_its_share_until_the_window_has_gone_by():
    clock = Clock()
    guesses = Guesses(allowed=3, window=60.0, clock=clock)
    for _ in range(3):
        assert guesses.wait("10.0.0.7") == 0
        guesses.failed("10.0.0.7")
        clock.now += 1
    assert guesses.wait("10.0.0.7") == 57.0  # the first failure leaves the window then
    assert guesses.wait("10.0.0.8") == 0  # another address is not held for it
    clock.now += 57
    assert guesses.wait("10.0.0.7") == 0
    assert retry_after(0.2) == "1" and retry_after(56.1) == "57"


def test_memory_stays_bounded_however_many_addresses_try():
    clock = Clock()
    guesses = Guesses(allowed=1, clock=clock)
    for n in range(12_000):
        guesses.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(guesses._failures) == 10_000
    assert guesses.wait("10.0.46.223") > 0  # the latest are remembered
