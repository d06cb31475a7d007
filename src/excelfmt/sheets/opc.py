"""A workbook's zip archive, with its parts found as Excel finds them, and inflation bounded.

openpyxl asks its archive for parts by name. Two things it asks differ from what Excel
does, and both are answered here, below openpyxl, so that its own code reads on:
- OPC part names are case-insensitive (ECMA-376 part 2, 8.1.1.2): a relationship to
  `xl/Worksheets/Sheet1.xml` names the part stored as `xl/worksheets/sheet1.xml`, and
  Excel opens such a file. A name not found as written is looked up case-folded.
- A part may be named by a relationship instead of its usual name (openpyxl reads the
  styles from `xl/styles.xml` whatever the workbook's relationships say): `alias` maps
  the usual name to the part the relationships name.

Every part is checked before it is inflated, as Apache POI's ZipSecureFile does: a
part over FLOOR_BYTES that inflates more than `max_ratio` times its compressed size is
refused (a zip bomb: 30 KB of a sheet that inflates to 2 GiB of whitespace). The size a
part declares is the most zipfile ever inflates of it (more fails its CRC check), so the
check holds whatever the part really holds.
"""

from __future__ import annotations

import zipfile
from typing import IO, Literal

from ..errors import InputError

FLOOR_BYTES = 4 << 20
"""Parts smaller than this inflated are never refused: no bomb worth the name."""
MAX_RATIO = 100
"""The default most a part may inflate: 100:1, Apache POI's default minimum ratio (0.01)."""


class PartNames(list[str]):
    """The archive's part names, where `in` asks as OPC does: case-insensitively."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(names)
        self._folded = {name.casefold() for name in names}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._folded


class Archive(zipfile.ZipFile):
    """A read-only workbook archive whose parts are found case-insensitively, each
    checked against `max_ratio` before it is inflated."""

    def __init__(self, file: IO[bytes], shown_as: str, max_ratio: int = MAX_RATIO) -> None:
        """`shown_as`: the file as a person knows it, for the sentence refusing a part."""
        super().__init__(file)
        self._shown_as, self._max_ratio = shown_as, max_ratio
        self._folded = {info.filename.casefold(): info for info in self.infolist()}
        self._aliases: dict[str, str] = {}
        self.part_names = PartNames(self.namelist())

    def alias(self, usual: str, actual: str) -> None:
        """Answer for the part `usual` with the part `actual`."""
        self._aliases[usual] = actual

    def getinfo(self, name: str) -> zipfile.ZipInfo:
        name = self._aliases.get(name, name)
        try:
            return super().getinfo(name)
        except KeyError:
            found = self._folded.get(name.casefold())
            if found is None:
                raise
            return found

    def open(
        self,
        name: str | zipfile.ZipInfo,
        mode: Literal["r", "w"] = "r",
        pwd: bytes | None = None,
        *,
        force_zip64: bool = False,
    ) -> IO[bytes]:
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        self._check(info)
        return super().open(info, "r", pwd)

    def _check(self, info: zipfile.ZipInfo) -> None:
        inflated, compressed = info.file_size, max(info.compress_size, 1)
        if inflated <= FLOOR_BYTES or inflated <= self._max_ratio * compressed:
            return
        raise InputError(
            f"{self._shown_as}: its part {info.filename} would inflate from "
            f"{_size(compressed)} to {_size(inflated)}, {inflated // compressed:,} times "
            f"its size, past the {self._max_ratio}:1 excelfmt allows (a zip bomb looks "
            f"like this); if the workbook is honest, raise --max-inflation."
        )


def _size(count: int) -> str:
    if count < 1024:
        return f"{count:,} bytes"
    if count < 1 << 20:
        return f"{count / 1024:,.1f} KiB"
    return f"{count / (1 << 20):,.1f} MiB"
