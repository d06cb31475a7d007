"""The results workbook holds every kind of value a row carries, as Excel reads it back."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from excelfmt.metrics.counters import Snapshot
from excelfmt.metrics.summary import RunSummary
from excelfmt.models import Category, Outcome, Row
from excelfmt.sheets.reader import OpenSheet
from excelfmt.sheets.writer import CELL_LIMIT, XlsxResults

# What goes in, and what Excel (openpyxl) reads back from the Results sheet.
CELLS: list[tuple[Any, Any]] = [
    ("PO-0000001", "PO-0000001"),
    (" leading", " leading"),
    ("a & b < c > d", "a & b < c > d"),
    ("bell\x07 and esc\x1b", "bell\x07 and esc\x1b"),
    ("literal _x0041_ escape", "literal _x0041_ escape"),
    ("=SUM(A1:A2)", "=SUM(A1:A2)"),
    ("línea\nnueva ✓ 😀", "línea\nnueva ✓ 😀"),
    ("x" * (CELL_LIMIT + 10), "x" * (CELL_LIMIT - 1) + "…"),
    (-17, -17),
    (79.19, 79.19),
    (12345678901234567890, 1.234567890123457e19),  # as XlsxWriter writes it: 16 digits
    (float("inf"), "inf"),
    (True, True),
    (date(2024, 1, 2), date(2024, 1, 2)),
    (datetime(2024, 5, 6, 7, 8, 9, 123000), datetime(2024, 5, 6, 7, 8, 9, 123000)),
    (time(13, 45, 30), time(13, 45, 30)),
    (timedelta(hours=30, minutes=5), timedelta(hours=30, minutes=5)),
    (Decimal("12.30"), "12.30"),
    (
        datetime(2024, 3, 5, 13, 45, tzinfo=timezone(timedelta(hours=1))),
        "2024-03-05T13:45:00+01:00",
    ),
]
FORMATS = {date: "yyyy-mm-dd", datetime: "yyyy-mm-dd hh:mm:ss", time: "hh:mm:ss"}


def summary(path: Path) -> RunSummary:
    now = datetime(2024, 1, 1)
    metrics = Snapshot(2, 1, {"REQUIRES_USER_ACTION": 1}, 1.0, 2.0, 0.05, 0.06, 0.07)
    return RunSummary(path, "Sheet1", path, now, now, metrics, {"url": "http://x"})


def test_every_kind_of_cell_reads_back_as_written(tmp_path: Path) -> None:
    columns = [f"c{n}" for n in range(len(CELLS))]
    path = tmp_path / "out.xlsx"
    writer = XlsxResults(path, columns, ())
    good = Row(0, 2, {c: value for c, (value, _) in zip(columns, CELLS, strict=True)})
    bad = Row(1, 3, dict.fromkeys(columns))
    writer.add(
        [
            Outcome(bad, Category.REQUIRES_USER_ACTION, 422, "=bad", {"e": 1}),
            Outcome(good, None, 201, None, "@ok"),
        ]
    )
    writer.finish(summary(path))

    # Read back as excelfmt reads a sheet (openpyxl leaves _x0007_ escapes undecoded).
    with OpenSheet(path, "Results") as results:
        back = [dict(row.values) for row in results.rows()]
    for column, (value, expected) in zip(columns, CELLS, strict=True):
        assert back[0][column] == expected, (value, back[0][column])
        assert back[1][column] is None
    sheet = load_workbook(path)["Results"]
    for index, (value, _) in enumerate(CELLS):
        cell = sheet.cell(2, index + 1)
        if type(value) in FORMATS and getattr(value, "tzinfo", None) is None:
            assert cell.number_format == FORMATS[type(value)]
        if isinstance(value, str) and value.startswith("="):
            assert cell.data_type == "s" and cell.quotePrefix
    status, message, response = (len(CELLS) + offset for offset in (1, 3, 4))
    assert [sheet.cell(2, status).value, sheet.cell(3, status).value] == [
        "ok",
        "REQUIRES_USER_ACTION",
    ]
    assert sheet.cell(3, message).value == "=bad" and sheet.cell(3, message).quotePrefix
    assert sheet.cell(2, response).value == "@ok" and sheet.cell(2, response).quotePrefix
    # The failed row is red across, its empty cells too.
    assert all(sheet.cell(3, n).fill.fgColor.rgb.endswith("FFC7CE") for n in (1, len(CELLS)))


def test_a_discarded_writer_leaves_the_previous_results(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    path.write_bytes(b"previous")
    writer = XlsxResults(path, ["a"], ())
    writer.add([Outcome(Row(0, 2, {"a": 1}), None, 201)])
    writer.discard()
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]
