"""Settings: every setting of a run in one frozen, validated value (config.py builds it).

It shows itself with secrets masked (`describe`, its repr) and knows the secrets it
carries (`redactor`), so nothing downstream needs to know which settings are secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..models import JSONValue
from ..redaction import MASK, SENSITIVE_HEADERS, Redactor
from .credentials import ClientCredentials
from .options import OPTIONS


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything a run needs to know, validated. Build it with `load_settings`."""

    url: str
    method: str = "POST"
    header: tuple[str, ...] = ()
    body: JSONValue = None
    sheet: str | None = None
    header_row: int = 1
    delimiter: str | None = None
    encoding: str | None = None
    type: tuple[tuple[str, str], ...] = ()
    decimal_comma: bool = False
    max_inflation: int = 100
    limit: int | None = None
    output: Path | None = None
    profile: str | None = None
    store: Path | None = None
    concurrency: int = 16
    min_concurrency: int = 1
    rate: float = 0.0
    burst: int = 1
    timeout: float = 30.0
    retries: int = 5
    retry_wait: float = 0.5
    retry_max_wait: float = 30.0
    retry_budget: float = 0.2
    max_outage: float = 300.0
    auth_failures: int = 5
    breaker_failure_rate: float = 0.5
    breaker_window: int = 50
    breaker_min_calls: int = 20
    breaker_wait: float = 5.0
    slow_call: float = 0.0
    breaker_slow_rate: float = 1.0
    proxy: str | None = None
    ca_bundle: Path | None = None
    auth_env: str | None = None
    basic_auth_env: str | None = None
    oauth2_token_url: str | None = None
    oauth2_client_id_env: str | None = None
    oauth2_client_secret_env: str | None = None
    oauth2_scope: str | None = None
    oauth2_audience: str | None = None
    api_key_header: str | None = None
    api_key_env: str | None = None
    status_rule: tuple[tuple[int, str], ...] = ()
    capture: tuple[str, ...] = ()
    batch: int = 1
    """Settled by config.py: never None here."""
    batch_bytes: int = 5_000_000
    bulk: str | dict[str, JSONValue] | None = None
    """A preset's name, or a style's whole table (a [bulk.NAME] of the config file)."""
    bulk_action: JSONValue = None
    bisect_budget: int = 100
    cache_ttl: float = 0.0
    cache_methods: tuple[str, ...] = ("GET", "HEAD")
    log_every: float = 60.0
    notify_url: str | None = None
    notify_on: str = "always"
    queue: str | None = None
    batch_rows: int = 200
    rate_key: str | None = None
    lock_duration: float = 30.0
    no_local_worker: bool = False
    credentials: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Header name and value pairs resolved from auth_env / basic_auth_env / api_key_env."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """The raw secret values behind `credentials`, masked wherever text is shown."""
    oauth2: ClientCredentials | None = field(default=None, repr=False)
    """The OAuth2 client credentials, when the settings name a token endpoint."""

    def __repr__(self) -> str:
        # The dataclass repr would print header values, which may be credentials.
        return f"Settings({self.describe()!r})"

    @property
    def status_rules(self) -> dict[int, str]:
        return dict(self.status_rule)

    def redactor(self) -> Redactor:
        """A redactor that masks every secret these settings carry."""
        header_secrets = [
            value
            for name, value in (item.split(":", 1) for item in self.header)
            if name.strip().lower() in SENSITIVE_HEADERS
        ]
        return Redactor(
            [
                *self.secrets,
                *(value for _, value in self.credentials),
                *(value.strip() for value in header_secrets),
            ],
            [name for name, _ in self.credentials],
        )

    def describe(self) -> dict[str, JSONValue]:
        """The settings as shown to people (Summary sheet, JSON): secrets masked."""
        redact = self.redactor()
        shown = {
            option.name: _shown(option.name, getattr(self, option.name), redact)
            for option in OPTIONS
        }
        if self.credentials:
            shown["credentials"] = {name: MASK for name, _ in self.credentials}
        return shown


def _shown(name: str, value: object, redact: Redactor) -> JSONValue:
    if name == "header":
        pairs = (item.split(":", 1) for item in value)  # type: ignore[attr-defined]
        return [f"{n}: {redact.header(n, v.strip())}" for n, v in pairs]
    if name in ("status_rule", "type"):
        return [f"{key}={verdict}" for key, verdict in value]  # type: ignore[attr-defined]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str):
        return redact(value)
    return value  # type: ignore[return-value]
