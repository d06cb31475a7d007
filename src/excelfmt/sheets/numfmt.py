"""A number as Excel displays it under a cell's number format: 00000 shows 1010 as 01010.

Postcodes, SKUs and account numbers are often stored as numbers and shown with a format
that pads them; an API wants what the person sees. This renders the number formats such
columns use: digit placeholders (0 # ?), thousands separators and scaling commas, fixed
decimals, percent, scientific notation, literal text ("SKU-", \\-, _x, [$€-407]) and the
sections for negative and zero values. What it does not render (fractions, conditions,
text-only formats) falls back to the number as General shows it, never a wrong text.
The only library that ports Excel's formatter to Python (ssf) no longer installs.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_PLACEHOLDERS = "0#?"
_QUOTED_OR_TOKEN = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]|(?i:general)|[eE][+-]|.', re.DOTALL)
_GENERAL = "G"
"""The token for General inside a section ([Blue]General, General" kg"): the number as
General shows it."""
_CURRENCY = re.compile(r"^\[\$([^-\]]*)(?:-[0-9A-Fa-f]+)?\]$")
_GENERAL_DIGITS = 15
"""Significant digits Excel keeps and shows of a number."""


class DisplayedInt(int):
    """An integer cell and the number format it is shown with."""

    number_format: str


class DisplayedFloat(float):
    """A decimal cell and the number format it is shown with."""

    number_format: str


def displayed(number: int | float, number_format: str) -> int | float:
    """`number` tagged with the format the cell shows it in (for a `text` column)."""
    tagged = DisplayedInt(number) if isinstance(number, int) else DisplayedFloat(number)
    tagged.number_format = number_format
    return tagged


def general(number: int | float) -> str:
    """A number as the General format shows it: 15 significant digits, no float noise."""
    if isinstance(number, int):
        return str(int(number))
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return format(float(number), f".{_GENERAL_DIGITS}g").replace("e", "E")


def render(number: int | float, number_format: str) -> str:
    """The text Excel shows for `number` in a cell with `number_format`."""
    sections = _split_sections(number_format)
    if number < 0 and len(sections) > 1:
        section, value, sign = sections[1], -number, ""
    elif number == 0 and len(sections) > 2:
        section, value, sign = sections[2], number, ""
    else:
        section, value, sign = sections[0], abs(number), "-" if number < 0 else ""
    tokens = _tokens(section)
    if tokens is None:
        return general(number)
    if _GENERAL in tokens:  # colours, a locale or literal text around General
        return sign + "".join(general(value) if t == _GENERAL else t[1:] for t in tokens)
    if not any(t in _PLACEHOLDERS for t in tokens):
        return _literals(tokens)  # e.g. a zero section that says "none"
    # Spaces from ? placeholders align numbers in a column; an API wants none of them.
    text = _fill(tokens, Decimal(general(value))).strip()
    if sign and text.strip("0.,% ") == "" and "E" not in text:
        sign = ""  # -0.001 shown with 0.00 is 0.00, not -0.00
    return sign + text


def _split_sections(number_format: str) -> list[str]:
    sections, current = [], ""
    for token in _QUOTED_OR_TOKEN.findall(number_format):
        if token == ";":
            sections.append(current)
            current = ""
        else:
            current += token
    sections.append(current)
    return sections


def _tokens(section: str) -> list[str] | None:
    """The section's tokens: placeholders, ".", ",", "%", "E+"/"E-" and literal texts
    (prefixed "="); None for what this module does not render."""
    if section.strip().lower() in ("", "general", "@"):
        return None
    tokens: list[str] = []
    for token in _QUOTED_OR_TOKEN.findall(section):
        if token.startswith('"'):
            tokens.append("=" + token[1:-1])
        elif token.startswith("\\"):
            tokens.append("=" + token[1])
        elif token.startswith("_"):
            continue  # a space as wide as a character: alignment, not text
        elif token.startswith("*"):
            continue  # a fill character: cell width, not text
        elif token.startswith("["):
            currency = _CURRENCY.match(token)
            if currency:
                tokens.append("=" + currency.group(1))
            elif token[1:-1].lower().startswith(("<", ">", "=")) or "dbnum" in token.lower():
                return None  # conditions and native numerals
        elif token.lower() == "general":
            tokens.append(_GENERAL)
        elif token == "%":
            tokens.append("=%")
        elif token in _PLACEHOLDERS or token in ".," or token in ("E+", "E-", "e+", "e-"):
            tokens.append(token.upper())
        elif token in "/@":
            return None  # fractions, text
        else:
            tokens.append("=" + token)
    return tokens


def _fill(tokens: list[str], value: Decimal) -> str:
    """The tokens with `value`'s digits in its placeholders (value is not negative)."""
    exponent_at = next((i for i, t in enumerate(tokens) if t in ("E+", "E-")), None)
    mantissa = tokens if exponent_at is None else tokens[:exponent_at]
    value *= 100 ** tokens.count("=%")
    point = mantissa.index(".") if "." in mantissa else len(mantissa)
    integer_tokens, decimal_tokens = mantissa[:point], mantissa[point + 1 :]
    # Commas right after the last integer placeholder divide by 1,000 each; a comma
    # between placeholders asks for thousands separators.
    last = max((i for i, t in enumerate(integer_tokens) if t in _PLACEHOLDERS), default=-1)
    scaling = sum(1 for t in integer_tokens[last + 1 :] if t == ",")
    grouped = "," in integer_tokens[: last + 1] and last >= 0
    value /= Decimal(1000) ** scaling
    integer_tokens = [t for t in integer_tokens if t != ","]
    decimals = sum(1 for t in decimal_tokens if t in _PLACEHOLDERS)

    exponent_text = ""
    if exponent_at is not None:
        integer_places = sum(1 for t in integer_tokens if t in _PLACEHOLDERS) or 1
        exponent = 0
        if value:
            exponent = value.adjusted() - (integer_places - 1)
            value = value.scaleb(-exponent)
        digits = tokens[exponent_at + 1 :]
        width = sum(1 for t in digits if t == "0")
        shown = str(abs(exponent)).rjust(width, "0")
        sign = "-" if exponent < 0 else ("+" if tokens[exponent_at] == "E+" else "")
        exponent_text = "E" + sign + shown + _literals(digits)

    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    whole = whole.lstrip("0")
    return (
        _integer_part(integer_tokens, whole, grouped)
        + ("." if "." in mantissa else "")
        + _decimal_part(decimal_tokens, fraction)
        + exponent_text
    )


