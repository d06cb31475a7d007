"""Who may use `excelfmt serve`: named tokens with a role, kept as hashes in a file.

    excelfmt token add NAME --role viewer|operator --tokens FILE   (prints the token once)
    FILE: {"tokens": [{"name", "role", "sha256", "created"}]}, readable by its owner only
    a request's token -> sha256 -> compared in constant time -> Identity(name, role)

A token is 32 random bytes (URL-safe text); the file keeps only its SHA-256, as GitHub's
and Jupyter's servers keep theirs: a copy of the file lets no one in. A token is hashed
once, not stretched: it is random, not a password a person chose. Importing this module
needs none of the server's packages (`excelfmt token` uses it without them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import UsageError

ROLES = ("viewer", "operator")
"""viewer reads everything but secrets; operator also starts, stops, resolves, reprocesses."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Identity:
    """Who made a request: a token's name and role."""

    name: str
    role: str

    @property
    def operates(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class TokenEntry:
    name: str
    role: str
    sha256: str
    created: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """The tokens of one file, or of one token made at start (Tokens.single)."""

    def __init__(
        self, entries: list[TokenEntry], path: Path | None = None, stamp: object = None
    ) -> None:
        self.entries = entries
        self.path = path
        self._stamp = stamp
        """The file's modification time and size when read: `current` reads it again
        when they change."""

    @classmethod
    def read(cls, path: Path) -> Tokens:
        """The file's tokens; a missing file has none (`token add` creates it)."""
        stamp = _stamp(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls([], path, stamp)
        except (OSError, ValueError) as exc:
            raise UsageError(f"The tokens file {path} cannot be read: {exc}.") from None
        try:
            entries = [TokenEntry(**entry) for entry in data["tokens"]]
        except (KeyError, TypeError):
            raise UsageError(
                f"The tokens file {path} is not one `excelfmt token add` wrote."
            ) from None
        return cls(entries, path, stamp)

    def current(self) -> Tokens:
        """These tokens as the file holds them now: read again when it changed (`token
        remove` takes effect at the next request, not the next start). A file that
        cannot be read now keeps none: a server never trusts tokens it can no longer
        see."""
        if self.path is None or _stamp(self.path) == self._stamp:
            return self
        try:
            return Tokens.read(self.path)
        except UsageError:
            return Tokens([], self.path, _stamp(self.path))

    def holds(self, sha256: str) -> bool:
        return any(hmac.compare_digest(entry.sha256, sha256) for entry in self.entries)

    @classmethod
    def single(cls, token: str, name: str = "start-up", role: str = "operator") -> Tokens:
        return cls([TokenEntry(name, role, digest(token), _now())])

    def identify(self, token: str) -> Identity | None:
        """Whose token this is, if anyone's; every entry is compared, in constant time."""
        wanted = digest(token)
        found = None
        for entry in self.entries:
            if hmac.compare_digest(entry.sha256, wanted):
                found = Identity(entry.name, entry.role)
        return found

    def add(self, name: str, role: str) -> str:
        """A new token for `name`, saved as its hash; the token itself is returned once."""
        if not _NAME.fullmatch(name):
            raise UsageError(
                f"Token name {name!r}: use letters, digits and . _ @ - (up to 64 characters)."
            )
        if role not in ROLES:
            raise UsageError(f"--role {role!r}: use viewer or operator.")
        if any(entry.name == name for entry in self.entries):
            raise UsageError(f"A token named {name!r} exists; remove it first to replace it.")
        token = secrets.token_urlsafe(32)
        self.entries.append(TokenEntry(name, role, digest(token), _now()))
        self._save()
        return token

    def remove(self, name: str) -> None:
        kept = [entry for entry in self.entries if entry.name != name]
        if len(kept) == len(self.entries):
            raise UsageError(f"No token named {name!r} in {self.path}.")
        self.entries = kept
        self._save()

    def _save(self) -> None:
        assert self.path is not None
        text = json.dumps({"tokens": [asdict(e) for e in self.entries]}, indent=2) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        # Created readable by its owner only, then moved over the old one in one step.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, self.path)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
