"""Runs started over HTTP: `excelfmt run` in a process of its own, the upload its input.

    upload -> <store>/uploads/<random>/<file> -> excelfmt run FILE --config CONF
              --profile NAME [per-file flags] [--queue URL], in a session of its own
           -> its session appears in the store (202); or it exits 2 (its sentence, 422);
              or its client leaves, or --read-limit passes, before: killed (children.py)

The run is the CLI's, not a copy: journaled, resumable, listed by `sessions list`, and it
goes on when the server stops or restarts (a process session of its own, its output in
files beside the upload, not in pipes the server holds). A refused upload leaves nothing
behind: its folder goes with it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import anyio
from starlette.requests import Request

from ..store.folder import Store
from ..store.sessions import is_running
from .children import Child, bounded, read_json, refusal
from .options import PER_FILE, ServeOptions
from .problems import Problem

CHUNK = 1 << 20
PREVIEWED = 5
"""Planned requests a preview shows (a batched run's first request is one of them)."""


def uploads(store: Path) -> Path:
    return store / "uploads"


def save_upload(store: Path, name: str, source: BinaryIO) -> Path:
    """The uploaded file, copied a chunk at a time into a folder of its own."""
    folder = uploads(store) / secrets.token_hex(8)
    folder.mkdir(parents=True, mode=0o700)
    path = folder / safe_name(name)
    with path.open("wb") as target:
        shutil.copyfileobj(source, target, CHUNK)
    return path


def safe_name(name: str) -> str:
    """The file's own name, without folders or characters a shell or a file system minds."""
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name.replace("\\", "/")).name).strip(" .")
    return base[:120] or "upload"


def per_file_flags(fields: Mapping[str, str], types: Iterable[str]) -> list[str]:
    """The run's flags for what a request may set of its own file; anything else (a URL,
    a header, a credential) is refused here, before a process starts."""
    flags: list[str] = []
    for key, value in fields.items():
        if key not in PER_FILE or key == "type":
            raise Problem(
                422,
                f"{key!r} cannot be set by a request; the profile sets where rows go and "
                f"how. A request may set only: {', '.join(PER_FILE)}.",
            )
        if key == "decimal_comma":
            if value.strip().lower() in ("1", "true", "yes", "on"):
                flags.append("--decimal-comma")
            continue
        if value != "":
            flags += [f"--{key.replace('_', '-')}", value]
    for column_type in types:
        flags += ["--type", column_type]
    return flags


async def start_run(
    request: Request, options: ServeOptions, profile: str, upload: Path, flags: list[str]
) -> str:
    """Start `excelfmt run` on the upload; its session id once it has one. A run that ends
    at once (a broken file, a wrong sheet) is a 422 with its own sentence; one whose client
    leaves, or that has not opened its workbook within --read-limit, is killed. Either
    way its upload is deleted."""
    assert options.config is not None  # serve starts no run without profiles
    arguments = [
        "excelfmt", "run", str(upload),
        "--config", str(options.config), "--profile", profile,
        "--store", str(options.store), "--json", *flags,
    ]  # fmt: skip
    if options.queue:
        arguments += ["--queue", options.queue]
    run = Child(arguments, upload.parent, "run", cpu_seconds=None)

    async def recorded() -> str | int:
        """Its session, once recorded; or its exit code, if it ended without one."""
        while True:
            code = run.poll()
            session = await anyio.to_thread.run_sync(session_of, options.store, run.pid)
            if session is not None:  # a run of a few rows may have ended already
                return session
            if code is not None:
                return code
            await anyio.sleep(0.05)

    try:
        started = await bounded(request, run, options.read_limit, upload, recorded)
    except Problem:
        shutil.rmtree(upload.parent, ignore_errors=True)
        raise
    if isinstance(started, str):
        return started
    refused = refusal(run, started, upload, "run")
    shutil.rmtree(upload.parent, ignore_errors=True)
    raise refused


async def preview(
    request: Request, options: ServeOptions, profile: str, upload: Path, flags: list[str]
) -> dict[str, Any]:
    """What `check` says of the upload with the profile: the sheet read, the first
    planned requests as `run --dry-run` shows them (secrets masked), and the rows that
    would fail before sending. One child reads the file (children.py): a hostile one
    costs the server nothing. A file it refuses is a 422 with its sentence."""
    assert options.config is not None
    arguments = [
        "excelfmt", "check", str(upload), "--config", str(options.config),
        "--profile", profile, *flags, "--json",
    ]  # fmt: skip
    checked = await read_json(request, arguments, upload, options.read_limit, "check")
    return {
        "sheet": checked.get("sheet"),
        "sheets": checked.get("sheets", []),
        "columns": checked.get("columns", []),
        "requests": checked.get("requests", [])[:PREVIEWED],
        "rows": checked.get("rows"),
        "failing": checked.get("failing"),
        "kinds": checked.get("kinds", {}),
        "first_problems": checked.get("first", []),
    }


def session_of(store: Path, pid: int) -> str | None:
    """The session run by process `pid`, if it has recorded one yet."""
    with Store(store) as opened:
        for session in opened.sessions():
            if session.pid == pid:
                return session.id
    return None


def stop_run(store: Path, session_id: str) -> None:
    """As Ctrl-C in its terminal: it takes no new row; the requests in flight finish."""
    with Store(store) as opened:
        session = opened.session(session_id)
        if not is_running(opened, session):
            raise Problem(409, f"Session {session.id} is not running (it is {session.state}).")
        try:
            os.kill(session.pid, signal.SIGINT)
        except ProcessLookupError:
            raise Problem(409, f"Session {session.id} is not running on this host.") from None
