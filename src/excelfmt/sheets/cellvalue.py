"""What a worksheet cell holds, as openpyxl reads it (data only) and excelfmt keeps it:
the one meaning both row readers (plainrows, expatrows) give a cell's type, style and text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from ..models import CellError, CellValue
from .numfmt import displayed
from .ooxml import from_excel, from_iso8601, unescape

RawRow = tuple[int, tuple[CellValue, ...]]
"""A sheet row number and its cell values, before the header is applied."""


@dataclass(frozen=True, slots=True)
class CellStyles:
    """The style ids that make a number a date, a duration, or a date without a time,
    and the number formats to keep with numbers (for `text` columns)."""

    epoch: datetime
    dates: frozenset[int]
    durations: frozenset[int]
    days: frozenset[int]
    number_formats: Mapping[int, str]


def row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)  # some writers say r="2.0"
        if not number.is_integer():
            raise ValueError(f"{text} is not a valid row number") from None
        return int(number)


def cell_value(
    kind: str,
    style: int,
    raw: str | None,
    inline: list[str] | None,
    shared_strings: Sequence[str],
    styles: CellStyles,
) -> CellValue:
    """The cell's value as openpyxl reads it (data only), then as excelfmt keeps it."""
    raw = raw or None
    value: CellValue
    if kind == "inlineStr":
        value = None if inline is None else "".join(inline)
    elif raw is None:
        return None
    elif kind == "n":
        number = float(raw) if "." in raw or "E" in raw or "e" in raw else int(raw)
        if style not in styles.dates:
            shown_as = styles.number_formats.get(style)
            return number if shown_as is None else displayed(number, shown_as)
        try:
            moment = from_excel(number, styles.epoch, duration=style in styles.durations)
        except (OverflowError, ValueError):
            return CellError("#VALUE!")  # a date outside the calendar
        return _day_or_moment(moment, style, styles)
    elif kind == "s":
        value = shared_strings[int(raw)]
    elif kind == "b":
        return bool(int(raw))
    elif kind == "d":
        return _day_or_moment(from_iso8601(raw), style, styles)
    elif kind == "e":
        return CellError(raw)
    else:  # "str" (a formula's text) and anything unknown: the text as written
        value = raw
    if not isinstance(value, str):
        return None
    if "_x" in value:  # Excel's escape for control characters, e.g. _x000D_ for CR
        value = unescape(value)
    return value or None


def _day_or_moment(value: CellValue, style: int, styles: CellStyles) -> CellValue:
    """A datetime at midnight in a cell formatted as a date without a time is a date."""
    if isinstance(value, datetime) and style in styles.days and value.time() == time(0):
        return value.date()
    return value
