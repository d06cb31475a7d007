"""What the sheet readers hand on: a row number and its cells, and a cell that cannot be read."""

from __future__ import annotations

import re

from ..models import CellValue

RawRow = tuple[int, tuple[CellValue, ...]]
"""A sheet row number and its cell values, before the header is applied."""


class BadCell(str):
    """A cell whose content no reading makes a value of (a boolean `maybe`, a number
    `1E400`, a date Excel shows as #####): the text as written, and why. Its row is never
    sent; the rest of the sheet is."""

    __slots__ = ("reason",)
    reason: str

    def __new__(cls, written: str, reason: str) -> BadCell:
        made = super().__new__(cls, written)
        made.reason = reason
        return made


_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def decode_escapes(text: str) -> str:
    """`text` with Excel's `_xHHHH_` escapes decoded, once: `_x000D_` is a carriage
    return, and `_x005F_x000D_` (an escaped underscore first) the text `_x000D_`.
    Escaped UTF-16 surrogate pairs become their character; a lone one, U+FFFD."""
    decoded = _ESCAPE.sub(lambda found: chr(int(found[1], 16)), text)
    try:
        decoded.encode("utf-8")
    except UnicodeEncodeError:
        decoded = decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return decoded
