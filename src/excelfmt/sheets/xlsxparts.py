"""The parts of an .xlsx package that reading one sheet's rows needs besides the sheet:
the shared strings, the styles that make dates, and the size the sheet declares.

package.py finds the parts; the shared strings are read with expat, as the sheet itself
(sheetxml.py).
"""

from __future__ import annotations

import re
import zipfile

from .expatrows import guarded_parser
from .ooxml import SHEET_MAIN_NS, date_kind

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]*\d*:?[A-Z]*(\d+)"')


def shared_strings(archive: zipfile.ZipFile, part: str | None) -> list[str]:
    """The shared-strings table (the part package.py found, if any) as openpyxl reads it,
    three times faster.

    openpyxl builds a descriptor object per string: a sheet of a million distinct
    strings waited ten seconds before its first request. This is expat with three
    handlers. A string's text is its <t> plus each rich-text run's <t>; phonetic runs
    (<rPh>) are not text. Like defusedxml, it refuses any DTD (no entity bombs).
    """
    if part is None:
        return []
    text, phonetic, item = (f"{SHEET_MAIN_NS}}}{tag}" for tag in ("t", "rPh", "si"))
    strings: list[str] = []
    pieces: list[str] = []
    state = {"in_text": False, "in_phonetic": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == text:
            state["in_text"] = not state["in_phonetic"]
        elif name == phonetic:
            state["in_phonetic"] += 1

    def end(name: str) -> None:
        if name == text:
            state["in_text"] = False
        elif name == item:
            # openpyxl's rule: a literal underscore escape (_x005F_) stands for "_".
            strings.append("".join(pieces).replace("x005F_", ""))
            pieces.clear()
        elif name == phonetic:
            state["in_phonetic"] -= 1

    def characters(data: str) -> None:
        if state["in_text"]:
            pieces.append(data)

    parser = guarded_parser("the shared strings declare", start, end, characters)
    with archive.open(part) as source:
        parser.ParseFile(source)
    return strings


def declared_last_row(archive: zipfile.ZipFile, part: str) -> int | None:
    """The last row the sheet's <dimension> declares; only the part's head is read."""
    with archive.open(part) as source:
        head = source.read(8192)
    found = _DIMENSION.search(head)
    return int(found.group(1)) if found else None


def date_only_styles(formats: dict[int, str]) -> frozenset[int]:
    """Style ids whose number format shows a date without a time: those cells are dates."""
    return frozenset(style for style, code in formats.items() if date_kind(code) == "date")


def shown_formats(formats: dict[int, str], dates: frozenset[int]) -> dict[int, str]:
    """Style ids whose number format may show a number otherwise than General does."""
    return {
        style: code
        for style, code in formats.items()
        if style not in dates and code.strip().lower() not in ("general", "@", "")
    }
