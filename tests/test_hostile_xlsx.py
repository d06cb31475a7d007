"""Hostile workbooks: a zip bomb is refused before it is inflated, and what is read is
read in time proportional to its size (measured as ratios of CPU time, never seconds)."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from excelfmt.errors import InputError
from excelfmt.sheets.reader import OpenSheet

from .xlsxparts import cell, package, row

SHEET = "xl/worksheets/sheet1.xml"
HEADER = row(1, cell("A1", "V", "inlineStr"))


def with_leading_whitespace(path: Path, spaces: int) -> Path:
    """A workbook whose sheet's XML starts with `spaces` spaces: 30 KB of zip for 32 MiB."""
    package(path, HEADER + row(2, cell("A2", "1")))
    with zipfile.ZipFile(path) as original:
        parts = {info.filename: original.read(info) for info in original.infolist()}
    parts[SHEET] = b" " * spaces + parts[SHEET]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def long_strings(path: Path, count: int) -> Path:
    """One row of `count` inline strings of 2,500 characters each."""
    text = "y" * 2500
    cells = "".join(f'<c t="inlineStr"><is><t>{text}</t></is></c>' for _ in range(count))
    return package(path, HEADER + f'<row r="2">{cells}</row>')


def deep_nesting(path: Path, depth: int) -> Path:
    return package(path, HEADER + row(2, cell("A2", "1")) + "<x>" * depth + "</x>" * depth)


def read_all(path: Path, **kwargs: Any) -> int:
    with OpenSheet(path, **kwargs) as sheet:
        return sum(1 for _ in sheet.rows())


def cpu_seconds(path: Path) -> float:
    """The least CPU time of two reads, with the inflation limit out of the way."""
    found = []
    for _ in range(2):
        started = time.process_time()
        read_all(path, max_inflation=10**9)
        found.append(time.process_time() - started)
    return min(found)


def test_a_zip_bomb_is_refused_naming_the_part_and_both_sizes(tmp_path: Path, cli: Any) -> None:
    bomb = with_leading_whitespace(tmp_path / "bomb.xlsx", 32 << 20)
    with pytest.raises(InputError) as refused:
        read_all(bomb)
    message = str(refused.value)
    assert f"its part {SHEET} would inflate from" in message
    assert "KiB to 32.0 MiB" in message and "--max-inflation" in message
    result = cli("check", str(bomb), "--url", "http://127.0.0.1:9/")
    assert result.exit_code == 2 and "zip bomb" in result.stderr
    assert "Traceback" not in result.stderr
    # An honest sparse sheet goes through with the limit raised.
    assert read_all(bomb, max_inflation=10**6) == 1


@pytest.mark.parametrize(
    ("make", "small", "large"),
    [
        (with_leading_whitespace, 8 << 20, 32 << 20),
        (long_strings, 4096, 16_384),
        (deep_nesting, 100_000, 400_000),
    ],
    ids=["leading whitespace", "a row of long strings", "deep nesting"],
)
def test_hostile_sheets_are_read_in_linear_time(
    tmp_path: Path, make: Callable[[Path, int], Path], small: int, large: int
) -> None:
    # Four times the input: about four times the time. Quadratic would be sixteen.
    ratio = cpu_seconds(make(tmp_path / "large.xlsx", large)) / cpu_seconds(
        make(tmp_path / "small.xlsx", small)
    )
    assert ratio < 8, ratio
