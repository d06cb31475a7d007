"""One process at a time runs a session: a lock file per session, naming its holder."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError


@contextlib.contextmanager
def session_lock(folder: Path, session_id: str) -> Iterator[None]:
    """Hold the session for this process; UsageError if another process holds it.

    `folder` holds the lock files, one `<session id>.lock` each.
    """
    if sys.platform == "win32":  # no advisory file locks there yet: run unguarded
        yield
        return
    import fcntl

    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"{session_id}.lock"
    with path.open("a+") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            raise UsageError(
                f"Session {session_id} is being run by another process (pid {holder}); "
                "wait for it to end, or stop it first."
            ) from None
        file.seek(0)
        file.truncate()
        file.write(str(os.getpid()))
        file.flush()
        path.chmod(0o600)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
