"""What the process's environment says, read in this one module and nowhere else.

Where the store lives, what the terminal asks for, and the variables themselves, which
`config.load_settings` merges into Settings. Kept apart from config.py so that a command
that only reads the store (`status`, `sessions list`, `errors list`) finds its folder
without loading the settings table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def variables() -> Mapping[str, str]:
    """The environment variables of this process."""
    return os.environ


def plain_terminal(env: Mapping[str, str] | None = None) -> bool:
    """Whether the terminal asks for plain text (TERM=dumb: an editor's shell, a CI
    log): no live view that moves the cursor. NO_COLOR is rich's own business."""
    env = os.environ if env is None else env
    return env.get("TERM", "") == "dumb"


def columns_asked(env: Mapping[str, str] | None = None) -> bool:
    """Whether COLUMNS sets the width of what is printed (rich reads the number itself)."""
    env = os.environ if env is None else env
    return bool(env.get("COLUMNS"))


def store_folder(given: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Where the store lives: `given` (--store), else $EXCELFMT_HOME, else the user data folder."""
    env = os.environ if env is None else env
    if given is not None:
        return given
    if env.get("EXCELFMT_HOME"):
        return Path(env["EXCELFMT_HOME"]).expanduser()
    from platformdirs import user_data_path

    return user_data_path("excelfmt", appauthor=False)
