"""Every setting's name, default, converter and help, in one table.

The table drives the config file, the `EXCELFMT_*` environment variables and the generated
reference in docs/configuration.md; the CLI declares one flag per entry (a test checks).
One name per setting: `header_row` is `header_row = 2` in excelfmt.toml,
`EXCELFMT_HEADER_ROW=2` in the environment and `--header-row 2` on the command line.
Converters take what TOML, the environment (always text) or a flag gives, and raise
ValueError with the reason a person should read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .models import Category, JSONValue

SUCCESS = "ok"
"""The status rule value that makes a status count as success."""

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


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


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value.strip()


def _optional_text(value: object) -> str | None:
    return _text(value) or None


def _whole(minimum: int, maximum: int) -> Callable[[object], int]:
    def convert(value: object) -> int:
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError(f"expected a whole number, got {value!r}") from None
        if not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}, got {value}")
        return value

    return convert


def _seconds(minimum: float, *, allow_minimum: bool) -> Callable[[object], float]:
    def convert(value: object) -> float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ValueError(f"expected a number, got {value!r}") from None
        if not isinstance(value, int | float) or value != value:
            raise ValueError(f"expected a number, got {value!r}")
        if value < minimum or (value == minimum and not allow_minimum):
            bound = "at least" if allow_minimum else "more than"
            raise ValueError(f"must be {bound} {minimum:g}, got {value:g}")
        return float(value)

    return convert


def _list(value: object) -> list[object]:
    """A list from TOML or a flag; from the environment a JSON array or one item."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not a valid JSON array ({exc.msg})") from None
        else:
            return [text] if text else []
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError(f"expected a list, got {value!r}")


def _http_url(value: object, *, what: str) -> str:
    url = _text(value)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"'{parts.scheme}'" if parts.scheme else "none"
        raise ValueError(f"{what} must start with http:// or https:// (scheme is {shown})")
    if not parts.netloc:
        raise ValueError(f"{what} has no host: {url!r}")
    return url


def _url(value: object) -> str | None:
    return _http_url(value, what="the URL") if _text(value) else None


def _proxy(value: object) -> str | None:
    return _http_url(value, what="the proxy URL") if _text(value) else None


def _method(value: object) -> str:
    method = _text(value)
    # A template such as "{Action}" is checked per row, once it has a value.
    if not ("{" in method or _HEADER_NAME.match(method)):
        raise ValueError(f"is not an HTTP method: {method!r}")
    return method.upper() if "{" not in method else method


def parse_header(item: str) -> tuple[str, str]:
    """Split "Name: value" into its parts, or explain why it is not a header."""
    name, sep, value = item.partition(":")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"expected 'Name: value', got {item!r}")
    if not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid header name")
    return name, value.strip()


def _headers(value: object) -> tuple[str, ...]:
    if isinstance(value, dict):  # a TOML table {Name = "value"}
        items = [f"{name}: {text}" for name, text in value.items()]
    else:
        items = [_text(item) for item in _list(value)]
    for item in items:
        parse_header(item)
    return tuple(items)


def _names(value: object) -> tuple[str, ...]:
    names = tuple(_text(item) for item in _list(value))
    if any(not name for name in names):
        raise ValueError("an entry is empty")
    return names


def parse_status_rule(item: str) -> tuple[int, str]:
    code_text, sep, verdict = item.partition("=")
    try:
        code = int(code_text.strip())
    except ValueError:
        code = 0
    if not sep or not 100 <= code <= 599:
        raise ValueError(f"expected STATUS=VERDICT such as 409=ok, got {item!r}")
    verdict = verdict.strip()
    if verdict.lower() == SUCCESS:
        return code, SUCCESS
    try:
        return code, Category(verdict.upper()).value
    except ValueError:
        choices = ", ".join([SUCCESS, *(c.value for c in Category)])
        raise ValueError(f"{verdict!r} is not one of {choices}") from None


def _status_rules(value: object) -> tuple[tuple[int, str], ...]:
    if isinstance(value, dict):  # a TOML table {"409" = "ok"}
        items = [f"{code}={verdict}" for code, verdict in value.items()]
    elif isinstance(value, str) and not value.strip().startswith("["):
        items = [part for part in value.split(",") if part.strip()]
    else:
        items = [_text(item) for item in _list(value)]
    return tuple(sorted(dict(parse_status_rule(item) for item in items).items()))


