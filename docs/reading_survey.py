"""Compare excelfmt's reading of every workbook in a folder with python-calamine's.

    python docs/reading_survey.py FOLDER [--limit N]

calamine (Rust) reads a workbook as Excel shows it, independently of openpyxl; where the
two readers disagree on a cell, one of them is wrong, and docs/performance.md lists what
excelfmt still reads otherwise than Excel ("Known limits of reading"). Every sheet of
every .xlsx/.xlsm is compared cell by cell, from A1, with excelfmt's raw rows (before a
header is applied). Numbers compare as numbers (calamine gives floats), dates as dates,
text as text; calamine gives an error cell as empty, and shows no formula without a
cached value. Prints a line per file that differs (at most three cells each) and the
counts.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from excelfmt.errors import InputError
from excelfmt.models import CellError
from excelfmt.sheets.cells import BadCell


def ours(path: Path, sheet: str) -> dict[tuple[int, int], Any]:
    from excelfmt.sheets.xlsxbook import Book
    from excelfmt.sheets.xlsxrows import sheet_rows

    found: dict[tuple[int, int], Any] = {}
    with path.open("rb") as handle:
        book = Book(handle, str(path), 10**9)
        part = next((s.part for s in book.sheets if s.name == sheet), None)
        if part is None:  # a sheet calamine lists and excelfmt does not
            book.close()
            return {(0, 0): f"no sheet {sheet!r}"}
        with book.open_part(part) as source:
            for number, cells in sheet_rows(source, book.shared_strings, book.styles, False):
                for column, value in enumerate(cells):
                    if value is not None:
                        found[(number, column)] = value
        book.close()
    return found


def theirs(path: Path, sheet: str) -> dict[tuple[int, int], Any]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    data = book.get_sheet_by_name(sheet)
    start_row, start_column = data.start if data.start else (0, 0)
    found: dict[tuple[int, int], Any] = {}
    for offset, values in enumerate(data.iter_rows()):
        for column, value in enumerate(values):
            if value != "":
                found[(start_row + offset + 1, start_column + column)] = value
    return found


def same(mine: Any, other: Any) -> bool:
    if isinstance(mine, CellError | BadCell):
        return other is None  # calamine gives errors as empty
    if isinstance(mine, bool) or isinstance(other, bool):
        return mine == other
    if isinstance(mine, int | float) and isinstance(other, int | float):
        return math.isclose(mine, other, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(mine, datetime) and isinstance(other, date) and not isinstance(other, datetime):
        return mine == datetime.combine(other, time(0))
    if isinstance(mine, date | time | timedelta) or isinstance(other, date | time | timedelta):
        return bool(mine == other)
    return str(mine) == str(other)


def compare(path: Path) -> tuple[str, list[str]]:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        kind = python_calamine.SheetTypeEnum.WorkSheet
        names = [m.name for m in book.sheets_metadata if m.typ == kind]
    except Exception as exc:
        return f"calamine cannot read it ({type(exc).__name__})", []
    differences = []
    for name in names:
        try:
            mine = ours(path, name)
        except InputError as exc:
            return f"refused: {exc}", []
        try:
            other = theirs(path, name)
        except Exception as exc:
            return f"calamine cannot read sheet {name!r} ({type(exc).__name__})", []
        for key in sorted(set(mine) | set(other)):
            a, b = mine.get(key), other.get(key)
            if (a is None) != (b is None) or (a is not None and not same(a, b)):
                if a is None and isinstance(b, str) and not b.strip():
                    continue
                differences.append(f"{name}!R{key[0]}C{key[1] + 1}: ours {a!r}, calamine {b!r}")
    return ("same" if not differences else "differs"), differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm"))
    counts: Counter[str] = Counter()
    for path in files[: args.limit]:
        verdict, differences = compare(path)
        counts[verdict.split(":")[0].split(" (")[0]] += 1
        if verdict != "same":
            print(f"{path.name}: {verdict}; " + "; ".join(differences[:3]))
    print(dict(counts))


if __name__ == "__main__":
    main()
