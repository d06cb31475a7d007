"""SpreadsheetML's small rules, as openpyxl 3.1 applies them, without importing openpyxl.

Importing any part of openpyxl runs its package's __init__, which loads the whole
library: 455 million instructions, a third of the workbook process's start and 6 MiB of
its memory, to use a handful of functions. They are written out here, each as
openpyxl's (MIT licence, (c) 2010-2024 openpyxl), so a cell reads exactly as it did:
tests/test_ooxml.py compares every one with openpyxl's over many inputs.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

SHEET_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

WINDOWS_EPOCH = datetime(1899, 12, 30)
MAC_EPOCH = datetime(1904, 1, 1)
_SECONDS_PER_DAY = 86400
Moment = datetime | date | time | timedelta

BUILTIN_FORMATS_MAX_SIZE = 164
"""Number format ids below this are Excel's own; a workbook's own start here."""
BUILTIN_FORMATS = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)',
    43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_)_("$"* \(#,##0.00\)_("$"* "-"??_)_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}

# Quoted literals and bracketed locales or colours say nothing about dates; [h], [m]
# and [s] are elapsed time.
_NOT_DATE_PARTS = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_LETTER = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_ELAPSED = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
_ISO_MOMENT = re.compile(
    r"(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))?T?"
    r"(?P<time>(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(:(?P<second>\d{2})(?P<microsecond>\.\d{1,3})?)?)?Z?"
)
_ISO_DURATION = re.compile(
    r"PT((?P<hours>\d+)H)?((?P<minutes>\d+)M)?((?P<seconds>\d+(\.\d{1,3})?)S)?"
)
_ESCAPED = re.compile("_x([0-9A-Fa-f]{4})_")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def is_date_format(code: str | None) -> bool:
    """Whether numbers in this format are dates or times (its first section decides)."""
    if code is None:
        return False
    first = _NOT_DATE_PARTS.sub("", code.split(";")[0])
    return _DATE_LETTER.search(first) is not None


def is_timedelta_format(code: str | None) -> bool:
    """Whether numbers in this format are elapsed time ([h]:mm and the like)."""
    return code is not None and _ELAPSED.search(code.split(";")[0]) is not None


def date_kind(code: str | None) -> str | None:
    """ "date", "time" or "datetime" for a date format (by its letters); else None."""
    if not is_date_format(code):
        return None
    assert code is not None
    has_date = any(letter in code for letter in "dy")
    has_time = any(letter in code for letter in "hs")
    if has_date and has_time:
        return "datetime"
    return "date" if has_date else "time"


def from_excel(value: float, epoch: datetime = WINDOWS_EPOCH, duration: bool = False) -> Moment:
    """An Excel serial number as a datetime (a time below 1, a timedelta for a duration),
    to the millisecond, with Excel's 29 February 1900 that never was."""
    if duration:
        elapsed = timedelta(days=value)
        if elapsed.microseconds:
            elapsed = timedelta(
                seconds=elapsed.total_seconds() // 1,
                microseconds=round(elapsed.microseconds, -3),
            )
        return elapsed
    day, fraction = divmod(value, 1)
    part = timedelta(milliseconds=round(fraction * _SECONDS_PER_DAY * 1000))
    if 0 <= value < 1 and part.days == 0:
        minutes, seconds = divmod(part.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return time(hours, minutes, seconds, part.microseconds)
    if 0 < value < 60 and epoch == WINDOWS_EPOCH:
        day += 1
    return epoch + timedelta(days=day) + part


def from_iso8601(text: str) -> Moment | None:
    """A date, time, datetime or (PT..H..M..S) duration written as ISO 8601, as cells of
    type "d" hold them; None for ""; ValueError for anything else."""
    if not text:
        return None
    found = _ISO_MOMENT.match(text)
    if found and any(found.groups()):
        year, month, day, hour, minute, second = (
            int(found.group(key) or 0)
            for key in ("year", "month", "day", "hour", "minute", "second")
        )
        fraction = found.group("microsecond")
        micro = int(float(fraction) * 1_000_000) if fraction else 0
        if not found.group("date"):
            return time(hour, minute, second, micro)
        if not found.group("time"):
            return date(year, month, day)
        return datetime(year, month, day, hour, minute, second, micro)
    found = _ISO_DURATION.match(text)
    if found and any(found.groups()):
        amounts = {key: float(value) for key, value in found.groupdict().items() if value}
        return timedelta(**amounts)
    raise ValueError(f"Invalid datetime value {text}")


def unescape(text: str) -> str:
    """Excel's escapes for control characters undone: _x000D_ is a carriage return."""
    if "_x" in text:
        return _ESCAPED.sub(lambda found: chr(int(found.group(1), 16)), text)
    return text


def column_index(letters: str) -> int:
    """A column's number from its letters: A is 1, XFD 16,384 (ZZZ at most, as openpyxl)."""
    if len(letters) > 3 or not letters:
        raise ValueError(f"'{letters}' is not a valid column name. Column names are from A to ZZZ")
    index = 0
    for letter in letters.upper():
        position = _LETTERS.find(letter)
        if position < 0:
            raise ValueError(
                f"'{letters}' is not a valid column name. Column names are from A to ZZZ"
            )
        index = index * 26 + position + 1
    return index


def column_letters(index: int) -> str:
    """A column's letters from its number: 1 is A, 27 AA."""
    if not 1 <= index <= 18278:
        raise ValueError(f"Invalid column index {index}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = _LETTERS[remainder] + letters
    return letters
