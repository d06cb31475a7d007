"""A run's structured log: one JSON object per line, in the store, read by `excelfmt logs`.

Run events (started, rows that failed, retries, the breaker, stops) go to the logger
`excelfmt.run` with their facts as fields; warnings and errors from the rest of excelfmt
land in the same file while the run goes. Messages were redacted where they were made.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..models import JSONValue

log = logging.getLogger("excelfmt.run")
log.setLevel(logging.INFO)
log.propagate = False  # row by row, this is the session's business, not excelfmt.log's
# With no session recording (a worker, a command outside a run) events go nowhere, not
# to logging's last-resort handler, which would print them bare on stderr, row by row.
log.addHandler(logging.NullHandler())

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def event(level: int, text: str, /, **fields: JSONValue) -> None:
    """Log a run event with its facts (row=..., category=...) as fields of the line."""
    if log.isEnabledFor(level):
        log.log(level, text, extra={"fields": fields})


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.name != log.name:
            line["logger"] = record.name
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


@contextmanager
def recording(path: Path) -> Iterator[None]:
    """Append the run's events (and excelfmt's warnings) to `path` while in the block."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    os.chmod(path, 0o600)
    handler.setFormatter(_JsonLines())
    handler.setLevel(logging.INFO)
    others = logging.getLogger("excelfmt")
    log.addHandler(handler)
    others.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)
        others.removeHandler(handler)
        handler.close()


def read(path: Path, level: str = "INFO", row: int | None = None) -> Iterator[dict[str, object]]:
    """The lines of a run's log at `level` or above (and about `row`, if given)."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as lines:
        yield from _chosen(lines, level, row)


def follow(
    path: Path,
    running: Callable[[], bool],
    level: str = "INFO",
    row: int | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    every: float = 0.5,
) -> Iterator[dict[str, object]]:
    """`read`, then the lines the run adds, as it adds them, until it ends (`running()`
    turns false): `tail -f` for a session, from another terminal."""
    while not path.is_file():
        if not running():
            return
        sleep(every)
    with path.open(encoding="utf-8") as source:
        return_next = False
        while True:
            yield from _chosen(_whole_lines(source), level, row)
            if return_next:
                return
            return_next = not running()  # one more read: what it wrote before it ended
            if not return_next:
                sleep(every)


def _whole_lines(source: TextIO) -> Iterator[str]:
    """The complete lines from here on; a line still being written is read next time."""
    while True:
        start = source.tell()
        text = source.readline()
        if not text.endswith("\n"):
            source.seek(start)
            return
        yield text


def _chosen(lines: Iterable[str], level: str, row: int | None) -> Iterator[dict[str, object]]:
    floor = logging.getLevelName(level.upper())
    for text in lines:
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
        if logging.getLevelName(line.get("level", "INFO")) < floor:
            continue
        if row is not None and line.get("row") != row:
            continue
        yield line
