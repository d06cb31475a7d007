"""What to keep of a response body: its value, the API's error message, captured fields.

APIs word their errors in a handful of shapes; `error_message` knows the common ones
({"message"}, {"error"}, {"detail"}, RFC 9457 problem details, {"errors": [...]}) and
falls back to the start of the text.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence

from ..models import JSONValue

MESSAGE_LIMIT = 300
"""Characters of an error message kept: enough for a sentence, short for a cell."""
TEXT_LIMIT = 32_000
"""Characters of a non-JSON body kept; an Excel cell holds at most 32,767."""

_TAGS = re.compile(r"<[^>]+>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


def decode_body(body: bytes, content_type: str = "") -> JSONValue:
    """The body as JSON when it is JSON, else as (truncated) text; None when empty."""
    if not body.strip():
        return None
    if "json" in content_type.lower() or body.lstrip()[:1] in (b"{", b"["):
        try:
            # As text when it is UTF-8 without a BOM, as it nearly always is: given
            # bytes, json.loads first works out their encoding (UTF-16 and -32 are
            # allowed, and a BOM), a third of the time of decoding a small answer.
            text: str | bytes = body
            if not body.startswith(b"\xef\xbb\xbf"):
                with contextlib.suppress(UnicodeDecodeError):
                    text = body.decode()
            value: JSONValue = json.loads(text)
            return value
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
    return body[: TEXT_LIMIT * 4].decode("utf-8", "replace")[:TEXT_LIMIT]


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def error_message(body: JSONValue, reason: str = "") -> str:
    """The API's own words for what went wrong, short; the reason phrase as a fallback."""
    found = _from_json(body) if isinstance(body, dict | list) else None
    if found is None and isinstance(body, str):
        title = _TITLE.search(body)
        found = title.group(1) if title else _TAGS.sub(" ", body)
    found = shorten(found or "")
    return found or reason


def field_errors(body: JSONValue) -> list[tuple[str, str]]:
    """(field, message) pairs from the common validation-error shapes."""
    if not isinstance(body, dict):
        return []
    pairs: list[tuple[str, str]] = []
    items = body.get("errors") or body.get("invalid_params") or body.get("detail")
    if isinstance(items, dict):  # {"errors": {"amount": ["must be > 0"]}}
        for name, messages in items.items():
            listed = messages if isinstance(messages, list) else [messages]
            pairs.extend((name, str(message)) for message in listed)
    elif isinstance(items, list):
        for item in items:
            if not isinstance(item, dict):
                continue
            field = item.get("field") or item.get("name") or item.get("pointer") or item.get("loc")
            message = item.get("message") or item.get("msg") or item.get("reason")
            named = item.get("fields")
            if field is None and isinstance(named, list) and message is not None:
                # Salesforce: {"statusCode": ..., "message": ..., "fields": ["Email"]}
                pairs.extend((str(name), str(message)) for name in named)
                continue
            if isinstance(field, list):  # FastAPI: "loc": ["body", "amount"]
                field = ".".join(str(part) for part in field if part != "body")
            if field is not None and message is not None:
                pairs.append((str(field), str(message)))
    return pairs


def _from_json(body: dict[str, JSONValue] | list[JSONValue]) -> str | None:
    if isinstance(body, list):
        return (
            "; ".join(
                filter(None, (_from_json(i) if isinstance(i, dict) else str(i) for i in body[:5]))
            )
            or None
        )
    fields = field_errors(body)
    if fields:
        listed = "; ".join(f"{field}: {message}" for field, message in fields[:5])
        lead = body.get("message") or body.get("title")
        return f"{lead} ({listed})" if isinstance(lead, str) and lead else listed
    for key in ("message", "error_description", "detail", "error", "title", "msg", "errors"):
        value = body.get(key)
        if isinstance(value, str) and value:
            title = body.get("title")
            if key == "detail" and isinstance(title, str) and title and title != value:
                return f"{title}: {value}"  # RFC 9457: the title names it, detail explains
            return value
        if isinstance(value, dict | list) and value:
            nested = _from_json(value)
            if nested:
                return nested
    return None


def capture(body: JSONValue, paths: Sequence[str]) -> dict[str, JSONValue]:
    """The values at dotted `paths` in a JSON body ("data.id", "items.0.sku"); None if absent."""
    return {path: value_at(body, path) for path in paths}


def value_at(value: JSONValue, path: str) -> JSONValue:
    """The value at a dotted path ("errors.0.message", "items.-1"); "" is the value itself,
    `*` the only value of a one-key object (a bulk answer's {"index": {...}}); None where
    the path leads nowhere."""
    if not path:
        return value
    for part in path.split("."):
        if isinstance(value, dict):
            if part == "*":
                value = next(iter(value.values())) if len(value) == 1 else None
            else:
                value = value.get(part)
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return None
    return value
