"""`excelfmt run WORKBOOK`: flags -> Settings -> excelfmt.run -> what people see -> exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..engine import runner
from ..engine.events import Observer
from ..errors import UsageError
from ..settings.config import (
    Settings,
    changed_settings,
    load_settings,
    merged_values,
    store_folder,
)
from ..settings.options import OPTIONS_BY_NAME
from ..store import sessions
from ..store.folder import Store
from ..store.records import Session
from ..ui import live
from .app import reported_errors

DRY_RUN_ROWS = 5

_REQUEST, _WORKBOOK, _SENDING = "Request", "Workbook", "Sending"
_OUTPUT, _AUTH = "Output", "Authentication and network"
_POLITE = "Politeness and resilience"


def _option(name: str, panel: str, **extra: object) -> typer.models.OptionInfo:
    """A flag whose name, help and default come from the settings table (one name
    everywhere). typer cannot show the default itself: every flag is None until given,
    so that the settings file and the environment can fill it."""
    option = OPTIONS_BY_NAME[name]
    default = f" \\[default: {option.shown_default}]" if option.shown_default else ""
    return typer.Option(  # type: ignore[no-any-return]
        option.flag,
        help=f"{option.help} \\[env: {option.env}]{default}",
        rich_help_panel=panel,
        show_default=False,
        **extra,  # type: ignore[arg-type]
    )


def run_command(
    workbook: Annotated[
        Path | None,
        typer.Argument(
            metavar="WORKBOOK",
            show_default=False,
            help="The workbook to send: .xlsx, .xlsm or CSV/TSV (streamed), or .xls, .xlsb, "
            ".ods; recognised by content, whatever its name. "
            "With --resume it may be left out: the session's own input is used.",
        ),
    ] = None,
    url: Annotated[str | None, _option("url", _REQUEST, metavar="URL")] = None,
    method: Annotated[str | None, _option("method", _REQUEST, metavar="METHOD")] = None,
    header: Annotated[
        list[str] | None, _option("header", _REQUEST, metavar="'NAME: VALUE'")
    ] = None,
    body: Annotated[str | None, _option("body", _REQUEST, metavar="JSON")] = None,
    status_rule: Annotated[
        list[str] | None, _option("status_rule", _REQUEST, metavar="STATUS=VERDICT")
    ] = None,
    sheet: Annotated[str | None, _option("sheet", _WORKBOOK, metavar="NAME")] = None,
    header_row: Annotated[int | None, _option("header_row", _WORKBOOK, metavar="N")] = None,
    delimiter: Annotated[str | None, _option("delimiter", _WORKBOOK, metavar="CHAR")] = None,
    encoding: Annotated[str | None, _option("encoding", _WORKBOOK, metavar="NAME")] = None,
    limit: Annotated[int | None, _option("limit", _WORKBOOK, metavar="N")] = None,
    concurrency: Annotated[int | None, _option("concurrency", _SENDING, metavar="N")] = None,
    rate: Annotated[float | None, _option("rate", _SENDING, metavar="PER_SECOND")] = None,
    timeout: Annotated[str | None, _option("timeout", _SENDING, metavar="SECONDS")] = None,
    min_concurrency: Annotated[int | None, _option("min_concurrency", _POLITE, metavar="N")] = None,
    burst: Annotated[int | None, _option("burst", _POLITE, metavar="N")] = None,
    retries: Annotated[int | None, _option("retries", _POLITE, metavar="N")] = None,
    retry_wait: Annotated[str | None, _option("retry_wait", _POLITE, metavar="SECONDS")] = None,
    retry_max_wait: Annotated[
        str | None, _option("retry_max_wait", _POLITE, metavar="SECONDS")
    ] = None,
    retry_budget: Annotated[float | None, _option("retry_budget", _POLITE, metavar="SHARE")] = None,
    max_outage: Annotated[str | None, _option("max_outage", _POLITE, metavar="DURATION")] = None,
    auth_failures: Annotated[int | None, _option("auth_failures", _POLITE, metavar="N")] = None,
    breaker_failure_rate: Annotated[
        float | None, _option("breaker_failure_rate", _POLITE, metavar="SHARE")
    ] = None,
    breaker_window: Annotated[int | None, _option("breaker_window", _POLITE, metavar="N")] = None,
    breaker_min_calls: Annotated[
        int | None, _option("breaker_min_calls", _POLITE, metavar="N")
    ] = None,
    breaker_wait: Annotated[str | None, _option("breaker_wait", _POLITE, metavar="SECONDS")] = None,
    slow_call: Annotated[str | None, _option("slow_call", _POLITE, metavar="SECONDS")] = None,
    breaker_slow_rate: Annotated[
        float | None, _option("breaker_slow_rate", _POLITE, metavar="SHARE")
    ] = None,
    output: Annotated[Path | None, _option("output", _OUTPUT, metavar="PATH")] = None,
    capture: Annotated[list[str] | None, _option("capture", _OUTPUT, metavar="PATH")] = None,
    cache_ttl: Annotated[str | None, _option("cache_ttl", _SENDING, metavar="DURATION")] = None,
    cache_methods: Annotated[
        list[str] | None, _option("cache_methods", _SENDING, metavar="METHOD")
    ] = None,
    store: Annotated[Path | None, _option("store", _OUTPUT, metavar="DIR")] = None,
    auth_env: Annotated[str | None, _option("auth_env", _AUTH, metavar="VAR")] = None,
    basic_auth_env: Annotated[str | None, _option("basic_auth_env", _AUTH, metavar="VAR")] = None,
    api_key_header: Annotated[str | None, _option("api_key_header", _AUTH, metavar="NAME")] = None,
    api_key_env: Annotated[str | None, _option("api_key_env", _AUTH, metavar="VAR")] = None,
    proxy: Annotated[str | None, _option("proxy", _AUTH, metavar="URL")] = None,
    ca_bundle: Annotated[Path | None, _option("ca_bundle", _AUTH, metavar="FILE")] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            rich_help_panel=_OUTPUT,
            show_default=False,
            help="Settings file (default: ./excelfmt.toml when it exists).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            rich_help_panel=_OUTPUT,
            help=f"Print the first {DRY_RUN_ROWS} requests that would be sent; send nothing.",
        ),
    ] = False,
    json_summary: Annotated[
        bool,
        typer.Option(
            "--json",
            rich_help_panel=_OUTPUT,
            help="Print one JSON summary object on stdout at the end (no progress bar).",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            rich_help_panel=_OUTPUT,
            help="No progress and no summary; a line on stderr only if some rows failed.",
        ),
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="SESSION",
            rich_help_panel=_OUTPUT,
            show_default=False,
            help="Continue an interrupted or stopped run: rows it settled are not sent "
            "again (temporary failures are). Its workbook and settings are the session's "
            "own (secrets from the same environment variables); options given now override "
            "them. 'auto': resume the unfinished run on this same file, if there is one.",
        ),
    ] = None,
) -> None:
    """Send every row of WORKBOOK to an API and write a results workbook beside it.

    Each data row becomes one request: by default a POST of the row as a JSON object keyed by the header cells.

    Settings also come from excelfmt.toml and EXCELFMT_* variables; flags win.

    Exit codes: 0 every row ok; 1 some rows failed (see the results); 2 bad usage, settings or input (nothing sent); 3 stopped early (the API stayed down, or refused the credentials); 130 interrupted.
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines
    given = dict(locals())  # every flag, by its setting's name
    with reported_errors():
        flags = {
            name: tuple(value)
            if isinstance(value, list)
            else str(value)
            if isinstance(value, Path)
            else value
            for name, value in given.items()
            if name in OPTIONS_BY_NAME
        }
        settings, workbook, resume = _settings(
            flags, config, workbook, resume, dry_run, talk=not (json_summary or quiet), quiet=quiet
        )
        if dry_run:
            _dry_run(settings, workbook, json_summary)
            return
        code = _run(settings, workbook, resume, json_summary=json_summary, quiet=quiet)
    if code:
        raise typer.Exit(code)


