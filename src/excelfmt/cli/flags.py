"""Flags whose name, help and default come from the settings table, for every command
that takes settings (run, check): one name everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..settings.options import OPTIONS_BY_NAME

REQUEST, WORKBOOK, SENDING = "Request", "Workbook", "Sending"
OUTPUT, AUTH = "Output", "Authentication and network"
POLITE = "Politeness and resilience"
SCALE = "Scale-out (queue extra)"
BULK = "Bulk: many rows a request"


def _literal(text: str) -> str:
    """`text` shown as it is in rich's help: a bracket escaped is never read as a style.
    (rich.markup.escape would do it too, and load rich's text engine into every command
    that builds flags: 0.04 s of every run's start.)"""
    return text.replace("[", "\\[")


def setting_option(
    name: str, panel: str, meaning: str | None = None, **extra: Any
) -> typer.models.OptionInfo:
    """The flag of setting `name`; `meaning` says what it does for this command when that
    is not the setting's general help. typer cannot show the default itself: every flag
    is None until given, so that the settings file and the environment can fill it."""
    option = OPTIONS_BY_NAME[name]
    default = f" \\[default: {option.shown_default}]" if option.shown_default else ""
    return typer.Option(  # type: ignore[no-any-return]
        option.flag,
        help=f"{_literal(meaning or option.help)} \\[env: {option.env}]{default}",
        rich_help_panel=panel,
        show_default=False,
        **extra,
    )


def given_settings(given: dict[str, object]) -> dict[str, object]:
    """The settings among a command's parameters (typer's locals()), as load_settings
    takes them: lists as tuples, paths as text."""
    return {
        name: tuple(value)
        if isinstance(value, list)
        else str(value)
        if isinstance(value, Path)
        else value
        for name, value in given.items()
        if name in OPTIONS_BY_NAME
    }


# The settings both run and check take, as parameter types: one declaration each.
Url = Annotated[str | None, setting_option("url", REQUEST, metavar="URL")]
Method = Annotated[str | None, setting_option("method", REQUEST, metavar="METHOD")]
Header = Annotated[list[str] | None, setting_option("header", REQUEST, metavar="'NAME: VALUE'")]
Body = Annotated[str | None, setting_option("body", REQUEST, metavar="JSON")]
Sheet = Annotated[str | None, setting_option("sheet", WORKBOOK, metavar="NAME")]
HeaderRow = Annotated[int | None, setting_option("header_row", WORKBOOK, metavar="N")]
Delimiter = Annotated[str | None, setting_option("delimiter", WORKBOOK, metavar="CHAR")]
Encoding = Annotated[str | None, setting_option("encoding", WORKBOOK, metavar="NAME")]
ColumnType = Annotated[list[str] | None, setting_option("type", WORKBOOK, metavar="COLUMN=TYPE")]
DecimalComma = Annotated[bool | None, setting_option("decimal_comma", WORKBOOK)]
MaxInflation = Annotated[int | None, setting_option("max_inflation", WORKBOOK, metavar="RATIO")]
Limit = Annotated[int | None, setting_option("limit", WORKBOOK, metavar="N")]
Batch = Annotated[int | None, setting_option("batch", BULK, metavar="N")]
BatchBytes = Annotated[str | None, setting_option("batch_bytes", BULK, metavar="SIZE")]
Bulk = Annotated[
    str | None,
    setting_option("bulk", BULK, metavar="array|salesforce|hubspot|elasticsearch|NAME"),
]
BulkAction = Annotated[str | None, setting_option("bulk_action", BULK, metavar="JSON")]
BisectBudget = Annotated[int | None, setting_option("bisect_budget", BULK, metavar="N")]
Profile = Annotated[str | None, setting_option("profile", OUTPUT, metavar="NAME")]
AuthEnv = Annotated[str | None, setting_option("auth_env", AUTH, metavar="VAR")]
BasicAuthEnv = Annotated[str | None, setting_option("basic_auth_env", AUTH, metavar="VAR")]
ApiKeyHeader = Annotated[str | None, setting_option("api_key_header", AUTH, metavar="NAME")]
ApiKeyEnv = Annotated[str | None, setting_option("api_key_env", AUTH, metavar="VAR")]
Queue = Annotated[str | None, setting_option("queue", SCALE, metavar="redis://HOST:PORT/DB")]
LockDuration = Annotated[str | None, setting_option("lock_duration", SCALE, metavar="DURATION")]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        rich_help_panel=OUTPUT,
        show_default=False,
        help="Settings file (default: ./excelfmt.toml when it exists).",
    ),
]
