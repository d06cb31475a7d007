"""The settings of bulk sending (many rows a request): a part of the settings table
(options.py), kept apart so that each file reads as one topic; and the bulk styles,
the four presets and the check of a `[bulk.NAME]` table (calls/bulk.py uses them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageError
from ..jsontext import compact
from ..models import JSONValue
from .converters import as_body, as_whole, json_value
from .option import Option

ITEMS = "{_items}"
"""Where the items go in an envelope."""
DEFAULT_BATCH = 100
"""Rows a request when --bulk is given without --batch and the style names no maximum."""
MAX_BATCH = 10_000

PRESETS: Mapping[str, Mapping[str, JSONValue]] = {
    "array": {"format": "json", "envelope": ITEMS, "results": ""},
    "salesforce": {
        "format": "json",
        "envelope": {"allOrNone": False, "records": ITEMS},
        "results": "",
        "success": "success",
        "message": "errors.0.message",
        "max_batch": 200,
    },
    "hubspot": {
        "format": "json",
        "envelope": {"inputs": ITEMS},
        "match": "trace",
        "trace": "objectWriteTraceId",
        "results": "results",
        "id": "objectWriteTraceId",
        "errors": "errors",
        "error_id": "context.objectWriteTraceId",
        "message": "message",
        "max_batch": 100,
    },
    "elasticsearch": {
        "format": "ndjson",
        "action": {"index": {}},
        "results": "items",
        "status": "*.status",
        "message": "*.error.reason",
    },
}
"""The four styles every user gets; a `[bulk.NAME]` table is checked against the same keys."""

PATH_KEYS = ("results", "success", "status", "message", "trace", "id", "errors", "error_id")
STYLE_KEYS = (*PATH_KEYS, "format", "envelope", "match", "action", "max_batch")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def as_bulk(value: object) -> str | dict[str, JSONValue] | None:
    """A style's name (a preset, or a [bulk.NAME] table config.py looks up), or the
    checked table of a style (a session's recorded settings hold the table itself)."""
    if isinstance(value, dict):
        return style_table(value)
    if not isinstance(value, str):
        raise ValueError(f"must name a bulk style, got {value!r}")
    name = value.strip().lower()
    if not name:
        return None
    if not _NAME.match(name):
        raise ValueError(f"{value!r} is not a style name (letters, digits, - and _)")
    return name


def style_table(value: Mapping[str, object]) -> dict[str, JSONValue]:
    """A style's table, checked, with its defaults filled in; ValueError if it is not one."""
    table = {str(key): _style_value(str(key), item) for key, item in value.items()}
    name = str(table.pop("name", "custom"))
    unknown = sorted(set(table) - set(STYLE_KEYS))
    if unknown:
        raise ValueError(f"has no key {unknown[0]!r} (a style has {', '.join(sorted(STYLE_KEYS))})")
    form = table.setdefault("format", "json")
    if form not in ("json", "ndjson"):
        raise ValueError(f"format must be json or ndjson, not {form!r}")
    match = table.setdefault("match", "position")
    if match not in ("position", "trace"):
        raise ValueError(f"match must be position or trace, not {match!r}")
    for key in PATH_KEYS:
        if key in table and not isinstance(table[key], str):
            raise ValueError(f'{key} must be a dotted path as text, like "data.results"')
    table.setdefault("results", "")
    if form == "json":
        envelope = table.setdefault("envelope", ITEMS)
        if compact(envelope).count(compact(ITEMS)) != 1:
            raise ValueError(f'envelope must hold "{ITEMS}" once, where the items go')
        if table.get("action"):
            raise ValueError("only an ndjson style has an action line")
    elif "envelope" in table:
        raise ValueError("an ndjson style has no envelope: each row is its own line")
    if match == "trace" and not all(table.get(key) for key in ("trace", "errors", "error_id")):
        raise ValueError('match = "trace" needs trace, errors and error_id')
    maximum = table.get("max_batch")
    if maximum is not None:
        table["max_batch"] = as_whole(1, MAX_BATCH)(maximum)
    return {"name": name, **table}


def _style_value(key: str, value: object) -> JSONValue:
    """A key's value: the envelope and the action may be written as JSON text too."""
    if key in ("envelope", "action") and isinstance(value, str) and value.strip() != ITEMS:
        return as_body(value)
    return json_value(value)


def preset_or_table(value: str | Mapping[str, JSONValue] | None) -> dict[str, JSONValue]:
    """The table of the style a run's `bulk` setting names or holds (array when none)."""
    if value is None:
        value = "array"
    if isinstance(value, str):
        return style_table({"name": value, **PRESETS[value]})
    return dict(value)


def as_size(value: object) -> int:
    """Bytes, written 5MB, 512kB, 1MiB or a plain number."""
    if isinstance(value, int) and not isinstance(value, bool):
        number, unit = float(value), ""
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?[bB]|[bB])?\s*", value)
        if match is None:
            raise ValueError(f"expected a size like 5MB or 512kB, got {value!r}")
        number, unit = float(match.group(1)), (match.group(2) or "").lower()
    else:
        raise ValueError(f"expected a size like 5MB or 512kB, got {value!r}")
    factor = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
    factor |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3}
    size = int(number * factor[unit])
    if not 1_000 <= size <= 1_000_000_000:
        raise ValueError(f"must be between 1kB and 1GB, got {value!r}")
    return size