def _settings(
    flags: dict[str, object],
    config: Path | None,
    workbook: Path | None,
    resume: str | None,
    dry_run: bool,
    *,
    talk: bool,
    quiet: bool,
) -> tuple[Settings, Path, str | None]:
    """The run's settings, workbook and the session it resumes, if any.

    A resumed session's recorded settings stand in for the defaults, so `--resume ID`
    alone sends the rest as the first run sent the start; what is given now overrides.
    """
    values = merged_values(flags, config_file=config)
    store = store_folder(values["store"])  # type: ignore[arg-type]
    session: Session | None = None
    if resume is not None and resume != "auto":
        with Store(store) as opened:
            session = opened.session(resume)
        workbook = workbook or Path(session.input)
    elif workbook is None:
        raise UsageError("Which workbook? Give its path (or --resume SESSION).")
    elif not dry_run:
        session = _earlier_run(store, workbook, values["sheet"], resume, talk)  # type: ignore[arg-type]
    if session is None:
        return load_settings(flags, config_file=config), workbook, None
    settings = load_settings(flags, config_file=config, recorded=session.settings)
    changed = changed_settings(settings, session.settings)
    if changed and not quiet:  # on stderr: --json keeps stdout to its one object
        print(
            f"excelfmt: resuming session {session.id} with settings that differ from its "
            f"own: {'; '.join(changed)}.",
            file=sys.stderr,
        )
    return settings, workbook, session.id


