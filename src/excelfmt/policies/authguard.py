"""Tell wrong credentials from a few refused rows, by the order outcomes arrive in.

A run of `limit` AUTH_ERROR (401/403) outcomes with no success between them means the
credentials are wrong: the run should stop, and those rows were never really tried, so
they are not recorded as failed (a later run sends them). A shorter run of them, ended by
a success or by the end of the run, is a handful of rows the API refused: those are
recorded as failures for a person to look at. AUTH_ERROR outcomes are therefore held back
until their streak is decided.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import Category, Outcome


class AuthGuard:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.tripped = False
        self._held: list[Outcome] = []

    def admit(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """The outcomes that may be recorded now, in arrival order."""
        passed: list[Outcome] = []
        for outcome in outcomes:
            if outcome.category is not Category.AUTH_ERROR:
                if outcome.ok:
                    passed += self._held  # a success: the streak was only refused rows
                    self._held = []
                passed.append(outcome)
            elif not self.tripped:
                self._held.append(outcome)
                if len(self._held) >= self.limit:
                    self.tripped = True
                    self._held = []  # wrong credentials: these rows were never tried
        return passed

    def release(self) -> list[Outcome]:
        """At the end of the run: a streak that never reached the limit is recorded."""
        held, self._held = self._held, []
        return [] if self.tripped else held
