"""Delimited text (CSV, TSV) -> raw rows, streamed with the standard csv module.

People export CSV from every system: commas, or semicolons (Excel where the decimal
separator is a comma), tabs or pipes; UTF-8 with or without a byte order mark, UTF-16
(Excel's "Unicode text"), or the Windows code page; quoted fields holding the
delimiter, quotes or line breaks; CRLF line ends. The encoding and the delimiter are
worked out from the first 64 KiB, and `encoding` / `delimiter` settle them when that
guesses wrong. Cells are text exactly as written, an empty one None: CSV has no types.
A row's number counts records (a quoted line break does not start a new one), as Excel
numbers the rows when it opens the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import InputError

if TYPE_CHECKING:  # a type only: the sending process never loads the xlsx readers
    from .cells import RawRow

SAMPLE_BYTES = 64 * 1024
CANDIDATES = ",;\t|"
"""Delimiters worked out by themselves, in order of preference when the sample is even."""
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Dialect:
    """How one file is written."""

    encoding: str
    delimiter: str
    estimated_rows: int | None
    """The number of the last record, judged from the sample; exact for a small file."""


def has_bom(head: bytes) -> bool:
    """Whether `head` starts with a Unicode byte order mark (text, even with NUL bytes)."""
    return any(head.startswith(bom) for bom, _ in _BOMS)


def detect(path: Path, delimiter: str | None = None, encoding: str | None = None) -> Dialect:
    """The file's encoding and delimiter: as given, else worked out from its start."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        whole = not handle.read(1)
    encoding = _encoding(sample, encoding, whole)
    text = _decoded(sample, encoding, path, whole)
    if not whole:
        text = text[: max(text.rfind("\n"), 0)]  # a line cut by the sample's end
    delimiter = delimiter or _delimiter(text)
    records = sum(1 for _ in csv.reader(io.StringIO(text), delimiter=delimiter, strict=False))
    if whole:
        estimated: int | None = records
    else:
        used = len(text.encode(encoding if encoding != "utf-8-sig" else "utf-8"))
        estimated = round(path.stat().st_size * records / used) if used and records else None
    return Dialect(encoding, delimiter, estimated)


def open_rows(path: Path, dialect: Dialect) -> tuple[BinaryIO, Iterator[RawRow]]:
    """The open file (close it when done) and its records as (row number, cells)."""
    handle = path.open("rb")
    return handle, _records(path, dialect, handle)


def _records(path: Path, dialect: Dialect, handle: BinaryIO) -> Iterator[RawRow]:
    lines = _lines(handle, dialect.encoding)
    reader = csv.reader(lines, delimiter=dialect.delimiter, quotechar='"', strict=False)
    number = 0
    try:
        for number, fields in enumerate(reader, start=1):
            yield number, tuple(field or None for field in fields)
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: row {number + 1} is not {dialect.encoding.removesuffix('-sig')} text; "
            "give the file's encoding with --encoding (cp1252, latin-1, utf-16, ...)."
        ) from None
    except csv.Error as exc:
        raise InputError(f"{path}: row {number + 1} cannot be read as CSV: {exc}.") from None


def _lines(handle: BinaryIO, encoding: str) -> Iterator[str]:
    """The file's lines as text, line ends kept (the csv module wants them). Decoded one
    line at a time where a line end is one byte whatever the encoding, so that a bad byte
    is reported at its row; UTF-16 and UTF-32 through a text wrapper."""
    if encoding.startswith(("utf-16", "utf-32")):
        text = io.TextIOWrapper(handle, encoding=encoding, newline="")
        try:
            yield from text
        finally:
            text.detach()  # the file is the caller's to close
        return
    decode = codecs.getincrementaldecoder(encoding)(errors="strict").decode
    for line in handle:
        yield decode(line)


def _encoding(sample: bytes, given: str | None, whole: bool) -> str:
    for bom, name in _BOMS:
        if sample.startswith(bom):
            # The byte order mark says it all; a given "utf-8" must still skip the mark.
            return name if given in (None, "utf-8", name) else given
    if given:
        return given
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(sample) - 3:  # not a character cut by the sample's end
            return "cp1252"
    return "utf-8"


def _decoded(sample: bytes, encoding: str, path: Path, whole: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(sample, final=whole)
    except UnicodeDecodeError as exc:
        row = sample[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: row {row} is not {encoding.removesuffix('-sig')} text; give the file's "
            "encoding with --encoding (cp1252, latin-1, utf-16, ...)."
        ) from None


def _delimiter(text: str) -> str:
    """The candidate that splits the first lines into the same number of fields, the
    most fields; csv.Sniffer's guesses are too easily swayed by the data itself."""
    best, best_score = ",", (0.0, 0)
    for candidate in CANDIDATES:
        records = csv.reader(io.StringIO(text), delimiter=candidate, strict=False)
        widths = [len(record) for record in islice(records, 50) if record]
        if not widths or widths[0] < 2:
            continue
        steady = sum(1 for width in widths if width == widths[0]) / len(widths)
        score = (round(steady, 2), widths[0])
        if score > best_score:
            best, best_score = candidate, score
    return best