def _earlier_run(
    store: Path, workbook: Path, sheet: str | None, resume: str | None, talk: bool
) -> Session | None:
    """The session to resume: with --resume auto, the unfinished run on this very file;
    without --resume, offered on a terminal, mentioned elsewhere."""
    if not workbook.is_file():
        return None  # the run reports the missing file
    with Store(store) as opened:
        earlier = sessions.unfinished(opened, sessions.fingerprint(workbook), sheet)
    if earlier is None:
        return None
    done = earlier.progress.get("done", earlier.summary.get("rows", 0))
    about = f"Session {earlier.id} on this file {earlier.state} after {done} rows"
    if resume == "auto":
        if talk:
            print(f"excelfmt: {about}; resuming it.", file=sys.stderr)
        return earlier
    if sys.stdin.isatty() and talk:
        if typer.confirm(f"{about}. Resume it (rows it settled are not sent again)?", True):
            return earlier
        return None
    print(
        f"excelfmt: note: {about}; this is a new run. Use --resume {earlier.id} "
        "(or --resume auto) to continue it instead.",
        file=sys.stderr,
    )
    return None


def _dry_run(settings: Settings, workbook: Path, as_json: bool) -> None:
    info, jobs = runner.preview(settings, workbook, DRY_RUN_ROWS)
    requests = live.describe_jobs(jobs, settings.redactor())
    if as_json:
        print(
            json.dumps(
                {"dry_run": True, "sheet": info.sheet, "requests": requests},
                ensure_ascii=False,
                default=str,
            )
        )
        return
    live.print_dry_run(Console(highlight=False), info, requests)


def _run(
    settings: Settings, workbook: Path, resume: str | None, *, json_summary: bool, quiet: bool
) -> int:
    on_terminal = sys.stdout.isatty() and not (json_summary or quiet)
    console = Console(highlight=False)
    announce = not (json_summary or quiet)
    observer: Observer = (
        live.LiveView(console) if on_terminal else live.PlainView(sys.stderr, announce)
    )
    assert settings.store is not None
    with Store(settings.store) as recorded:
        summary = runner.run(
            settings,
            workbook,
            observer=observer,
            handle_signals=True,
            store=recorded,
            resume=resume,
        )
    if json_summary:
        live.print_summary_json(sys.stdout, summary)
    elif on_terminal:
        live.print_summary_table(console, summary)
    elif not quiet:
        print(live.summary_line(summary), flush=True)
    elif summary.exit_code:
        print(live.summary_line(summary), file=sys.stderr, flush=True)
    return int(summary.exit_code)
