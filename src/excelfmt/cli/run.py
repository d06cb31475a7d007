"""`excelfmt run WORKBOOK`: flags -> Settings -> excelfmt.run -> what people see -> exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..engine import runner
from ..errors import UsageError
from ..sending.events import Observer
from ..settings.config import Settings
from ..settings.environment import plain_terminal
from ..store.folder import Store
from ..ui import live
from .app import reported_errors
from .flags import (
    AUTH,
    OUTPUT,
    POLITE,
    REQUEST,
    SCALE,
    SENDING,
    ApiKeyEnv,
    ApiKeyHeader,
    AuthEnv,
    BasicAuthEnv,
    Batch,
    BatchBytes,
    BisectBudget,
    Body,
    Bulk,
    BulkAction,
    ColumnType,
    ConfigFile,
    DecimalComma,
    Delimiter,
    Encoding,
    Header,
    HeaderRow,
    Limit,
    LockDuration,
    MaxInflation,
    Method,
    Profile,
    Queue,
    Sheet,
    Url,
    given_settings,
    setting_option,
)
from .runsettings import refuse_flags_without_effect, run_settings

DRY_RUN_ROWS = 5


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
    url: Url = None,
    batch: Batch = None,
    bulk: Bulk = None,
    bulk_action: BulkAction = None,
    batch_bytes: BatchBytes = None,
    bisect_budget: BisectBudget = None,
    method: Method = None,
    header: Header = None,
    body: Body = None,
    status_rule: Annotated[
        list[str] | None, setting_option("status_rule", REQUEST, metavar="STATUS=VERDICT")
    ] = None,
    sheet: Sheet = None,
    header_row: HeaderRow = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    type: ColumnType = None,
    decimal_comma: DecimalComma = None,
    max_inflation: MaxInflation = None,
    limit: Limit = None,
    concurrency: Annotated[int | None, setting_option("concurrency", SENDING, metavar="N")] = None,
    rate: Annotated[float | None, setting_option("rate", SENDING, metavar="PER_SECOND")] = None,
    timeout: Annotated[str | None, setting_option("timeout", SENDING, metavar="SECONDS")] = None,
    min_concurrency: Annotated[
        int | None, setting_option("min_concurrency", POLITE, metavar="N")
    ] = None,
    burst: Annotated[int | None, setting_option("burst", POLITE, metavar="N")] = None,
    retries: Annotated[int | None, setting_option("retries", POLITE, metavar="N")] = None,
    retry_wait: Annotated[
        str | None, setting_option("retry_wait", POLITE, metavar="SECONDS")
    ] = None,
    retry_max_wait: Annotated[
        str | None, setting_option("retry_max_wait", POLITE, metavar="SECONDS")
    ] = None,
    retry_budget: Annotated[
        float | None, setting_option("retry_budget", POLITE, metavar="SHARE")
    ] = None,
    max_outage: Annotated[
        str | None, setting_option("max_outage", POLITE, metavar="DURATION")
    ] = None,
    auth_failures: Annotated[
        int | None, setting_option("auth_failures", POLITE, metavar="N")
    ] = None,
    breaker_failure_rate: Annotated[
        float | None, setting_option("breaker_failure_rate", POLITE, metavar="SHARE")
    ] = None,
    breaker_window: Annotated[
        int | None, setting_option("breaker_window", POLITE, metavar="N")
    ] = None,
    breaker_min_calls: Annotated[
        int | None, setting_option("breaker_min_calls", POLITE, metavar="N")
    ] = None,
    breaker_wait: Annotated[
        str | None, setting_option("breaker_wait", POLITE, metavar="SECONDS")
    ] = None,
    slow_call: Annotated[str | None, setting_option("slow_call", POLITE, metavar="SECONDS")] = None,
    breaker_slow_rate: Annotated[
        float | None, setting_option("breaker_slow_rate", POLITE, metavar="SHARE")
    ] = None,
    output: Annotated[Path | None, setting_option("output", OUTPUT, metavar="PATH")] = None,
    profile: Profile = None,
    capture: Annotated[list[str] | None, setting_option("capture", OUTPUT, metavar="PATH")] = None,
    cache_ttl: Annotated[
        str | None, setting_option("cache_ttl", SENDING, metavar="DURATION")
    ] = None,
    cache_methods: Annotated[
        list[str] | None, setting_option("cache_methods", SENDING, metavar="METHOD")
    ] = None,
    log_every: Annotated[
        str | None, setting_option("log_every", OUTPUT, metavar="DURATION")
    ] = None,
    notify_url: Annotated[str | None, setting_option("notify_url", OUTPUT, metavar="URL")] = None,
    notify_on: Annotated[
        str | None, setting_option("notify_on", OUTPUT, metavar="always|failure")
    ] = None,
    store: Annotated[Path | None, setting_option("store", OUTPUT, metavar="DIR")] = None,
    queue: Queue = None,
    batch_rows: Annotated[int | None, setting_option("batch_rows", SCALE, metavar="N")] = None,
    rate_key: Annotated[str | None, setting_option("rate_key", SCALE, metavar="KEY")] = None,
    lock_duration: LockDuration = None,
    no_local_worker: Annotated[bool | None, setting_option("no_local_worker", SCALE)] = None,
    auth_env: AuthEnv = None,
    basic_auth_env: BasicAuthEnv = None,
    oauth2_token_url: Annotated[
        str | None, setting_option("oauth2_token_url", AUTH, metavar="URL")
    ] = None,
    oauth2_client_id_env: Annotated[
        str | None, setting_option("oauth2_client_id_env", AUTH, metavar="VAR")
    ] = None,
    oauth2_client_secret_env: Annotated[
        str | None, setting_option("oauth2_client_secret_env", AUTH, metavar="VAR")
    ] = None,
    oauth2_scope: Annotated[
        str | None, setting_option("oauth2_scope", AUTH, metavar="SCOPE")
    ] = None,
    oauth2_audience: Annotated[
        str | None, setting_option("oauth2_audience", AUTH, metavar="AUDIENCE")
    ] = None,
    api_key_header: ApiKeyHeader = None,
    api_key_env: ApiKeyEnv = None,
    proxy: Annotated[str | None, setting_option("proxy", AUTH, metavar="URL")] = None,
    ca_bundle: Annotated[Path | None, setting_option("ca_bundle", AUTH, metavar="FILE")] = None,
    config: ConfigFile = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            rich_help_panel=OUTPUT,
            help=f"Print the first {DRY_RUN_ROWS} requests that would be sent; send nothing.",
        ),
    ] = False,
    json_summary: Annotated[
        bool,
        typer.Option(
            "--json",
            rich_help_panel=OUTPUT,
            help="Print one JSON summary object on stdout at the end (no progress bar).",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            rich_help_panel=OUTPUT,
            help="No progress and no summary; a line on stderr only if some rows failed.",
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE",
            dir_okay=False,
            rich_help_panel=OUTPUT,
            show_default=False,
            help="Also write the run's HTML report (charts of how it went) to FILE at the end.",
        ),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="SESSION",
            rich_help_panel=OUTPUT,
            show_default=False,
            help="Continue an interrupted or stopped run: rows it settled are not sent "
            "again (temporary failures are). Its workbook and settings are the session's "
            "own (secrets from the same environment variables); options given now override "
            "them. 'auto': resume the unfinished run on this same file, if there is one.",
        ),
    ] = None,
) -> None:
    """Send every row of WORKBOOK to an API and write a results workbook beside it.

    Each data row becomes one request: by default a POST of the row as a JSON object keyed by the header cells. With --batch N, up to N rows go in one request to a bulk endpoint, and each row still gets its own outcome: --bulk salesforce (sObject Collections), hubspot (CRM batch, multi-status), elasticsearch (_bulk NDJSON, with --bulk-action '{"index": {"_index": "orders", "_id": "{Order}"}}'), or array (a JSON array, the default), e.g. excelfmt run accounts.xlsx --bulk salesforce --url https://acme.my.salesforce.com/services/data/v60.0/composite/sobjects.

    Settings also come from excelfmt.toml and EXCELFMT_* variables; flags win.

    Exit codes: 0 every row ok; 1 some rows failed (see the results); 2 bad usage, settings or input (nothing sent); 3 stopped early (the API stayed down, or refused the credentials); 130 interrupted.
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines
    given = dict(locals())  # every flag, by its setting's name
    with reported_errors():
        flags = given_settings(given)
        settings, workbook, resume = run_settings(
            flags, config, workbook, resume, dry_run, talk=not (json_summary or quiet), quiet=quiet
        )
        refuse_flags_without_effect(flags, settings)
        if dry_run:
            _dry_run(settings, workbook, json_summary)
            return
        if report is not None and not report.parent.is_dir():
            raise UsageError(f"--report: the folder {report.parent} does not exist.")
        code = _run(
            settings, workbook, resume, json_summary=json_summary, quiet=quiet, report=report
        )
    if code:
        raise typer.Exit(code)


