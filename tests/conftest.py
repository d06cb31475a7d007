"""Shared fixtures: a real local API, workbooks built in tmp_path, the CLI, a clean env."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from excelfmt.cli import app

from .apiserver import ApiServer
from .redisserver import RedisServer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No EXCELFMT_* or proxy settings leak in; logs, crash reports and the store stay in
    tmp_path."""
    for name in list(os.environ):
        if name.startswith("EXCELFMT_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("EXCELFMT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server of the test's own, on a random port."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (EXCELFMT_NO_SKIPS=1) a skipped test fails the run: a queue test that did
    not run proves nothing."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("EXCELFMT_NO_SKIPS") and skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(f"{len(skipped)} tests were skipped; CI counts that a failure.")


WorkbookFactory = Callable[..., Path]


@pytest.fixture
def workbook(tmp_path: Path) -> WorkbookFactory:
    """Build an .xlsx: workbook(["Id", "Name"], [[1, "a"], ...], name="in.xlsx")."""

    def build(
        header: Sequence[Any],
        rows: Sequence[Sequence[Any]] = (),
        *,
        name: str = "input.xlsx",
        sheet: str = "Sheet1",
        before: Sequence[Sequence[Any]] = (),
        extra_sheets: Sequence[str] = (),
    ) -> Path:
        book = Workbook()
        ws = book.active
        assert ws is not None
        ws.title = sheet
        for row in before:
            ws.append(list(row))
        ws.append(list(header))
        for row in rows:
            ws.append(list(row))
        for extra in extra_sheets:
            book.create_sheet(extra).append(["other"])
        path = tmp_path / name
        book.save(path)
        return path

    return build


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Run the real CLI in-process: cli("run", "x.xlsx", "--url", ...)."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke


def run_subprocess(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m excelfmt ...` as a separate process, the way cron would."""
    return subprocess.run(
        [sys.executable, "-m", "excelfmt", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def on_a_terminal(
    *args: str, env: dict[str, str] | None = None, size: tuple[int, int] = (80, 24)
) -> tuple[subprocess.Popen[bytes], int]:
    """Start `python -m excelfmt ...` on a pseudo-terminal (stdin, stdout and stderr) of
    `size` (columns, lines), as a person at a terminal would: the process, and the
    terminal's end to read and type on."""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    columns, lines = size
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = {"COLUMNS": "", "LINES": "", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "excelfmt", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={k: v for k, v in {**os.environ, **env}.items() if v},
    )
    os.close(terminal)
    return process, controller
