"""Runs started over HTTP: `excelfmt run` in a process of its own, the upload its input.

    upload -> <store>/uploads/<random>/<file> -> excelfmt run FILE --config CONF
              --profile NAME [per-file flags] [--queue URL], in a session of its own
           -> its session appears in the store (202) or it exits 2 (its sentence, 422)

The run is the CLI's, not a copy: journaled, resumable, listed by `sessions list`, and it
goes on when the server stops or restarts (a process session of its own, its output in
files beside the upload, not in pipes the server holds). A refused upload leaves nothing
behind: its folder goes with it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ..store.folder import Store
from ..store.sessions import is_running
from .options import PER_FILE, ServeOptions
from .problems import Problem

STARTING = 120.0
"""Seconds a run may take to open its workbook before the server answers without its id."""
CHUNK = 1 << 20


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


def start_run(options: ServeOptions, profile: str, upload: Path, flags: list[str]) -> str:
    """Start `excelfmt run` on the upload; its session id once it has one. A run that ends
    at once (a broken file, a wrong sheet) is a 422 with its own sentence, and its upload
    is deleted."""
    assert options.config is not None  # serve starts no run without profiles
    command = [
        sys.executable, "-m", "excelfmt", "run", str(upload),
        "--config", str(options.config), "--profile", profile,
        "--store", str(options.store), "--json", *flags,
    ]  # fmt: skip
    if options.queue:
        command += ["--queue", options.queue]
    folder = upload.parent
    with (folder / "run.out").open("wb") as out, (folder / "run.err").open("wb") as err:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # neither the server's Ctrl-C nor its end stop the run
        )
    deadline = time.monotonic() + STARTING
    while time.monotonic() < deadline:
        session = session_of(options.store, process.pid)
        if session is not None:
            return session
        code = process.poll()
        if code is not None:
            session = session_of(options.store, process.pid)  # a run of a few rows ends fast
            if session is not None:
                return session
            said = _in_users_words(
                _last_sentence((folder / "run.err").read_text(errors="replace")), upload
            )
            shutil.rmtree(folder, ignore_errors=True)
            raise Problem(
                422 if code == 2 else 500, said or f"The run ended with exit code {code}."
            )
        time.sleep(0.05)
    raise Problem(504, "The run is still opening its workbook; see `excelfmt sessions list`.")


PREVIEWED = 5
"""Planned requests a preview shows."""


def preview(options: ServeOptions, profile: str, upload: Path, flags: list[str]) -> dict[str, Any]:
    """What `run --dry-run` and `check` say of the upload with the profile: the sheet read,
    the first planned requests (secrets masked) and the rows that would fail before
    sending. Each in a process of its own, as a run reads a file: a hostile one costs the
    server nothing. A file either refuses is a 422 with its sentence."""
    assert options.config is not None
    common = [str(upload), "--config", str(options.config), "--profile", profile, *flags]
    planned = _json_of(["run", *common, "--dry-run", "--json", "--limit", str(PREVIEWED)], upload)
    checked = _json_of(["check", *common, "--json"], upload)
    return {
        "sheet": planned.get("sheet"),
        "sheets": checked.get("sheets", []),
        "columns": checked.get("columns", []),
        "requests": planned.get("requests", []),
        "rows": checked.get("rows"),
        "failing": checked.get("failing"),
        "kinds": checked.get("kinds", {}),
        "first_problems": checked.get("first", []),
    }


def _json_of(arguments: list[str], upload: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "excelfmt", *arguments],
        capture_output=True, text=True, timeout=STARTING, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        found: dict[str, Any] = json.loads(done.stdout)
        return found
    except ValueError:
        said = _in_users_words(_last_sentence(done.stderr), upload)
        said = said or f"The check ended with exit code {done.returncode}."
        raise Problem(422 if done.returncode == 2 else 500, said) from None


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


def _in_users_words(said: str, upload: Path) -> str:
    """A sentence about the upload as its sender knows it: its file name, not where the
    store keeps it."""
    return said.replace(str(upload), upload.name).replace(str(upload.parent), "the upload")


def _last_sentence(output: str) -> str:
    """What the CLI said last, without its prefix: the sentence a refusal ends with."""
    lines = [line.strip() for line in output.splitlines()]
    said = [line for line in lines if line]
    text = said[-1] if said else ""
    return text.removeprefix("excelfmt: ").removeprefix("Error: ")
