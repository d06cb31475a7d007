"""Workbooks written at the XML level, for the shapes no library writes.

`package()` makes a minimal .xlsx from a sheet's <sheetData> rows and, when given, styles
and shared strings; every part can be replaced or renamed to make the odd ones.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
_XF_IDS = 'fontId="0" fillId="0" borderId="0"'


def styles(*number_formats: int, custom: dict[int, str] | None = None, dxf: str = "") -> str:
    """styles.xml with one cell style per number format id, in order (style 0 first)."""
    formats = "".join(
        f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>'
        for i, code in (custom or {}).items()
    )
    xfs = "".join(f'<xf numFmtId="{i}" {_XF_IDS}/>' for i in number_formats)
    return (
        f'<styleSheet xmlns="{MAIN}">'
        + (f'<numFmts count="{len(custom or {})}">{formats}</numFmts>' if custom else "")
        + '<fonts count="1"><font><sz val="11"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        f'<cellStyleXfs count="1"><xf numFmtId="0" {_XF_IDS}/></cellStyleXfs>'
        f'<cellXfs count="{len(number_formats)}">{xfs}</cellXfs>'
        + (f'<dxfs count="1"><dxf>{dxf}</dxf></dxfs>' if dxf else "")
        + "</styleSheet>"
    )


def shared(*strings: str) -> str:
    items = "".join(f"<si>{text}</si>" for text in strings)
    return f'<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'


def package(
    path: Path,
    rows: str,
    *,
    styles_xml: str | None = None,
    strings_xml: str | None = None,
    date1904: bool = False,
    dimension: str = "",
    names: dict[str, str] | None = None,
    declare_strings: bool = True,
    sheet_head: str = "",
) -> Path:
    """Write the workbook; `names` renames parts (the relationships say the new name)."""
    names = {
        "workbook": "xl/workbook.xml",
        "sheet": "xl/worksheets/sheet1.xml",
        "styles": "xl/styles.xml",
        "strings": "xl/sharedStrings.xml",
        **(names or {}),
    }
    overrides = [
        (names["workbook"], f"{SML}.sheet.main+xml"),
        (names["sheet"], f"{SML}.worksheet+xml"),
    ]
    relations = [("rId1", "worksheet", names["sheet"])]
    parts = {
        names["sheet"]: (
            f'<worksheet xmlns="{MAIN}">{sheet_head}'
            + (f'<dimension ref="{dimension}"/>' if dimension else "")
            + f"<sheetData>{rows}</sheetData></worksheet>"
        )
    }
    if styles_xml is not None:
        overrides.append((names["styles"], f"{SML}.styles+xml"))
        relations.append(("rId2", "styles", names["styles"]))
        parts[names["styles"]] = styles_xml
    if strings_xml is not None:
        if declare_strings:
            overrides.append((names["strings"], f"{SML}.sharedStrings+xml"))
        relations.append(("rId3", "sharedStrings", names["strings"]))
        parts[names["strings"]] = strings_xml
    pr = '<workbookPr date1904="1"/>' if date1904 else ""
    parts[names["workbook"]] = (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}">{pr}'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    folder, _, name = names["workbook"].rpartition("/")
    parts[f"{folder}/_rels/{name}.rels"] = (
        f'<Relationships xmlns="{PACKAGE_RELS}">'
        + "".join(
            f'<Relationship Id="{i}" Type="{RELS}/{kind}" Target="/{target}"/>'
            for i, kind, target in relations
        )
        + "</Relationships>"
    )
    parts["_rels/.rels"] = (
        f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
        f'Type="{RELS}/officeDocument" Target="{names["workbook"]}"/></Relationships>'
    )
    parts["[Content_Types].xml"] = (
        f'<Types xmlns="{TYPES}">'
        f'<Default Extension="rels" ContentType="{RELS_TYPE}"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="/{p}" ContentType="{t}"/>' for p, t in overrides)
        + "</Types>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, xml in parts.items():
            archive.writestr(part, xml)
    return path


def cell(ref: str, value: str, kind: str = "", style: int | None = None) -> str:
    t = f' t="{kind}"' if kind else ""
    s = f' s="{style}"' if style is not None else ""
    if kind == "inlineStr":
        return f'<c r="{ref}"{t}{s}><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"{t}{s}><v>{value}</v></c>'


def row(number: int | None, *cells: str) -> str:
    r = f' r="{number}"' if number is not None else ""
    return f"<row{r}>{''.join(cells)}</row>"
