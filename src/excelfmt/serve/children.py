"""Uploads are read in processes of their own: bounded in time, and stopped with their client.

    upload -> a child: `excelfmt check --json` (a preview), `python -m
              excelfmt.sheets.fixbook` (a fix workbook), or the run itself until it has
              recorded its session (a job)
           -> its answer; or, when the client disconnects first, the child killed at
              once; or, past --read-limit seconds, the child killed and a 422

The server's own process never parses a workbook: a hostile one (a million shared
strings, a sheet of a million rows) costs a child's CPU, and only while someone waits
for its answer. The reader's inflate guard refuses zip bombs in the child as in a run.
A preview's or a fix's child also has the limit as its CPU time (RLIMIT_CPU), which
holds even if the server itself is killed; a run's has not, for it goes on after its
start, as from the command line.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from starlette.requests import Request

from .problems import Problem

Answer = TypeVar("Answer")


class Child:
    """`python -m MODULE ARGUMENTS` in a process group of its own, its output in files of
    `folder` (never in pipes the server would have to drain)."""

    def __init__(
        self, arguments: list[str], folder: Path, name: str, *, cpu_seconds: float | None
    ) -> None:
        self.out, self.err = folder / f"{name}.out", folder / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", *arguments],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # the server's Ctrl-C is not the child's
            )
        self.cpu_limited = cpu_seconds is not None
        if cpu_seconds is not None:
            seconds = math.ceil(cpu_seconds)
            with contextlib.suppress(OSError):  # it may have ended already
                resource.prlimit(self.process.pid, resource.RLIMIT_CPU, (seconds, seconds + 1))

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    async def ended(self) -> int:
        """Its exit code, once it has ended (negative: the signal that ended it)."""
        # A child's end is no event the loop hears of (SIGCHLD belongs to no one here, and a
        # thread that waits would hold one of the server's threads): looked at every 20 ms.
        while (code := self.process.poll()) is None:  # noqa: ASYNC110
            await anyio.sleep(0.02)
        return code

    def kill(self) -> None:
        """It and whatever it started, at once."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def last_sentence(self) -> str:
        """What it said last on stderr, without its prefix: the sentence a refusal ends with."""
        lines = [line.strip() for line in self.err.read_text(errors="replace").splitlines()]
        said = [line for line in lines if line]
        text = said[-1] if said else ""
        return text.removeprefix("excelfmt: ").removeprefix("Error: ")


async def bounded(
    request: Request,
    child: Child,
    limit: float,
    upload: Path,
    until: Callable[[], Awaitable[Answer]],
) -> Answer:
    """`until()`'s answer, awaited while the client waits. The child is killed if the
    client leaves first, or `limit` seconds pass (a 422 naming the upload), or the server
    stops; once `until()` has answered, it is left to go on."""
    answers: list[Answer] = []
    left = False

    async def watch(scope: anyio.CancelScope) -> None:
        nonlocal left
        while (await request.receive())["type"] != "http.disconnect":
            pass
        left = True
        scope.cancel()

    try:
        with anyio.move_on_after(limit):
            async with anyio.create_task_group() as group:
                group.start_soon(watch, group.cancel_scope)
                answers.append(await until())
                group.cancel_scope.cancel()
    except BaseException:
        child.kill()
        raise
    if answers:
        return answers[0]
    child.kill()
    if left:  # no one hears this answer; the access log does
        raise Problem(400, "The client left before its upload was read; reading it stopped.")
    raise Problem(
        422,
        f"{upload.name} was still being read after {limit:g} s, so this server stopped "
        "reading it (serve --read-limit). From the command line no such limit applies.",
    )


def in_users_words(said: str, upload: Path) -> str:
    """A sentence about the upload as its sender knows it: its file name, not where the
    store keeps it."""
    return said.replace(str(upload), upload.name).replace(str(upload.parent), "the upload")


def refusal(child: Child, code: int, upload: Path, what: str) -> Problem:
    """The child's own sentence as a 422 (exit code 2: the file or a setting), else a 500."""
    if child.cpu_limited and -code in (signal.SIGXCPU, signal.SIGKILL):
        return Problem(
            422,
            f"{upload.name} took more CPU time to read than this server allows "
            "(serve --read-limit), so reading it stopped.",
        )
    said = in_users_words(child.last_sentence(), upload)
    return Problem(422 if code == 2 else 500, said or f"The {what} ended with exit code {code}.")


async def read_json(
    request: Request, arguments: list[str], upload: Path, limit: float, what: str
) -> Any:
    """What a child reading `upload` prints as JSON (`check --json` may exit 1 with rows
    that would fail: its answer all the same)."""
    child = Child(arguments, upload.parent, what, cpu_seconds=limit)
    code = await bounded(request, child, limit, upload, child.ended)
    try:
        return json.loads(child.output())
    except ValueError:
        raise refusal(child, code, upload, what) from None