def _json_value(value: object) -> JSONValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    raise ValueError(f"{value!r} cannot be part of a JSON body")


def _body(value: object) -> JSONValue:
    """A body template: JSON text from a flag or the environment, any value from TOML."""
    if isinstance(value, str):
        try:
            return _json_value(json.loads(value))
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    return _json_value(value)


def _path(value: object) -> Path | None:
    text = _text(value)
    return Path(text).expanduser() if text else None


def _output(value: object) -> Path | None:
    path = _path(value)
    if path is not None and path.suffix.lower() not in (".xlsx", ".jsonl"):
        raise ValueError(f"must end in .xlsx or .jsonl, got {path.name!r}")
    return path


def _env_name(value: object) -> str | None:
    name = _text(value)
    if name and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise ValueError(f"{name!r} is not an environment variable name")
    return name or None


def _header_name(value: object) -> str | None:
    name = _text(value)
    if name and not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid header name")
    return name or None


OPTIONS: tuple[Option, ...] = (
    Option(
        "url", _url, None, "API URL; {Column} placeholders are filled per row, URL-encoded.", "URL"
    ),
    Option("method", _method, "POST", "HTTP method (may be a {Column} template).", "text"),
    Option(
        "header",
        _headers,
        (),
        "Request header 'Name: value' ({Column} placeholders work); repeat the flag for more.",
        "list",
    ),
    Option(
        "body",
        _body,
        None,
        'Body template as JSON: "{Col}" alone keeps the cell\'s type, '
        "{Col} inside text is interpolated, {_row} is the sheet row. Default: the row as a "
        "JSON object (no body for GET, HEAD, DELETE, OPTIONS).",
        "JSON",
    ),
    Option(
        "sheet", _optional_text, None, "Sheet to read (default: the first visible sheet).", "text"
    ),
    Option("header_row", _whole(1, 1_048_576), 1, "Row that holds the column names.", "number"),
    Option("limit", _whole(1, 100_000_000), None, "Send only the first N data rows.", "number"),
    Option(
        "output",
        _output,
        None,
        "Results file, .xlsx or .jsonl (default: <input>.results.xlsx beside the input).",
        "path",
    ),
    Option("concurrency", _whole(1, 1000), 16, "Most requests in flight at once.", "number"),
    Option(
        "rate",
        _seconds(0, allow_minimum=True),
        0.0,
        "Most requests per second (0 = no cap).",
        "number",
    ),
    Option(
        "timeout",
        _seconds(0, allow_minimum=False),
        30.0,
        "Seconds to wait for connect and for each read of a response.",
        "number",
    ),
    Option(
        "proxy",
        _proxy,
        None,
        "HTTP proxy URL (HTTP_PROXY, HTTPS_PROXY and NO_PROXY are honoured too).",
        "URL",
    ),
    Option(
        "ca_bundle",
        _path,
        None,
        "PEM file of CA certificates to trust (SSL_CERT_FILE works too).",
        "path",
    ),
    Option(
        "auth_env",
        _env_name,
        None,
        "Name of an environment variable holding a token; sent as 'Authorization: Bearer <token>'.",
        "name",
    ),
    Option(
        "api_key_header",
        _header_name,
        None,
        "Header that carries an API key, e.g. X-API-Key; the key comes from api_key_env.",
        "name",
    ),
    Option(
        "api_key_env",
        _env_name,
        None,
        "Name of the environment variable holding the API key for api_key_header.",
        "name",
    ),
    Option(
        "status_rule",
        _status_rules,
        (),
        "Override how a status counts, STATUS=VERDICT, "
        "e.g. 409=ok (already exists) or 404=REQUIRES_USER_ACTION; repeatable.",
        "list",
    ),
    Option(
        "capture",
        _names,
        (),
        "Dotted path into the JSON response to keep as a results "
        "column (e.g. id, data.status); repeatable. Default: keep the whole response.",
        "list",
    ),
)

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
