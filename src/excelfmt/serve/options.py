"""What `excelfmt serve` was told: where it listens, who may use it, the profiles it offers.

A profile is a [profile.NAME] table of the server's config file: the settings of
excelfmt.toml (url, method, header, body, auth_env..., status rules, policies). A web
user picks one by name and may set only the per-file settings (PER_FILE); where the
rows go and with which credentials is the operator's, in the file.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..models import JSONValue
from ..settings.config import load_settings, read_profiles
from ..settings.value import Settings

PER_FILE = ("sheet", "header_row", "limit", "type", "delimiter", "encoding", "decimal_comma")
"""The settings a request may give for its own file: how to read it, not where to send."""
MAX_UPLOAD = 100_000_000
READ_LIMIT = 120.0
"""Seconds an upload may take to be read (a preview, a fix) or opened (a run)."""


@dataclass(frozen=True)
class Profile:
    name: str
    settings: Settings
    """Checked at start, secrets read from the server's environment (never shown)."""

    def public(self) -> dict[str, JSONValue]:
        """What anyone with a token may see of it: the API, the method, settings masked."""
        shown = self.settings.describe()
        return {"name": self.name, "url": self.settings.url, "method": self.settings.method,
                "settings": shown}  # fmt: skip


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8700
    config: Path | None = None
    tokens_file: Path | None = None
    store: Path = Path()
    """The store's folder, resolved (settings.environment.store_folder)."""
    queue: str | None = None
    allow_hosts: tuple[str, ...] = ()
    allow_origins: tuple[str, ...] = ()
    max_upload: int = MAX_UPLOAD
    metrics_public: bool = False
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers whole."""
    read_limit: float = READ_LIMIT
    """Seconds an upload may take to be read or opened, in its own process (children.py)."""
    profiles: Mapping[str, Profile] = field(default_factory=dict)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def host_names(self) -> set[str]:
        """The Host header names this server answers to (HostGuard)."""
        names = {self.host.lower(), *(name.lower() for name in self.allow_hosts)}
        if self.loopback or self.host in ("0.0.0.0", "::"):
            names |= {"127.0.0.1", "localhost", "[::1]"}
        if not self.loopback:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        return {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_profiles(config: Path | None, env: Mapping[str, str] | None = None) -> dict[str, Profile]:
    """Every profile of the config file, each checked as a run would check it now, so a
    wrong one stops the server at start with its sentence, not a run later."""
    if config is None:
        return {}
    found = {}
    for name in read_profiles(config):
        try:
            settings = load_settings({"profile": name}, config_file=config, env=env)
        except UsageError as exc:
            raise UsageError(f"Profile {name!r}: {exc}") from None
        found[name] = Profile(name, settings)
    if not found:
        raise UsageError(
            f"Config file {config} has no profile to offer; add one: [profile.orders] url = ..."
        )
    return found
