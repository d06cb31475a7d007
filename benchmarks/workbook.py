"""Write a large workbook the way Excel does (shared strings, a <dimension>, date styles).

openpyxl and XlsxWriter's streaming modes write inline strings and no dimension, which
no Excel file has and which read differently; the benchmark should read what users
have. This writes the package by hand, streaming the sheet, in constant memory apart
from the shared-strings table (as Excel's own files need).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

COLUMNS = ("Order", "Customer", "Email", "Amount", "Date", "Zip")
_EPOCH = date(1899, 12, 30).toordinal()

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"""  # noqa: E501
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"""  # noqa: E501
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>"""  # noqa: E501
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"""  # noqa: E501
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""  # noqa: E501


def orders(rows: int) -> Iterator[tuple[str, str, str, float, date, str]]:
    """Deterministic order rows: unique order numbers, repeating customers, leading zeros."""
    for n in range(1, rows + 1):
        customer = f"Customer {n % 500:03d}"
        yield (
            f"PO-{n:07d}",
            customer,
            f"billing{n % 500}@example.com",
            round((n * 7919) % 100_000 / 100, 2),
            date(2024, 1, 1 + n % 28),
            f"{n % 10_000:05d}",
        )


def write_orders(path: Path, rows: int) -> None:
    strings: dict[str, int] = {}

    def shared(text: str) -> int:
        index = strings.get(text)
        if index is None:
            index = strings[text] = len(strings)
        return index

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            out = raw.write
            out(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            out(f'<dimension ref="A1:F{rows + 1}"/><sheetData>'.encode())
            header = "".join(
                f'<c r="{chr(65 + i)}1" t="s"><v>{shared(name)}</v></c>'
                for i, name in enumerate(COLUMNS)
            )
            out(f'<row r="1">{header}</row>'.encode())
            for r, (order, customer, email, amount, day, zip_code) in enumerate(orders(rows), 2):
                out(
                    (
                        f'<row r="{r}"><c r="A{r}" t="s"><v>{shared(order)}</v></c>'
                        f'<c r="B{r}" t="s"><v>{shared(customer)}</v></c>'
                        f'<c r="C{r}" t="s"><v>{shared(email)}</v></c>'
                        f'<c r="D{r}"><v>{amount}</v></c>'
                        f'<c r="E{r}" s="1"><v>{day.toordinal() - _EPOCH}</v></c>'
                        f'<c r="F{r}" t="s"><v>{shared(zip_code)}</v></c></row>'
                    ).encode()
                )
            out(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as raw:
            raw.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns='
                b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                + f'count="{len(strings)}" uniqueCount="{len(strings)}">'.encode()
            )
            for text in strings:
                raw.write(f"<si><t>{escape(text)}</t></si>".encode())
            raw.write(b"</sst>")


def orders_book(rows: int) -> Path:
    """benchmarks/results/orders-N.xlsx, written the first time it is asked for."""
    path = Path(__file__).resolve().parent / "results" / f"orders-{rows}.xlsx"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        write_orders(path, rows)
    return path


def orders_csv(rows: int) -> Path:
    """benchmarks/results/orders-N.csv: the same rows as text, as a system would export
    them (semicolons, a UTF-8 byte order mark, CRLF), written the first time."""
    import csv

    path = Path(__file__).resolve().parent / "results" / f"orders-{rows}.csv"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
            writer.writerow(COLUMNS)
            writer.writerows(orders(rows))
    return path
