"""The plain tables of `errors list` and `sessions list` (ui/plaintable.py)."""

from __future__ import annotations

import pytest

from excelfmt.ui.plaintable import render


def test_columns_are_padded_and_numbers_right_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    shown = render(("id", "rows", "input"), [["a1", "5", "in.xlsx"], ["b22", "1200", "x"]],
                   right=frozenset({1}))  # fmt: skip
    assert shown.splitlines() == [
        "id   rows  input",
        "a1      5  in.xlsx",
        "b22  1200  x",
    ]


def test_the_last_column_folds_to_the_width_asked_and_stays_in_its_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    message = "Validation failed: the amount must be a positive number"
    lines = render(("id", "message"), [["a1", message]]).splitlines()
    assert all(len(line) <= 30 for line in lines)
    assert lines[1].startswith("a1  Validation") and lines[2].startswith("    ")
    assert " ".join(part.strip() for part in lines[1:]).removeprefix("a1 ").strip() == message


def test_piped_without_columns_a_row_stays_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    message = "x" * 300
    assert len(render(("id", "message"), [["a1", message]]).splitlines()) == 2