def _dry_run(settings: Settings, workbook: Path, as_json: bool) -> None:
    from ..engine import preview  # only a dry run plans requests in this process

    planned = preview.preview(settings, workbook, DRY_RUN_ROWS)
    info = planned.info
    requests = planned.described(settings.redactor())
    if as_json:
        print(
            json.dumps(
                {"dry_run": True, "sheet": info.sheet, "requests": requests},
                ensure_ascii=False,
                default=str,
            )
        )
        return
    from rich.console import Console

    from ..ui.terminal import print_dry_run

    print_dry_run(Console(highlight=False), info, requests)


def _run(
    settings: Settings,
    workbook: Path,
    resume: str | None,
    *,
    json_summary: bool,
    quiet: bool,
    report: Path | None = None,
) -> int:
    on_terminal = sys.stdout.isatty() and not (json_summary or quiet or plain_terminal())
    announce = not (json_summary or quiet)
    # What a run does not show is not imported: rich and the dashboard only on a
    # terminal, the report and the notification only when asked (the workbook process
    # starts sooner, and a cron job's run spends no CPU on them).
    observer: Observer
    if on_terminal:
        from rich.console import Console

        from ..ui import dashboard

        console = Console(highlight=False)
        observer = dashboard.DashboardView(console)
    else:
        observer = live.PlainView(sys.stderr, announce, every=settings.log_every)
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
        from ..ui.terminal import print_summary_table

        print_summary_table(console, summary)
    elif not quiet:
        print(live.summary_line(summary), flush=True)
    elif summary.exit_code:
        print(live.summary_line(summary), file=sys.stderr, flush=True)
    if report is not None and summary.session:
        try:
            from ..ui.reportfile import write_report

            write_report(settings.store, summary.session, report)
        except UsageError as exc:  # the run is done: its exit code stays the run's
            print(f"excelfmt: {exc}", file=sys.stderr, flush=True)
        else:
            if not (json_summary or quiet):
                print(f"excelfmt: report written to {report}", file=sys.stderr, flush=True)
    if settings.notify_url:
        from ..engine.notify import notify  # only a run that notifies loads the client

        if problem := notify(settings, summary):
            print(f"excelfmt: {problem}", file=sys.stderr, flush=True)
    return int(summary.exit_code)