def _integer_part(tokens: list[str], digits: str, grouped: bool) -> str:
    """Digits fill the placeholders from the right; extra digits go to the leftmost."""
    places = [i for i, t in enumerate(tokens) if t in _PLACEHOLDERS]
    out = [t[1:] if t.startswith("=") else "" for t in tokens]
    if not places:
        return "".join(out) + digits
    remaining = digits
    for index in reversed(places):
        if remaining:
            out[index], remaining = remaining[-1], remaining[:-1]
        else:
            out[index] = {"0": "0", "?": " ", "#": ""}[tokens[index]]
    out[places[0]] = remaining + out[places[0]]
    if not grouped:
        return "".join(out)
    # Thousands separators go into the number's own digits, which run from the first
    # placeholder to the last (literals between them, as in 000-00-0000, stay put).
    first, last = places[0], places[-1]
    number = "".join(out[first : last + 1])
    return "".join(out[:first]) + _group(number) + "".join(out[last + 1 :])


def _group(digits: str) -> str:
    head = digits.lstrip(" ")
    pad = digits[: len(digits) - len(head)]
    groups: list[str] = []
    while len(head) > 3:
        groups.insert(0, head[-3:])
        head = head[:-3]
    return pad + ",".join([head, *groups] if head else groups)


def _decimal_part(tokens: list[str], digits: str) -> str:
    """Digits fill the placeholders from the left; # drops trailing zeros, ? pads them."""
    out = []
    digit_list = list(digits)
    places = [i for i, t in enumerate(tokens) if t in _PLACEHOLDERS]
    trailing_zero = True
    shown = {}
    for index in reversed(places):
        digit = digit_list.pop() if digit_list else "0"
        if trailing_zero and digit == "0" and tokens[index] != "0":
            shown[index] = " " if tokens[index] == "?" else ""
        else:
            trailing_zero = False
            shown[index] = digit
    for index, token in enumerate(tokens):
        out.append(shown[index] if index in shown else _literals([token]))
    return "".join(out)


def _literals(tokens: list[str]) -> str:
    return "".join(t[1:] for t in tokens if t.startswith("="))
