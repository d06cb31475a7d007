"""The journal keeps every row of a batch, however large, as a resume reads it back."""

from __future__ import annotations

from pathlib import Path

from excelfmt.models import RecordedOutcome
from excelfmt.store.journal import ROWS_PER_STATEMENT, Journal


def test_a_batch_of_many_statements_keeps_every_row_and_the_last_word_on_each(tmp_path: Path):
    journal = Journal(tmp_path / "session")
    count = 2 * ROWS_PER_STATEMENT + 3  # three statements, the last one short
    batch: list[tuple[int, RecordedOutcome]] = [
        (seq, (None, 201, None, {"id": seq, "name": "Zoë"}, 0.01, 1)) for seq in range(count)
    ]
    batch.append((7, ("TEMPORARY_FAILURE", 503, "busy", None, 0.5, 3)))  # the same row again
    journal.record(batch, unsettled=[(count, count + 2)])
    journal.close()

    reopened = Journal(tmp_path / "session")
    assert reopened.get(0) == (None, 201, None, {"id": 0, "name": "Zoë"}, 0.01, 1)
    assert reopened.get(count - 1) == (None, 201, None, {"id": count - 1, "name": "Zoë"}, 0.01, 1)
    assert reopened.get(7) == ("TEMPORARY_FAILURE", 503, "busy", None, 0.5, 3)
    assert reopened.get(count) is None
    assert reopened.unknown() == [count + 2]  # in flight when the batch was written
