"""Converters from what TOML, the environment (always text) or a flag gives to a setting's
value. Each raises ValueError with the reason a person should read.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from ..models import Category, JSONValue

SUCCESS = "ok"
"""The status rule value that makes a status count as success."""

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value.strip()


def as_optional_text(value: object) -> str | None:
    return _text(value) or None


def as_whole(minimum: int, maximum: int) -> Callable[[object], int]:
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


def as_seconds(minimum: float, *, allow_minimum: bool) -> Callable[[object], float]:
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


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)?\s*$")


def as_duration(minimum: float, *, allow_minimum: bool) -> Callable[[object], float]:
    """Seconds, from a number or text such as "300", "30s", "5m", "1.5h", "30d", "2w"."""
    number = as_seconds(minimum, allow_minimum=allow_minimum)

    def convert(value: object) -> float:
        if isinstance(value, str):
            found = _DURATION.match(value)
            if not found:
                raise ValueError(f"expected a duration such as 30s, 5m, 1h or 7d, got {value!r}")
            value = float(found.group(1)) * _UNITS[found.group(2) or "s"]
        return number(value)

    return convert


def as_fraction(value: object) -> float:
    share = as_seconds(0, allow_minimum=True)(value)
    if share > 1:
        raise ValueError(f"must be between 0 and 1, got {share:g}")
    return share


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


def _http_url(value: object) -> str:
    url = _text(value)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"'{parts.scheme}'" if parts.scheme else "none"
        raise ValueError(f"must start with http:// or https:// (scheme is {shown})")
    if not parts.netloc:
        raise ValueError(f"has no host: {url!r}")
    return url


def as_url(value: object) -> str | None:
    return _http_url(value) if _text(value) else None


def as_proxy(value: object) -> str | None:
    return _http_url(value) if _text(value) else None


def as_method(value: object) -> str:
    method = _text(value)
    # A template such as "{Action}" is checked per row, once it has a value.
    if not ("{" in method or _HEADER_NAME.match(method)):
        raise ValueError(f"is not an HTTP method: {method!r}")
    return method.upper() if "{" not in method else method


def as_methods(value: object) -> tuple[str, ...]:
    methods = tuple(_text(item).upper() for item in _list(value))
    for method in methods:
        if not _HEADER_NAME.match(method):
            raise ValueError(f"is not an HTTP method: {method!r}")
    return methods


def parse_header(item: str) -> tuple[str, str]:
    """Split "Name: value" into its parts, or explain why it is not a header."""
    name, sep, value = item.partition(":")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"expected 'Name: value', got {item!r}")
    if not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid header name")
    return name, value.strip()


def as_headers(value: object) -> tuple[str, ...]:
    if isinstance(value, dict):  # a TOML table {Name = "value"}
        items = [f"{name}: {text}" for name, text in value.items()]
    else:
        items = [_text(item) for item in _list(value)]
    for item in items:
        parse_header(item)
    return tuple(items)


def as_names(value: object) -> tuple[str, ...]:
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


def as_status_rules(value: object) -> tuple[tuple[int, str], ...]:
    if isinstance(value, dict):  # a TOML table {"409" = "ok"}
        items = [f"{code}={verdict}" for code, verdict in value.items()]
    elif isinstance(value, str) and not value.strip().startswith("["):
        items = [part for part in value.split(",") if part.strip()]
    else:
        items = [_text(item) for item in _list(value)]
    return tuple(sorted(dict(parse_status_rule(item) for item in items).items()))


def json_value(value: object) -> JSONValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    raise ValueError(f"{value!r} cannot be part of a JSON body")


def as_body(value: object) -> JSONValue:
    """A body template: JSON text from a flag or the environment, any value from TOML."""
    if isinstance(value, str):
        try:
            return json_value(json.loads(value))
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos})") from None
    return json_value(value)


def as_path(value: object) -> Path | None:
    text = _text(value)
    return Path(text).expanduser() if text else None


def as_output(value: object) -> Path | None:
    path = as_path(value)
    if path is not None and path.suffix.lower() not in (".xlsx", ".jsonl"):
        raise ValueError(f"must end in .xlsx or .jsonl, got {path.name!r}")
    return path


def as_env_name(value: object) -> str | None:
    name = _text(value)
    if name and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise ValueError(f"{name!r} is not an environment variable name")
    return name or None


def as_header_name(value: object) -> str | None:
    name = _text(value)
    if name and not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid header name")
    return name or None


_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def as_delimiter(value: object) -> str | None:
    """A CSV delimiter: one character, or tab / \\t (a tab is hard to type in a flag)."""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    text = value.strip(" ")  # a tab is whitespace too, and may be the very delimiter
    if not text:
        return None
    text = _DELIMITER_NAMES.get(text.lower(), text)
    if len(text) != 1 or text in '"\r\n':
        raise ValueError(f"expected one character such as ; or tab, got {value!r}")
    return text


def as_encoding(value: object) -> str | None:
    """A text encoding Python knows (utf-8, cp1252, latin-1, utf-16...), by its usual name."""
    name = _text(value)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"{name!r} is not a text encoding (utf-8, cp1252, latin-1, ...)") from None


def as_queue_url(value: object) -> str | None:
    """A Redis URL: redis://[:password@]host:port/db, rediss:// for TLS, unix:// for a socket."""
    text = _text(value)
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ValueError(f"must be a Redis URL such as redis://localhost:6379/0, got {text!r}")
    return text


def as_flag(value: object) -> bool:
    """On or off: true/false from TOML, true/false, yes/no, 1/0 from the environment."""
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise ValueError(f"must be true or false, got {value!r}")


COLUMN_TYPES = ("text", "integer", "number", "decimal", "boolean", "date", "datetime")


def parse_column_type(item: str) -> tuple[str, str]:
    # The last "=": a column name may hold one, a type never does.
    column, sep, kind = item.rpartition("=")
    column, kind = column.strip(), kind.strip().lower()
    if not sep or not column:
        raise ValueError(f"expected COLUMN=TYPE such as Zip=text, got {item!r}")
    if kind not in COLUMN_TYPES:
        raise ValueError(f"{kind!r} is not a column type; the types are {', '.join(COLUMN_TYPES)}")
    return column, kind


def as_column_types(value: object) -> tuple[tuple[str, str], ...]:
    """Column types, from a TOML table {Zip = "text"} or COLUMN=TYPE items; the last one
    given for a column counts."""
    if isinstance(value, dict):
        items = [f"{column}={kind}" for column, kind in value.items()]
    elif isinstance(value, str) and not value.strip().startswith("["):
        items = [part for part in value.split(",") if part.strip()]
    else:
        items = [_text(item) for item in _list(value)]
    return tuple(dict(parse_column_type(item) for item in items).items())


def as_choice(*choices: str) -> Callable[[object], str]:
    """One of `choices`, in any case."""

    def convert(value: object) -> str:
        text = _text(value).lower()
        if text not in choices:
            raise ValueError(f"must be {' or '.join(choices)}, got {value!r}")
        return text

    return convert
