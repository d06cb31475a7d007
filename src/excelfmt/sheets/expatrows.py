"""Worksheet rows read with expat's callbacks: any shape of row the format allows.

Also the parser the shared strings are read with (xlsxparts): namespaces joined as
"{uri}}tag", and no DTD, like defusedxml.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..models import CellValue
from .cellvalue import CellStyles, RawRow, cell_value, row_number
from .ooxml import SHEET_MAIN_NS, column_index

_DIGITS = "0123456789"


class _Cell:
    """The cell element being read: its type, style, <v> text and inline-string text."""

    __slots__ = ("inline", "kind", "style", "value")

    def __init__(self) -> None:
        self.kind, self.style = "n", 0
        self.value: str | None = None
        self.inline: list[str] | None = None


class ExpatRows:
    """Rows read by expat's callbacks from the bytes fed, into `ready`; `at` holds the
    number of the row being read (shared with PlainRows, for rows without r=)."""

    def __init__(
        self,
        shared_strings: Sequence[str],
        styles: CellStyles,
        ready: list[RawRow],
        at: dict[str, int],
    ) -> None:
        self.in_sheet_data = False
        """Whether the <sheetData> start tag of the main namespace was read."""
        self.rows_open = 0
        """Row elements started and not ended: 0 where the next row may be read plainly."""
        row_tag, cell_tag, value_tag, inline_tag, text_tag, phonetic_tag, data_tag = (
            f"{SHEET_MAIN_NS}}}{tag}" for tag in ("row", "c", "v", "is", "t", "rPh", "sheetData")
        )
        cells: dict[int, CellValue] = {}
        text: list[str] = []
        cell = _Cell()
        state = {"collect": False, "inline": False, "phonetic": 0}

        def start(name: str, attributes: dict[str, str]) -> None:
            if name == cell_tag:
                reference = attributes.get("r")
                if reference:
                    at["column"] = column_index(reference.rstrip(_DIGITS))
                else:
                    at["column"] += 1
                cell.kind = attributes.get("t", "n")
                cell.style = int(attributes.get("s") or 0)
                cell.value = cell.inline = None
            elif name == value_tag:
                state["collect"] = True
                text.clear()
            elif name == inline_tag:
                state["inline"] = True
                cell.inline = []
            elif name == text_tag:
                state["collect"] = state["inline"] and not state["phonetic"]
                text.clear()
            elif name == phonetic_tag:
                state["phonetic"] += 1
            elif name == row_tag:
                self.rows_open += 1
                number = attributes.get("r")
                at["row"] = at["row"] + 1 if number is None else row_number(number)
                at["column"] = 0
                cells.clear()
            elif name == data_tag:
                self.in_sheet_data = True

        def end(name: str) -> None:
            if name == value_tag:
                state["collect"] = False
                cell.value = "".join(text)
            elif name == text_tag:
                if state["collect"] and cell.inline is not None:
                    cell.inline.append("".join(text))
                state["collect"] = False
            elif name == phonetic_tag:
                state["phonetic"] -= 1
            elif name == inline_tag:
                state["inline"] = False
            elif name == cell_tag:
                value = cell_value(
                    cell.kind, cell.style, cell.value, cell.inline, shared_strings, styles
                )
                cells[at["column"]] = value
            elif name == row_tag:
                self.rows_open -= 1
                if cells:
                    values: list[CellValue] = [None] * max(cells)
                    for column, value in cells.items():
                        values[column - 1] = value
                    ready.append((at["row"], tuple(values)))

        def characters(data: str) -> None:
            if state["collect"]:
                text.append(data)

        self._parser = guarded_parser("the worksheet declares", start, end, characters)

    def feed(self, data: bytes) -> None:
        self._parser.Parse(data, False)

    def finish(self) -> None:
        self._parser.Parse(b"", True)


def guarded_parser(
    what: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    characters: Callable[[str], None],
) -> Any:
    """An expat parser with these handlers, namespaces joined as "{uri}}tag", that refuses
    any DTD (no entity bombs), like defusedxml. `what` starts the refusal's sentence."""
    from xml.parsers import expat

    def refuse(*_: object) -> None:
        raise ValueError(f"{what} a DTD, which is not allowed")

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser
