"""What each command imports: start-up held by a list, not by a stopwatch.

A command that loads what it does not use starts slower for every cron job and every
person at a shell (`excelfmt status` took 0.6 s when every command loaded the engine).
These tests run the real command in a fresh interpreter and look at `sys.modules`;
benchmarks/startup.py measures the time itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .apiserver import ApiServer

HEAVY = (
    "httpx", "aiohttp", "anyio", "openpyxl", "xlsxwriter", "bullmq", "redis", "tenacity",
    "fastapi", "starlette", "uvicorn", "pydantic", "prometheus_client",
)  # fmt: skip
"""Third-party packages only sending (or a workbook, the queue, the server) needs."""

PROBE = """
import json, sys
sys.argv = ["excelfmt", *sys.argv[1:]]
from excelfmt.cli import main
try:
    main()
except SystemExit:
    pass
finally:
    sys.stdout.flush()
    sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def modules_of(*args: str) -> set[str]:
    """The modules loaded by `excelfmt ARGS` in a fresh interpreter (its own env, the
    test's store)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    line = next(li for li in done.stderr.splitlines() if li.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def ours(modules: set[str]) -> set[str]:
    """excelfmt's own modules, without the package prefix: {"cli.app", "store.folder"}."""
    return {name.removeprefix("excelfmt.") for name in modules if name.startswith("excelfmt.")}


@pytest.fixture(scope="module")
def recorded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one finished run whose rows all need a person."""
    from openpyxl import Workbook

    home = tmp_path_factory.mktemp("store")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["N"])
    for n in range(5):
        sheet.append([n])
    book.save(home / "in.xlsx")
    server = ApiServer().start()
    try:
        run = ["run", str(home / "in.xlsx"), "--url", server.url, "--quiet"]
        done = subprocess.run(
            [sys.executable, "-m", "excelfmt", *run, "--status-rule", "201=REQUIRES_USER_ACTION"],
            env={"EXCELFMT_HOME": str(home / "home"), "PATH": "/usr/bin:/bin"},
            timeout=60,
        )
        assert done.returncode == 1  # every row needs a person: the store keeps them
    finally:
        server.stop()
    return home / "home"


def test_version_and_help_load_no_engine_and_no_network_or_workbook_library():
    for args in (["--version"], ["--help"]):
        loaded = modules_of(*args)
        assert not packages(loaded) & {*HEAVY, "rich", "pydantic", "diskcache", "filelock"}
        # The command line's frame and nothing of what the commands do.
        assert ours(loaded) <= {"_version", "errors", "cli", "cli.app", "cli.commands"}


def test_status_loads_only_the_store_it_reads(recorded_store, monkeypatch):
    monkeypatch.setenv("EXCELFMT_HOME", str(recorded_store))
    loaded = modules_of("status")
    assert not packages(loaded) & {*HEAVY, "rich", "pydantic"}
    mine = ours(loaded)
    # Plain data, the session arguments, the environment's store folder, the store, and
    # the plain line it prints: not the settings table, not a policy, not the engine.
    assert {"store.folder", "store.sessions", "ui.lines"} <= mine
    assert not {
        m
        for m in mine
        if m.split(".")[0] in ("engine", "sending", "scaleout", "policies", "calls", "sheets")
    }
    assert not mine & {"settings.options", "settings.config", "metrics.counters", "ui.dashboard"}


def test_the_store_lists_load_neither_rich_nor_anything_that_sends(recorded_store, monkeypatch):
    monkeypatch.setenv("EXCELFMT_HOME", str(recorded_store))
    for args in (["sessions", "list"], ["errors", "list"]):
        loaded = modules_of(*args)
        assert "rich" not in packages(loaded)  # plain columns (ui/plaintable.py)
        assert not packages(loaded) & {*HEAVY, "pydantic"}
        mine = ours(loaded)
        assert not {
            m
            for m in mine
            if m.split(".")[0] in ("engine", "sending", "scaleout", "policies", "calls", "sheets")
        }
        assert "settings.options" not in mine


def test_import_excelfmt_loads_its_names_only_when_used():
    code = (
        "import sys, excelfmt; before = set(sys.modules); excelfmt.run; "
        "print(sorted({m.split('.')[0] for m in before}), 'excelfmt.engine.runner' in before, "
        "'excelfmt.engine.runner' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded_before, runner_before, runner_after = out.stdout.rsplit(" ", 2)
    assert runner_before == "False" and runner_after.strip() == "True"
    assert not set(eval(loaded_before)) & {*HEAVY, "rich", "typer"}


def test_each_command_summary_is_the_first_paragraph_of_its_own_help():
    from excelfmt.cli.commands import COMMANDS, build

    for name, entry in COMMANDS.items():
        command = build(name)
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert entry.summary == first, name
        assert command.name == name


def test_a_command_offers_only_its_own_options(cli):
    # Built one at a time, a command must not grow the shell-completion options the
    # root leaves out (typer adds them to every app it builds unless told not to).
    for args in (["run", "-h"], ["status", "-h"], ["errors", "list", "-h"]):
        shown = cli(*args).stdout
        assert "--help" in shown and "completion" not in shown, args


def test_token_commands_and_a_run_never_load_the_web_stack(tmp_path):
    """Only `excelfmt serve` imports the server's packages (issue 22)."""
    web = {"fastapi", "starlette", "uvicorn", "pydantic"}
    listed = modules_of("token", "list", "--tokens", str(tmp_path / "tokens.json"))
    assert not packages(listed) & web
    assert "serve.tokens" in ours(listed)
    assert not packages(modules_of("run", "--help")) & web


