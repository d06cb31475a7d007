"""Tell what kind of file a workbook is from its bytes, not its name.

People rename files; an .xlsx may be an encrypted OLE container, a legacy .xls, or a CSV.
Knowing which lets the reader pick the right parser and lets errors say what to do. Text
(UTF-8, the Windows code page, or anything with a byte order mark) is taken for CSV.
"""

from __future__ import annotations

import re
import zipfile
from enum import Enum
from pathlib import Path

from ..errors import InputError
from .delimited import has_bom

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The stream an encrypted OOXML package keeps in its OLE container (UTF-16 name).
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
_STRICT_NAMESPACE = b"purl.oclc.org/ooxml/spreadsheetml"
_OVERRIDE = re.compile(rb"<Override\b[^>]*>")
_PART_NAME = re.compile(rb'PartName="([^"]+)"')
_CONTENT_TYPE = re.compile(rb'ContentType="([^"]+)"')
_SPREADSHEET = re.compile(rb"spreadsheetml|ms-excel")
_TEXT_CONTROLS = frozenset(b"\t\n\r\x0c\x1a")  # tab, line ends, form feed, DOS end of file


class Format(Enum):
    XLSX = "xlsx"
    """Transitional Office Open XML (.xlsx, .xlsm): read by openpyxl (xlsxbook, xlsxrows)."""
    XLSX_NONSTANDARD = "xlsx (non-standard)"
    """Strict OOXML, or part names with backslashes: read by calamine, as openpyxl cannot."""
    XLSB = "xlsb"
    XLS = "xls"
    ODS = "ods"
    CSV = "csv"
    """Delimited text (CSV, TSV, semicolons, pipes): streamed with the csv module."""


def sniff(path: Path) -> Format:
    """Return the workbook format of `path`, or raise InputError saying what it is instead."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            if head.startswith(_OLE_MAGIC):
                return _ole_format(path, handle.read())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a workbook.") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror}.") from None
    if not head:
        raise InputError(f"{path} is empty (0 bytes), not a workbook.")
    if head.startswith(_ZIP_MAGIC):
        return _zip_format(path)
    if has_bom(head) or _looks_like_text(path):
        if _looks_like_html(path):
            raise InputError(
                f"{path} is a web page (HTML), not a workbook or CSV, although some systems "
                "export it under a workbook's name; open it in Excel and save it as .xlsx."
            )
        if _looks_like_spreadsheet_xml(path):
            raise InputError(
                f"{path} is an Excel 2003 XML spreadsheet, which excelfmt does not read; "
                "open it in Excel and save it as .xlsx."
            )
        return Format.CSV
    raise InputError(
        f"{path} is not a workbook (.xlsx, .xlsm, .xlsb, .xls, .ods) or a CSV/TSV text file."
    )


def _ole_format(path: Path, rest: bytes) -> Format:
    if _ENCRYPTION_STREAM in rest:
        raise InputError(
            f"{path} is password-protected; open it in Excel, remove the password "
            "(File > Info > Protect Workbook) and save it again."
        )
    return Format.XLS


def _zip_format(path: Path) -> Format:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.bin" in names:
                return Format.XLSB
            if "mimetype" in names and b"opendocument.spreadsheet" in archive.read("mimetype"):
                return Format.ODS
            if "[Content_Types].xml" in names:
                workbook = _main_part(archive.read("[Content_Types].xml"))
                if workbook is not None and workbook in names:
                    with archive.open(workbook) as part:
                        strict = _STRICT_NAMESPACE in part.read(4096)
                    return Format.XLSX_NONSTANDARD if strict else Format.XLSX
            # Some Windows writers store part names with backslashes (xl\workbook.xml).
            if "xl\\workbook.xml" in names:
                return Format.XLSX_NONSTANDARD
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{path} is damaged or truncated and cannot be opened ({exc}).") from None
    raise InputError(f"{path} is a zip archive but not an Excel workbook.")


def _main_part(content_types: bytes) -> str | None:
    """The workbook part's name in the package, from [Content_Types].xml."""
    for element in _OVERRIDE.findall(content_types):
        name, kind = _PART_NAME.search(element), _CONTENT_TYPE.search(element)
        if name and kind and kind[1].endswith(b".main+xml") and _SPREADSHEET.search(kind[1]):
            return name[1].decode("utf-8").lstrip("/")
    return None


def _looks_like_text(path: Path) -> bool:
    """No NUL bytes and hardly any control characters: text, in UTF-8 or a code page."""
    with path.open("rb") as handle:
        sample = handle.read(4096)
    if b"\x00" in sample:
        return False
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in _TEXT_CONTROLS)
    return controls <= len(sample) // 100


def _looks_like_html(path: Path) -> bool:
    with path.open("rb") as handle:
        start = handle.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html", b"<table"))


def _looks_like_spreadsheet_xml(path: Path) -> bool:
    with path.open("rb") as handle:
        return b"urn:schemas-microsoft-com:office:spreadsheet" in handle.read(4096)
