"""Option: one setting's name, converter, default and help, from which its flag, its
environment variable and its line in the reference follow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    name: str
    convert: Callable[[object], object]
    default: object
    help: str
    kind: str
    """How the value is written, for the reference: "text", "number", "list", ..."""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "EXCELFMT_" + self.name.upper()

    @property
    def shown_default(self) -> str | None:
        """The default as people write it (`30s`, `GET, HEAD`), or None when there is none."""
        value = self.default
        if value is None or value == () or value is False:
            return None
        if isinstance(value, tuple):
            return ", ".join(map(str, value))
        if isinstance(value, float):
            return f"{value:g}s" if self.kind == "duration" and value else f"{value:g}"
        return str(value)
