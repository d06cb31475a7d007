"""{Column} templates: parsed and checked against the sheet's columns once, rendered per row.

A string that is exactly one placeholder ("{Amount}") keeps the cell's type in a JSON
body; a placeholder inside longer text is interpolated. `{_row}` is the sheet row number.
Braces are written `{{` and `}}` when they are meant literally.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import cast

from ..errors import TemplateError
from ..models import CellError, CellValue, JSONValue, Row

ROW_NUMBER = "_row"
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class RowProblem(Exception):
    """This row cannot be turned into a request; the message says why, for a person."""


def iso_duration(value: timedelta) -> str:
    """ISO 8601 duration, e.g. P1DT2H3M4S, as APIs expect for time spans."""
    sign = "-" if value < timedelta(0) else ""
    seconds_total = abs(value)
    days, rest = seconds_total.days, seconds_total.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = (
        f".{seconds_total.microseconds:06d}".rstrip("0") if seconds_total.microseconds else ""
    )
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n) + (
        f"{seconds}{fraction}S" if seconds or fraction else ""
    )
    text = f"P{days}D" if days else "P"
    if clock:
        text += "T" + clock
    return sign + (text if text != "P" else "PT0S")


_AS_THEY_ARE = frozenset({str, int, float, type(None)})


def json_value(value: CellValue, column: str) -> JSONValue:
    """A cell as it goes into JSON: dates and times as ISO 8601."""
    if type(value) in _AS_THEY_ARE:  # most cells, by exact type: a CellError is a str
        return cast("JSONValue", value)
    if isinstance(value, CellError):
        raise RowProblem(f"cell {column} holds the Excel error {value}; fix it in the sheet")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    return value


def text_value(value: CellValue, column: str) -> str:
    """A cell as it goes into text (URL, header, interpolated string)."""
    converted = json_value(value, column)
    if converted is None:
        return ""
    if isinstance(converted, bool):
        return "true" if converted else "false"
    if isinstance(converted, float) and converted.is_integer():
        return str(int(converted))
    if isinstance(converted, Decimal):
        return format(converted, "f")  # 1E+3 would not be what the sheet says
    return str(converted)


@dataclass(frozen=True)
class Template:
    """A text template: literal pieces and column names, alternating from a literal."""

    literals: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def sole_name(self) -> str | None:
        """The column name when the template is exactly one placeholder."""
        if len(self.names) == 1 and self.literals == ("", ""):
            return self.names[0]
        return None

    def render(self, row: Row, encode: Callable[[str], str] = str) -> str:
        if not self.names:
            return self.literals[0]
        parts = [self.literals[0]]
        for name, literal in zip(self.names, self.literals[1:], strict=True):
            parts.append(encode(text_value(lookup(row, name), name)))
            parts.append(literal)
        return "".join(parts)


def lookup(row: Row, name: str) -> CellValue:
    return row.number if name == ROW_NUMBER else row.values[name]


def parse(text: str, where: str, columns: Sequence[str]) -> Template:
    """Parse `text`; `where` names it in errors ("the URL", "header X-Id", "the body")."""
    literals: list[str] = []
    names: list[str] = []
    current, position = "", 0
    for match in _TOKEN.finditer(text):
        current += text[position : match.start()]
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            current += token[0]
        elif match.group(1) is None:
            raise TemplateError(
                f"{where}: unmatched '{token}' in {text!r}; write {{{{ or }}}} for a literal brace."
            )
        else:
            literals.append(current)
            names.append(_checked(match.group(1).strip(), where, columns))
            current = ""
    literals.append(current + text[position:])
    return Template(tuple(literals), tuple(names))


def _checked(name: str, where: str, columns: Sequence[str]) -> str:
    if name == ROW_NUMBER:
        return name
    return require_column(name, columns, f"{where} uses {{{name}}}")


def require_column(name: str, columns: Sequence[str], said: str) -> str:
    """`name` if the sheet has that column; else a TemplateError: `said`, but the sheet has
    no such column, with the nearest name and the columns it has."""
    if name in columns:
        return name
    guess = difflib.get_close_matches(name, columns, n=1)
    hint = f" Did you mean '{guess[0]}'?" if guess else ""
    shown = ", ".join(columns) if len(columns) <= 12 else ", ".join(columns[:12]) + ", ..."
    raise TemplateError(
        f"{said}, but the sheet has no column '{name}'.{hint} Its columns are: {shown}."
    )


BodyRenderer = Callable[[Row], JSONValue]


def compile_body(template: JSONValue, columns: Sequence[str]) -> BodyRenderer:
    """Turn a JSON body template into a function from a row to the JSON value to send."""
    if isinstance(template, str):
        parsed = parse(template, "the body template", columns)
        sole = parsed.sole_name
        if sole is not None:
            return lambda row: json_value(lookup(row, sole), sole)
        if not parsed.names:
            literal = parsed.literals[0]
            return lambda row: literal
        return parsed.render
    if isinstance(template, list):
        items = [compile_body(item, columns) for item in template]
        return lambda row: [item(row) for item in items]
    if isinstance(template, dict):
        entries = [
            (parse(key, "the body template", columns), compile_body(value, columns))
            for key, value in template.items()
        ]
        return lambda row: {key.render(row): value(row) for key, value in entries}
    return lambda row: template


def row_object(row: Row) -> dict[str, JSONValue]:
    """The default body: the row as a JSON object keyed by the header cells."""
    return {name: json_value(value, name) for name, value in row.values.items()}
