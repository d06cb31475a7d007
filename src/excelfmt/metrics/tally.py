"""Rows as they stand: each row's status code and, for a row that failed, its message.

What a run's figures say of its rows (the run page, `status`, the summary), counted for
every row it settled, those a resume took from the journal too; a reprocess renders
them again from the journal. The timeline counts something else: what was sent when.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..models import Outcome

MESSAGES_KEPT = 200
"""Distinct error messages counted; past that the rarest are forgotten (a message that
carries a row's own data would otherwise grow without bound)."""
MESSAGE_LENGTH = 120
TOP = 5
"""Messages a run's figures show."""


def status_code(outcome: Outcome) -> str:
    """The outcome's HTTP status as the figures name it; "none" when no answer came."""
    return str(outcome.http_status) if outcome.http_status is not None else "none"


def one_line(message: str) -> str:
    """A message as a figure shows it: on one line, cut at MESSAGE_LENGTH."""
    text = " ".join(message.split())
    return text if len(text) <= MESSAGE_LENGTH else text[: MESSAGE_LENGTH - 1] + "…"


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)

    def record(self, outcome: Outcome) -> None:
        self.statuses[status_code(outcome)] += 1
        if not outcome.ok and outcome.message:
            self.messages[one_line(outcome.message)] += 1
            if len(self.messages) > MESSAGES_KEPT:
                self.messages = Counter(dict(self.messages.most_common(MESSAGES_KEPT // 2)))

    def top_statuses(self) -> tuple[tuple[str, int], ...]:
        return tuple(self.statuses.most_common())

    def top_messages(self) -> tuple[tuple[str, int], ...]:
        return tuple(self.messages.most_common(TOP))
