"""Flags whose name, help and default come from the settings table, for every command
that takes settings (run, check): one name everywhere."""

from __future__ import annotations

import typer

from ..settings.options import OPTIONS_BY_NAME

REQUEST, WORKBOOK, SENDING = "Request", "Workbook", "Sending"
OUTPUT, AUTH = "Output", "Authentication and network"
POLITE = "Politeness and resilience"


def setting_option(name: str, panel: str, **extra: object) -> typer.models.OptionInfo:
    """The flag of setting `name`. typer cannot show the default itself: every flag is
    None until given, so that the settings file and the environment can fill it."""
    option = OPTIONS_BY_NAME[name]
    default = f" \\[default: {option.shown_default}]" if option.shown_default else ""
    return typer.Option(  # type: ignore[no-any-return]
        option.flag,
        help=f"{option.help} \\[env: {option.env}]{default}",
        rich_help_panel=panel,
        show_default=False,
        **extra,  # type: ignore[arg-type]
    )


def given_settings(given: dict[str, object]) -> dict[str, object]:
    """The settings among a command's parameters (typer's locals()), as load_settings
    takes them: lists as tuples, paths as text."""
    from pathlib import Path

    return {
        name: tuple(value)
        if isinstance(value, list)
        else str(value)
        if isinstance(value, Path)
        else value
        for name, value in given.items()
        if name in OPTIONS_BY_NAME
    }
