"""Every setting's name, default, converter and help, in one table.

The table drives the config file, the `EXCELFMT_*` environment variables and the generated
reference in docs/configuration.md; the CLI declares one flag per entry (a test checks).
One name per setting: `header_row` is `header_row = 2` in excelfmt.toml,
`EXCELFMT_HEADER_ROW=2` in the environment and `--header-row 2` on the command line.
Converters take what TOML, the environment (always text) or a flag gives, and raise
ValueError with the reason a person should read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .converters import (
    SUCCESS,
    as_body,
    as_choice,
    as_delimiter,
    as_duration,
    as_encoding,
    as_env_name,
    as_fraction,
    as_header_name,
    as_headers,
    as_method,
    as_methods,
    as_names,
    as_optional_text,
    as_output,
    as_path,
    as_proxy,
    as_seconds,
    as_status_rules,
    as_url,
    as_whole,
    parse_header,
    parse_status_rule,
)

__all__ = ["OPTIONS", "OPTIONS_BY_NAME", "SUCCESS", "Option", "parse_header", "parse_status_rule"]


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
        if value is None or value == ():
            return None
        if isinstance(value, tuple):
            return ", ".join(map(str, value))
        if isinstance(value, float):
            return f"{value:g}s" if self.kind == "duration" and value else f"{value:g}"
        return str(value)


OPTIONS: tuple[Option, ...] = (
    Option(
        "url",
        as_url,
        None,
        "API URL; {Column} placeholders are filled per row, URL-encoded.",
        "URL",
    ),
    Option("method", as_method, "POST", "HTTP method (may be a {Column} template).", "text"),
    Option(
        "header",
        as_headers,
        (),
        "Request header 'Name: value' ({Column} placeholders work); repeat the flag for more.",
        "list",
    ),
    Option(
        "body",
        as_body,
        None,
        'Body template as JSON: "{Col}" alone keeps the cell\'s type, '
        "{Col} inside text is interpolated, {_row} is the sheet row. Default: the row as a "
        "JSON object (no body for GET, HEAD, DELETE, OPTIONS).",
        "JSON",
    ),
    Option(
        "sheet", as_optional_text, None, "Sheet to read (default: the first visible sheet).", "text"
    ),
    Option("header_row", as_whole(1, 1_048_576), 1, "Row that holds the column names.", "number"),
    Option(
        "delimiter",
        as_delimiter,
        None,
        "CSV/TSV: the character between fields, e.g. ';' or tab (default: sniffed from "
        "the file among , ; tab |).",
        "text",
    ),
    Option(
        "encoding",
        as_encoding,
        None,
        "CSV/TSV: the file's text encoding, e.g. cp1252 (default: from its byte order "
        "mark, else UTF-8 if it reads as UTF-8, else cp1252).",
        "text",
    ),
    Option("limit", as_whole(1, 100_000_000), None, "Send only the first N data rows.", "number"),
    Option(
        "output",
        as_output,
        None,
        "Results file, .xlsx or .jsonl (default: <input>.results.xlsx beside the input).",
        "path",
    ),
    Option(
        "store",
        as_path,
        None,
        "Folder of excelfmt's store, the record of every run (default: $EXCELFMT_HOME, "
        "else the user data folder).",
        "path",
    ),
    Option(
        "concurrency",
        as_whole(1, 1000),
        16,
        "Most requests in flight at once; the live "
        "limit adapts between min_concurrency and this as the API allows.",
        "number",
    ),
    Option(
        "min_concurrency",
        as_whole(1, 1000),
        1,
        "Fewest requests in flight the adaptive "
        "limit goes down to; set it to concurrency for a fixed limit.",
        "number",
    ),
    Option(
        "rate",
        as_seconds(0, allow_minimum=True),
        0.0,
        "Most requests per second (0 = no cap of our own; the API's Retry-After and "
        "RateLimit headers are honoured either way).",
        "number",
    ),
    Option(
        "burst",
        as_whole(1, 100_000),
        1,
        "Requests that may go back to back before the rate applies.",
        "number",
    ),
    Option(
        "timeout",
        as_duration(0, allow_minimum=False),
        30.0,
        "Seconds to wait for connect and for each read of a response.",
        "duration",
    ),
    Option(
        "retries",
        as_whole(0, 100),
        5,
        "Retries of a row after a 429, 5xx or network "
        "error, with capped exponential backoff and jitter (Retry-After wins).",
        "number",
    ),
    Option(
        "retry_wait",
        as_duration(0, allow_minimum=False),
        0.5,
        "Longest first backoff "
        "before a retry; it doubles per retry (full jitter: a random wait up to it).",
        "duration",
    ),
    Option(
        "retry_max_wait",
        as_duration(0, allow_minimum=False),
        30.0,
        "The longest any backoff grows to.",
        "duration",
    ),
    Option(
        "retry_budget",
        as_seconds(0, allow_minimum=True),
        0.2,
        "Retries may add at most "
        "this share of first attempts over a sliding 10 s (0.2 = 20%); more wait.",
        "number",
    ),
    Option(
        "max_outage",
        as_duration(0, allow_minimum=False),
        300.0,
        "Stop the run (exit 3, "
        "resumable) when the API stays down this long; rows wait, they do not fail.",
        "duration",
    ),
    Option(
        "auth_failures",
        as_whole(1, 100_000),
        5,
        "Stop the run (exit 3) after this many "
        "401/403 answers in a row: the credentials are wrong.",
        "number",
    ),
    Option(
        "breaker_failure_rate",
        as_fraction,
        0.5,
        "Open the circuit breaker when this share of recent calls failed (5xx, network errors).",
        "number",
    ),
    Option(
        "breaker_window", as_whole(1, 100_000), 50, "Recent calls the breaker looks at.", "number"
    ),
    Option(
        "breaker_min_calls",
        as_whole(1, 100_000),
        20,
        "Calls the breaker needs before it judges.",
        "number",
    ),
    Option(
        "breaker_wait",
        as_duration(0, allow_minimum=False),
        5.0,
        "Seconds the breaker stays open before a probe; doubles on repeated trips, up to a minute.",
        "duration",
    ),
    Option(
        "slow_call",
        as_duration(0, allow_minimum=True),
        0.0,
        "A call slower than this counts as slow for the breaker (0 = off).",
        "duration",
    ),
    Option(
        "breaker_slow_rate",
        as_fraction,
        1.0,
        "Open the breaker when this share of recent calls was slow (1 = off).",
        "number",
    ),
    Option(
        "proxy",
        as_proxy,
        None,
        "HTTP proxy URL (HTTP_PROXY, HTTPS_PROXY and NO_PROXY are honoured too).",
        "URL",
    ),
    Option(
        "ca_bundle",
        as_path,
        None,
        "PEM file of CA certificates to trust (SSL_CERT_FILE works too).",
        "path",
    ),
    Option(
        "auth_env",
        as_env_name,
        None,
        "Name of an environment variable holding a token; sent as 'Authorization: Bearer <token>'.",
        "name",
    ),
    Option(
        "basic_auth_env",
        as_env_name,
        None,
        "Name of an environment variable holding user:password; sent as HTTP Basic authentication.",
        "name",
    ),
    Option(
        "oauth2_token_url",
        as_url,
        None,
        "OAuth2 client credentials: the token endpoint; each request carries the token it "
        "gives, renewed before it expires and after a 401.",
        "URL",
    ),
    Option(
        "oauth2_client_id_env",
        as_env_name,
        None,
        "Name of the environment variable holding the OAuth2 client id.",
        "name",
    ),
    Option(
        "oauth2_client_secret_env",
        as_env_name,
        None,
        "Name of the environment variable holding the OAuth2 client secret.",
        "name",
    ),
    Option("oauth2_scope", as_optional_text, None, "OAuth2 scope to ask for, if any.", "text"),
    Option(
        "oauth2_audience",
        as_optional_text,
        None,
        "OAuth2 audience to ask for (Auth0 and others want one), if any.",
        "text",
    ),
    Option(
        "api_key_header",
        as_header_name,
        None,
        "Header that carries an API key, e.g. X-API-Key; the key comes from api_key_env.",
        "name",
    ),
    Option(
        "api_key_env",
        as_env_name,
        None,
        "Name of the environment variable holding the API key for api_key_header.",
        "name",
    ),
    Option(
        "status_rule",
        as_status_rules,
        (),
        "Override how a status counts, STATUS=VERDICT, "
        "e.g. 409=ok (already exists) or 404=REQUIRES_USER_ACTION; repeatable.",
        "list",
    ),
    Option(
        "capture",
        as_names,
        (),
        "Dotted path into the JSON response to keep as a results "
        "column (e.g. id, data.status); repeatable. Default: keep the whole response.",
        "list",
    ),
    Option(
        "cache_ttl",
        as_duration(0, allow_minimum=True),
        0.0,
        "Answer a repeated request from the local store for this long (e.g. 10m, 1d) "
        "instead of calling the API again; 0 = off. Only for cache_methods.",
        "duration",
    ),
    Option(
        "log_every",
        as_duration(0, allow_minimum=True),
        60.0,
        "Off a terminal (cron, a pipe), print a progress line to stderr this often; 0 for none.",
        "duration",
    ),
    Option(
        "notify_url",
        as_url,
        None,
        "When the run ends (done, rows failed, stopped or interrupted), POST its JSON summary "
        "here, e.g. a chat webhook; masked in every output, as webhook URLs are secrets.",
        "URL",
    ),
    Option(
        "notify_on",
        as_choice("always", "failure"),
        "always",
        "When to notify: always, or failure (the run did not end with every row ok).",
        "text",
    ),
    Option(
        "cache_methods",
        as_methods,
        ("GET", "HEAD"),
        "Methods whose answers may be cached with cache_ttl: look-ups the API does not "
        "change anything for; repeatable.",
        "list",
    ),
)

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
