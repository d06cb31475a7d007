"""Plain worksheet rows, read with two regular expressions in half expat's time.

Nearly every row of every sheet is written the same few ways (Excel, LibreOffice,
openpyxl, XlsxWriter): a <row> of <c r=.. s=.. t=..> cells, each with an optional
formula and an optional value. Those are matched here; expat (expatrows) reads every
other stretch of the part, and sheetxml hands each chunk to the one that can.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import CellValue
from .cellvalue import CellStyles, RawRow, cell_value, row_number
from .expatrows import ExpatRows
from .ooxml import column_index, unescape

# Possessive quantifiers (*+, ++, ?+): nothing these match needs backtracking into,
# and giving it up makes the expressions a third faster.
_ATTRIBUTES = rb'(?:\s++[\w:.-]++="[^"<&]*+")*+'
_FORMULA = rb"(?:<f" + _ATTRIBUTES + rb"\s*+(?:/>|>[^<&]*+</f>)\s*+)?+"
_TEXT = rb"[^<&\r]*+"
_PLAIN_ROW = re.compile(
    rb"\s*+<row("
    + _ATTRIBUTES
    + rb")\s*+(?:/>|>((?:\s*+<c[^<>/]*+(?:/>|>\s*+"
    + _FORMULA
    + rb"(?:<v>"
    + _TEXT
    + rb"</v>\s*+)?+</c>))*+)\s*+</row>)"
)
"""A row of cells, each <c .../> or <c ...> with a formula and a value, nothing else."""
_PLAIN_CELL = re.compile(
    rb'<c(?:\s++r="([A-Za-z]{1,3}+)[0-9]++")?+(?:\s++s="([0-9]++)")?+(?:\s++t="([a-zA-Z]++)")?+'
    rb"\s*+(?:/>|>\s*+" + _FORMULA + rb"(?:<v>(" + _TEXT + rb")</v>\s*+)?+</c>)"
)
"""A cell of a plain row with no attributes but r, s and t: (column letters, style, type,
value text), b"" for each one absent."""
_ROW_NUMBER = re.compile(rb'\sr="([^"]*)"')
_ROW_START = re.compile(rb"\s*<row[\s/>]")
_MOMENTS_KEPT = 4096
"""Dates and times remembered at most: a column of distinct timestamps stays small."""


class PlainRows:
    """Rows read with regular expressions, for the shapes every writer uses:
    `<row r=.. any="attributes">` holding `<c r=.. s=.. t=..>` cells (those attributes,
    in that order, each optional) with an optional formula and an optional `<v>` without
    entities; or `<c .../>`. Anything else (inline strings, entities, comments, CDATA,
    other attributes, another prefix) is handed to expat a whole row at a time."""

    def __init__(
        self,
        shared_strings: Sequence[str],
        styles: CellStyles,
        ready: list[RawRow],
        at: dict[str, int],
    ) -> None:
        self._shared_strings, self._styles = shared_strings, styles
        self._ready, self._at = ready, at
        self.done = False
        """Whether the rows are over (or plain reading is) and all the rest is expat's."""
        self._columns: dict[bytes, int] = {}
        self._plain_numbers: set[bytes] = set()
        """Styles (as written) in which a number is the number written: not a date, and
        no format kept for a text column."""
        self._shared_texts: list[CellValue] | None = None
        self._moments: dict[tuple[bytes, bytes], CellValue] = {}
        """Dates and times by (style, number) as written: they are immutable, so shared."""

    def read(self, data: bytes, expat: ExpatRows) -> bytes:
        """Read the rows `data` holds whole, handing those that are not plain to expat;
        the bytes of an unfinished row, which need the next chunk. At anything but a row
        (</sheetData>), the rest goes to expat and `done` is set."""
        ready, at, columns = self._ready, self._at, self._columns
        match_row, cells_of, count = _PLAIN_ROW.match, _PLAIN_CELL.findall, data.count
        texts, plain_numbers = self._texts(), self._plain_numbers
        pos = 0
        while True:
            row, cells = match_row(data, pos), None
            if row is not None and b"xmlns" not in row.group(1):
                start, end = row.span(2)
                cells = cells_of(data, start, end) if start >= 0 else []
                if len(cells) != count(b"<c", start, end):
                    cells = None  # a cell not plain: another attribute, an inline string...
            if row is None or cells is None:
                after = self._not_plain(data, pos, expat)
                if after is None:
                    return data[pos:]
                if self.done:
                    return b""
                pos = after
                continue
            pos = row.end()
            number = _ROW_NUMBER.search(row.group(1))
            at["row"] = at["row"] + 1 if number is None else row_number(number.group(1).decode())
            values: list[CellValue] = []
            column = 0
            for letters, style, kind, raw in cells:
                column = columns.get(letters) or self._column(letters) if letters else column + 1
                value: CellValue
                # The common cells here, as _value makes them; the rest by _value.
                if not raw:
                    value = None if kind != b"inlineStr" else self._value(kind, style, raw)
                elif not kind and style in plain_numbers:
                    try:
                        is_float = b"." in raw or b"E" in raw or b"e" in raw
                        value = float(raw) if is_float else int(raw)
                    except ValueError:  # not ASCII digits: _value says what it is
                        value = self._value(kind, style, raw)
                elif kind == b"s":
                    value = texts[int(raw)]
                else:
                    value = self._value(kind, style, raw)
                if column > len(values):
                    values.extend([None] * (column - 1 - len(values)))
                    values.append(value)
                else:
                    values[column - 1] = value  # a column written twice: the last one
            if values:
                ready.append((at["row"], tuple(values)))

    def _not_plain(self, data: bytes, pos: int, expat: ExpatRows) -> int | None:
        """At what the expressions do not read: expat reads it. Where plain reading
        goes on; None when the next chunk is needed to tell."""
        if _ROW_START.match(data, pos) is None:
            if b"<row".startswith(data[pos:].strip()):
                return None  # whitespace, or a row's start cut by the chunk
            self._expat_from(data, pos, expat)  # </sheetData>, a comment...
            return len(data)
        end = data.find(b"</row>", pos)
        if end < 0:
            return None
        end += len(b"</row>")
        stretch = data[pos:end]
        expat.feed(stretch)
        if b"<!" in stretch or b"<?" in stretch or expat.rows_open:
            # A comment, CDATA or instruction may hide a "</row>", a row may be inside
            # another: expat can no longer be sure to be between rows.
            self._expat_from(data, end, expat)
            return len(data)
        return end

    def _expat_from(self, data: bytes, pos: int, expat: ExpatRows) -> None:
        expat.feed(data[pos:])
        self.done = True

    def _value(self, kind: bytes, style: bytes, raw: bytes) -> CellValue:
        code = int(style or 0)
        moment = not kind and code in self._styles.dates
        if moment:
            # A column of dates holds the same few days over and over: openpyxl's
            # from_excel is 3 µs a cell, a look-up here a tenth of that.
            known = self._moments.get((style, raw))
            if known is not None:
                return known
        elif not kind and code not in self._styles.number_formats:
            self._plain_numbers.add(style)
        kind_name, text = kind.decode() or "n", raw.decode()
        value = cell_value(kind_name, code, text, None, self._shared_strings, self._styles)
        if moment:
            if len(self._moments) >= _MOMENTS_KEPT:
                self._moments.clear()
            self._moments[style, raw] = value
        return value

    def _texts(self) -> list[CellValue]:
        """The shared strings as _value gives them: unescaped, and None for ""."""
        if self._shared_texts is None:
            self._shared_texts = [
                (unescape(text) if "_x" in text else text) or None for text in self._shared_strings
            ]
        return self._shared_texts

    def _column(self, letters: bytes) -> int:
        column = self._columns[letters] = column_index(letters.decode())
        return column
