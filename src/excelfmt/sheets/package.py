"""What an .xlsx package says about its sheets, read the way openpyxl 3.1's package reader
reads it, without openpyxl (sheets/ooxml.py says why).

[Content_Types].xml names the workbook part and the shared strings' part; the workbook
names its sheets (and whether dates count from 1904); its relationships say which part
holds each sheet; styles.xml gives each cell style its number format, which makes
numbers dates, durations or numbers shown a certain way. Only what reading one sheet's
values needs is read; openpyxl validates every element besides (views, defined names,
fonts...) and refused a workbook over a flaw in one, where this reads on.
tests/test_package.py compares the two on every workbook of the corpus.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .expatrows import guarded_parser
from .ooxml import (
    BUILTIN_FORMATS,
    MAC_EPOCH,
    REL_NS,
    WINDOWS_EPOCH,
    is_date_format,
    is_timedelta_format,
)

_WORKBOOK_TYPES = (  # in the order openpyxl looks for them
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
_STYLES_PART = "xl/styles.xml"  # openpyxl reads styles from here, whatever the package says


@dataclass(frozen=True)
class SheetEntry:
    name: str
    visible: bool
    part: str
    """The worksheet's part in the archive, e.g. xl/worksheets/sheet1.xml."""


@dataclass(frozen=True)
class Package:
    sheets: tuple[SheetEntry, ...]
    """The workbook's worksheets in its order (not chartsheets, nor sheets whose part is
    missing), each name once."""
    epoch: datetime
    shared_strings: str | None
    """The shared strings' part, if the package declares one."""
    formats: dict[int, str]
    """Each cell style's number format code, by style id."""
    dates: frozenset[int]
    """Style ids whose numbers are dates or times."""
    durations: frozenset[int]
    """Style ids whose numbers are elapsed time."""


def read_package(archive: zipfile.ZipFile) -> Package:
    """The package's sheets, epoch, shared strings' part and styles. KeyError names a
    missing part; OSError a package with no workbook; ValueError broken XML or values."""
    overrides, defaults = _content_types(archive.read("[Content_Types].xml"))
    workbook = _workbook_part(overrides, defaults)
    date1904, listed = _workbook(archive.read(workbook))
    relations = _relationships(archive, workbook)
    present = set(archive.namelist())
    sheets: dict[str, SheetEntry] = {}
    for name, state, relation in listed:
        if relation is None:
            continue  # openpyxl drops a sheet without r:id, with a warning
        kind, target = relations[relation]
        if "chartsheet" not in kind and target in present:
            sheets[name] = SheetEntry(name, state == "visible", target)
    formats, dates, durations = _styles(archive)
    shared = next((p for p, t in overrides if t == _SHARED_STRINGS_TYPE), None)
    return Package(
        tuple(sheets.values()),
        MAC_EPOCH if date1904 else WINDOWS_EPOCH,
        shared[1:] if shared else None,
        formats,
        dates,
        durations,
    )


def _content_types(xml: bytes) -> tuple[list[tuple[str, str]], set[str]]:
    """The overrides (part name, content type), in order, and the default types."""
    overrides: list[tuple[str, str]] = []
    defaults: set[str] = set()

    def start(name: str, attributes: dict[str, str]) -> None:
        name = _local(name)
        if name == "Override":
            overrides.append((attributes.get("PartName", ""), attributes.get("ContentType", "")))
        elif name == "Default":
            defaults.add(attributes.get("ContentType", ""))

    _parse(xml, "the content types declare", start)
    return overrides, defaults


def _workbook_part(overrides: list[tuple[str, str]], defaults: set[str]) -> str:
    for kind in _WORKBOOK_TYPES:
        for part, declared in overrides:
            if declared == kind:
                return part[1:]
    if defaults & set(_WORKBOOK_TYPES):  # some writers make the workbook's type the default
        return "xl/workbook.xml"
    raise OSError("File contains no valid workbook part")


def _workbook(xml: bytes) -> tuple[bool, list[tuple[str, str, str | None]]]:
    """Whether dates count from 1904, and each sheet's (name, state, relationship id)."""
    sheets: list[tuple[str, str, str | None]] = []
    found = {"date1904": False}

    def start(name: str, attributes: dict[str, str]) -> None:
        name = _local(name)
        if name == "sheet":
            relation = attributes.get(f"{REL_NS}}}id")
            sheets.append(
                (attributes.get("name", ""), attributes.get("state") or "visible", relation)
            )
        elif name == "workbookPr":
            value = attributes.get("date1904")
            found["date1904"] = value is not None and value not in ("false", "f", "0", "")

    _parse(xml, "the workbook declares", start)
    return found["date1904"], sheets


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """The part's relationships: id -> (type, target part in the archive)."""
    folder, name = posixpath.split(part)
    path = posixpath.join(folder, "_rels", f"{name}.rels")
    found: dict[str, tuple[str, str]] = {}
    parent = posixpath.split(posixpath.dirname(path))[0]

    def start(tag: str, attributes: dict[str, str]) -> None:
        if _local(tag) != "Relationship":
            return
        target = attributes.get("Target", "")
        if attributes.get("TargetMode") == "External":
            pass  # a URL: never a part of this archive
        elif target.startswith("/"):
            target = target[1:]
        else:
            target = posixpath.normpath(posixpath.join(parent, target))
        found[attributes.get("Id", "")] = (attributes.get("Type", ""), target)

    _parse(archive.read(path), "the workbook's relationships declare", start)
    return found


def _styles(archive: zipfile.ZipFile) -> tuple[dict[int, str], frozenset[int], frozenset[int]]:
    """Each cell style's number format code, and the styles that are dates and durations.
    Without styles.xml (or without cell styles), one style: General."""
    try:
        xml = archive.read(_STYLES_PART)
    except KeyError:
        return {0: "General"}, frozenset(), frozenset()
    custom: dict[int, str] = {}
    styles: list[int] = []
    depth = {"cellXfs": 0}

    def start(name: str, attributes: dict[str, str]) -> None:
        name = _local(name)
        if name == "numFmt":
            custom[_format_id(attributes.get("numFmtId"))] = attributes.get("formatCode", "")
        elif name == "cellXfs":
            depth["cellXfs"] += 1
        elif name == "xf" and depth["cellXfs"]:
            styles.append(_format_id(attributes.get("numFmtId") or "0"))

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            depth["cellXfs"] -= 1

    _parse(xml, "the styles declare", start, end)
    if not styles:
        return {0: "General"}, frozenset(), frozenset()
    formats: dict[int, str] = {}
    dates: set[int] = set()
    durations: set[int] = set()
    for style, number_format in enumerate(styles):
        # A workbook's own format wins, even under a built-in's id (openpyxl's rule).
        code = custom.get(number_format, BUILTIN_FORMATS.get(number_format))
        formats[style] = "General" if code is None else code
        if is_date_format(code):
            dates.add(style)
        if is_timedelta_format(code):
            durations.add(style)
    return formats, frozenset(dates), frozenset(durations)


def _format_id(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        raise ValueError(
            f"its styles (xl/styles.xml) give a number format id {text!r}, not a number"
        ) from None


def _parse(
    xml: bytes,
    what: str,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
) -> None:
    parser = guarded_parser(what, start, end or _nothing, _nothing)
    parser.Parse(xml, True)


def _nothing(*_: object) -> None:
    pass


def _local(name: str) -> str:
    """An element's name without its namespace: openpyxl matches elements so (a Strict
    workbook's styles read as a transitional one's), and attributes by namespace."""
    return name.rpartition("}")[2]