CHILD_PROBE = """
import json, sys
from pathlib import Path
from excelfmt.engine import sheet_process

serve, record = sheet_process.serve, Path(sys.argv.pop(1))


def probed(*args, **kwargs):
    record.write_text(json.dumps(sorted(sys.modules)))  # what the child was forked with
    serve(*args, **kwargs)
    record.with_suffix(".end.json").write_text(json.dumps(sorted(sys.modules)))


sheet_process.serve = probed
sys.argv = ["excelfmt", *sys.argv[1:]]
from excelfmt.cli import main
main()
"""


def test_a_run_forks_its_workbook_process_first_and_loads_only_what_it_sends_with(
    tmp_path, monkeypatch
):
    """The workbook process is forked before anyio, aiohttp and the policies are
    imported: it opens the workbook while the parent loads them (the first request of
    a run leaves ~0.3 s sooner), and it carries none of them, nor openpyxl. A plain run
    piped to a file loads neither httpx nor rich."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["N"])
    sheet.append([1])
    book.save(tmp_path / "in.xlsx")
    monkeypatch.setenv("EXCELFMT_HOME", str(tmp_path / "home"))
    server = ApiServer().start()
    try:
        record = tmp_path / "child-modules.json"
        run = ["run", str(tmp_path / "in.xlsx"), "--url", server.url, "--quiet"]
        done = subprocess.run(
            [sys.executable, "-c", CHILD_PROBE, str(record), *run], timeout=60, check=False
        )
        assert done.returncode == 0
        assert len(server.received) == 1
        # The sending process itself: aiohttp sends; httpx (for OAuth2 and a given
        # transport), rich (for a terminal) and the workbook libraries stay out.
        sending = packages(modules_of(*run))
        assert len(server.received) == 2
    finally:
        server.stop()
    assert "aiohttp" in sending
    assert not sending & {"httpx", "rich", "openpyxl", "xlsxwriter", "click", "pygments"}
    # The workbook process reads the .xlsx with openpyxl and writes with XlsxWriter; the
    # sending process loads neither.
    ended_with = packages(set(json.loads(record.with_suffix(".end.json").read_text())))
    assert {"xlsxwriter", "openpyxl"} <= ended_with
    forked_with = set(json.loads(record.read_text()))
    assert not packages(forked_with) & {"httpx", "anyio", "aiohttp", "tenacity", "rich"}
    sending_side = {"engine.sendloop", "sending.dispatch", "sending.pool", "policies.resilience"}
    assert not ours(forked_with) & {*sending_side, "calls.client", "calls.aiosender"}
