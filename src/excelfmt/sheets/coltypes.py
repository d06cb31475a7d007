"""Column types: what a column's cells are, whatever Excel or a CSV made of them.

A cell goes out as the file holds it unless its column has a type (`--type amount=number`):
a postcode stored as the number 1010 and shown as 01010 goes out as "01010" when its
column is text; "1.234,5" from a CSV goes out as 1234.5 when its column is a number and
decimal commas are on. A cell that does not convert stays as it was and gives its row a
`problem` ("amount: 'abc' is not a number"): it is never sent, and
the fix loop shows it like any other error. Types apply again to stored rows on
reprocess, so a type's own output (and its JSON in the store) converts to itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from ..calls.template import iso_duration, require_column
from ..models import CellError, CellValue, Row
from .numfmt import DisplayedFloat, DisplayedInt, general, render

# English, and the words German and French Excel write for TRUE and FALSE in a CSV.
_TRUE = frozenset({"true", "yes", "y", "1", "on", "wahr", "vrai"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "falsch", "faux"})
_SPACES = re.compile(r"[\s\u00a0\u202f']")  # 1 234 567 and Swiss 1'234'567
_POINT_GROUPS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")
_COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


class TypeProblem(ValueError):
    """A cell that is not what its column's type says; the message says why."""


Converter = Callable[[CellValue], CellValue]


class ColumnTypes:
    """Applies each typed column's conversion to a row."""

    def __init__(
        self, types: Sequence[tuple[str, str]], columns: Sequence[str], decimal_comma: bool
    ) -> None:
        """`types`: (column, type) pairs, checked against the sheet's `columns`."""
        numbers = _NumberText(decimal_comma)
        convert: Mapping[str, Converter] = {
            "text": _text,
            "integer": numbers.integer,
            "number": numbers.number,
            "decimal": numbers.decimal,
            "boolean": _boolean,
            "date": _date,
            "datetime": _datetime,
        }
        self._columns = [
            (require_column(column, columns, f"--type names '{column}'"), convert[kind])
            for column, kind in types
        ]

    def apply(self, row: Row) -> Row:
        """The row with its typed columns converted; a cell that does not convert stays
        as it was and the row gets a `problem`. (The cells that did convert are kept
        converted: a fix of the bad one then sends the postcode as it was shown.)"""
        values = dict(row.values)
        problems = [row.problem] if row.problem else []
        for column, convert in self._columns:
            value = values[column]
            if value is None or isinstance(value, CellError):
                continue  # empty stays empty; the planner names Excel errors
            if isinstance(value, str) and not value.strip() and convert is not _text:
                values[column] = None  # a blank is empty, not a bad number
                continue
            try:
                values[column] = convert(value)
            except TypeProblem as problem:
                problems.append(f"{column}: {problem}")
        return Row(row.seq, row.number, values, "; ".join(problems) if problems else None)


def _shown(value: CellValue) -> str:
    return repr(value) if isinstance(value, str) else general_text(value)


def general_text(value: CellValue) -> str:
    """A cell as text, the way Excel shows it without a number format."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return general(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    return str(value)


def _text(value: CellValue) -> CellValue:
    if isinstance(value, DisplayedInt | DisplayedFloat):
        return render(value, value.number_format)
    return value if isinstance(value, str) else general_text(value)


class _NumberText:
    """Numbers from numbers, and from text as people write them (1,234.5 or 1.234,5)."""

    def __init__(self, decimal_comma: bool) -> None:
        self._decimal_comma = decimal_comma

    def _parse(self, value: CellValue, what: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise TypeProblem(f"{_shown(value)} is not {what}")
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise TypeProblem(f"{value} is not {what}")
            return Decimal(general(value))  # what Excel shows, without float noise
        if isinstance(value, Decimal):
            return value
        number = _decimal(_SPACES.sub("", value), self._decimal_comma)
        if number is None:
            comma = not self._decimal_comma and _decimal(_SPACES.sub("", value), True) is not None
            hint = " (for decimal commas, use --decimal-comma)" if comma else ""
            raise TypeProblem(f"{value!r} is not {what}{hint}")
        if not number.is_finite():
            raise TypeProblem(f"{value!r} is not {what}")
        return number

    def number(self, value: CellValue) -> CellValue:
        if isinstance(value, int | float) and not isinstance(value, bool):
            self._parse(value, "a number")  # refuses inf and nan
            return int(value) if isinstance(value, int) else float(value)
        number = self._parse(value, "a number")
        return int(number) if number == number.to_integral_value() else float(number)

    def integer(self, value: CellValue) -> CellValue:
        number = self._parse(value, "a whole number")
        if number != number.to_integral_value():
            raise TypeProblem(f"{_shown(value)} is not a whole number")
        return int(number)

    def decimal(self, value: CellValue) -> CellValue:
        return self._parse(value, "a number")


def _decimal(text: str, decimal_comma: bool) -> Decimal | None:
    """The number `text` writes, thousands separators and all; None if it is none."""
    if decimal_comma:
        if _POINT_GROUPS.match(text):
            text = text.replace(".", "")
        text = text.replace(",", ".", 1) if text.count(",") == 1 else text
    elif _COMMA_GROUPS.match(text):
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _boolean(value: CellValue) -> CellValue:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise TypeProblem(f"{_shown(value)} is not true or false (true/false, yes/no, 1/0)")


def _date(value: CellValue) -> CellValue:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise TypeProblem(f"{value.isoformat(' ')} has a time of day, so it is not a date")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise TypeProblem(f"{_shown(value)} is not a date (write it as 2024-12-31)")


def _datetime(value: CellValue) -> CellValue:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0))
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise TypeProblem(f"{_shown(value)} is not a date and time (write it as 2024-12-31T09:30:00)")
