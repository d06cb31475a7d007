"""The store is readable by its owner only, whatever the umask: it holds what a run sent."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def owner_only(*folders: Path) -> None:
    """Whatever the umask, only the owner may read the store: each folder and its files.

    Not recursive: another process (a run's workbook side, a second command) may be
    creating and removing SQLite's transient files in folders nearby at this moment.
    """
    for folder in folders:
        with contextlib.suppress(FileNotFoundError):
            folder.chmod(0o700)
            for entry in os.scandir(folder):
                with contextlib.suppress(FileNotFoundError):
                    if entry.is_file(follow_symlinks=False):
                        os.chmod(entry.path, 0o600)