def styles_in(path: Path, data: dict[str, object]) -> dict[str, dict[str, JSONValue]]:
    """The file's [bulk.NAME] tables, taken out of `data`, each checked as a style. (A
    top-level `bulk = "salesforce"` names a style and stays a setting.)"""
    tables = data.get("bulk")
    if not isinstance(tables, dict):
        return {}
    del data["bulk"]
    styles = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise UsageError(
                f'Config file {path}: bulk must name a style (bulk = "salesforce") or hold '
                f"tables of styles ([bulk.{name}] format = ...), not {name} = {table!r}."
            )
        try:
            styles[name.lower()] = style_table({"name": name.lower(), **table})
        except ValueError as exc:
            raise UsageError(f"Config file {path}: [bulk.{name}] {exc}.") from None
    return styles


def chosen_style(
    values: dict[str, object], styles: Mapping[str, dict[str, JSONValue]], path: Path | None
) -> None:
    """Put a custom style's table in place of its name: a session records the style
    itself, so a resume, a reprocess or a worker elsewhere sends as this run did."""
    name = values.get("bulk")
    if not isinstance(name, str) or name in PRESETS:
        return
    if name not in styles:
        defined = ", ".join(sorted(styles)) or "none"
        where = f"{path} defines: {defined}" if path else "no config file defines styles"
        raise UsageError(
            f"bulk: no style named {name!r}; the presets are {', '.join(PRESETS)} and "
            f"{where} (a [bulk.{name}] table)."
        )
    values["bulk"] = styles[name]


def check_batching(values: dict[str, object]) -> None:
    """Settle `batch` (with bulk alone, the style's most) and refuse what cannot batch."""
    bulk, batch = values["bulk"], values["batch"]
    if bulk is None and batch in (None, 1):
        values["batch"] = 1
        return
    table = preset_or_table(bulk)  # type: ignore[arg-type]
    name, maximum = table["name"], table.get("max_batch")
    if batch is None:
        values["batch"] = batch = maximum or DEFAULT_BATCH
    if isinstance(maximum, int) and int(batch) > maximum:  # type: ignore[call-overload]
        raise UsageError(
            f"batch {batch} is more than the {name} style takes in one request ({maximum}); "
            f"give --batch {maximum} or less."
        )
    if float(values["cache_ttl"]) > 0 and int(batch) > 1:  # type: ignore[arg-type,call-overload]
        raise UsageError(
            "cache_ttl keeps the answers of single requests; it cannot be used with batch "
            "(rows sent many a request)."
        )
    if values["bulk_action"] is not None and table["format"] != "ndjson":
        raise UsageError(
            f"bulk_action is the action line of an ndjson style such as elasticsearch; the "
            f"{name} style has none."
        )
    method = str(values["method"]).upper()
    if method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        raise UsageError(
            f"batch sends rows in a request body, and --method {method} carries none; use "
            "POST, PUT or PATCH (or leave --batch out)."
        )


BULK_OPTIONS: tuple[Option, ...] = (
    Option(
        "batch",
        as_whole(1, MAX_BATCH),
        None,
        "Rows per request: up to N rows go in one request, wrapped as bulk says, and each "
        "row still gets its own outcome. Default 1 (a request per row); with bulk, the "
        "style's most (else 100). A batch that is not full goes out after a moment; only "
        "rows bound for the same URL share one.",
        "number",
    ),
    Option(
        "batch_bytes",
        as_size,
        5_000_000,
        "With batch: a request is closed before its body passes this size (5MB, 512kB).",
        "size",
    ),
    Option(
        "bulk",
        as_bulk,
        None,
        "With batch: how rows are wrapped and answered: array (a JSON array, the default), "
        "salesforce (sObject Collections, up to 200), hubspot (CRM batch inputs, up to 100, "
        "multi-status), elasticsearch (_bulk NDJSON), or NAME, a [bulk.NAME] table of "
        "excelfmt.toml. Alone, it sends batches of the style's most (else 100).",
        "text",
    ),
    Option(
        "bulk_action",
        as_body,
        None,
        "With an ndjson style: the action line before each row, a JSON template, e.g. "
        '\'{"index": {"_index": "orders", "_id": "{Order}"}}\' (default {"index": {}}).',
        "JSON",
    ),
    Option(
        "bisect_budget",
        as_whole(0, 100_000),
        100,
        "With batch: most extra requests spent narrowing down a batch refused as a whole "
        "(a 4xx naming no row) to the rows that caused it; past it the rest of that batch "
        "is refused with the batch's message.",
        "number",
    ),
)
