"""One process at a time runs a session: a lock file per session, and who holds it.

The lock is filelock's (fcntl.flock on POSIX, msvcrt on Windows): the operating system
drops it when its process dies, however it dies, so a lock held means a run is going,
and a killed run never leaves its session locked. The holder's pid goes in a file
beside the lock, for the message a second process gets.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError


def _paths(folder: Path, session_id: str) -> tuple[Path, Path]:
    return folder / f"{session_id}.lock", folder / f"{session_id}.pid"


@contextlib.contextmanager
def session_lock(folder: Path, session_id: str) -> Iterator[None]:
    """Hold the session for this process; UsageError if another process holds it.

    `folder` holds the lock files, `<session id>.lock` and `.pid` each.
    """
    from filelock import FileLock, Timeout  # here: reading the store needs no lock

    folder.mkdir(mode=0o700, exist_ok=True)
    lock_path, pid_path = _paths(folder, session_id)
    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            holder = pid_path.read_text().strip() or "unknown"
        except OSError:
            holder = "unknown"
        raise UsageError(
            f"Session {session_id} is being run by another process (pid {holder}); "
            "wait for it to end, or stop it first."
        ) from None
    try:
        pid_path.write_text(str(os.getpid()))
        for path in (lock_path, pid_path):
            path.chmod(0o600)
        yield
    finally:
        pid_path.unlink(missing_ok=True)
        lock.release()


def is_locked(folder: Path, session_id: str) -> bool:
    """Whether a process holds the session now (this one included)."""
    lock_path, _ = _paths(folder, session_id)
    if not lock_path.exists():
        return False
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False
