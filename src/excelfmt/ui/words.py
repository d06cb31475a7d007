"""Counts in sentences: "1 row", "2 rows", "1,204 rows"."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`number` with `noun`, pluralised by an s unless `plural` says otherwise."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
