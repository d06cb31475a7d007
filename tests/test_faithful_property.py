"""Whatever typed cells XlsxWriter or openpyxl write, `excelfmt run` sends them as written.

Each example writes a sheet of random columns (text, whole and decimal numbers, booleans,
dates, datetimes, times, blanks) with one of the two libraries, runs the real CLI against
a local API, and checks every value that went out against the value written.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from .apiserver import ApiServer

TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), min_size=1
).filter(lambda t: t.strip() and not t.startswith("=") and "_x" not in t)
"""Text either library writes as it is (openpyxl makes '=...' a formula; a literal _xHHHH_
it writes unescaped, which Excel then shows as the character: XlsxWriter's is tested
below)."""
KINDS: dict[str, st.SearchStrategy[Any]] = {
    "text": TEXT | st.sampled_from(["  padded  ", "line\r\nbreak", "literal _x0041_", "ü€😀"]),
    "integer": st.integers(-(10**15), 10**15),
    "decimal": st.integers(-(10**9), 10**9).map(lambda n: n / 100),
    "boolean": st.booleans(),
    "date": st.dates(date(1900, 3, 1), date(9999, 12, 31)),
    "datetime": st.datetimes(datetime(1900, 3, 1), datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0)
    ),
    "time": st.times().map(lambda t: t.replace(microsecond=0)),
}
FORMATS = {date: "yyyy-mm-dd", datetime: "yyyy-mm-dd hh:mm:ss", time: "hh:mm:ss"}


@st.composite
def sheets(draw: st.DrawFn) -> tuple[str, list[str], list[list[Any]]]:
    library = draw(st.sampled_from(["xlsxwriter", "openpyxl"]))
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=6))
    if library == "openpyxl" and "text" in kinds:
        kinds = [k for k in kinds if k != "text"] + ["plain text"]
    columns = [f"{kind} {n}" for n, kind in enumerate(kinds)]
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        cells = []
        for kind in kinds:
            strategy = TEXT if kind == "plain text" else KINDS[kind]
            cells.append(draw(st.none() | strategy))
        rows.append(cells)
    return library, columns, rows


def write(path: Path, library: str, columns: list[str], rows: list[list[Any]]) -> None:
    header = ["Id", *columns]
    if library == "openpyxl":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(header)
        for number, cells in enumerate(rows):
            sheet.append([number, *cells])
        book.save(path)
        return
    made = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    formats = {kind: made.add_format({"num_format": code}) for kind, code in FORMATS.items()}
    worksheet = made.add_worksheet()
    worksheet.write_row(0, 0, header)
    for number, cells in enumerate(rows, start=1):
        worksheet.write_number(number, 0, number - 1)
        for column, value in enumerate(cells, start=1):
            if isinstance(value, str):
                worksheet.write_string(number, column, value)
            elif type(value) in FORMATS:
                worksheet.write_datetime(number, column, value, formats[type(value)])
            elif value is not None:
                worksheet.write(number, column, value)
    made.close()


def as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | time) else value


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sheet=sheets())
def test_every_value_goes_out_as_written(sheet: Any, api: ApiServer, cli: Any) -> None:
    library, columns, rows = sheet
    api.received.clear()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "typed.xlsx"
        write(path, library, columns, rows)
        out = Path(folder) / "sent.jsonl"
        result = cli("run", str(path), "--url", api.url, "--output", str(out), "--quiet")
        assert result.exit_code == 0, result.stderr
        assert all(json.loads(line)["status"] == "ok" for line in out.read_text().splitlines())
    sent = {r.json["Id"]: r.json for r in api.received}
    assert len(sent) == len(rows)
    for number, cells in enumerate(rows):
        expected = {"Id": number, **{c: as_json(v) for c, v in zip(columns, cells, strict=True)}}
        assert sent[number] == expected, library
