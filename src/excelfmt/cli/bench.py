"""`excelfmt bench URL`: one request at a time against the pool, on a real API."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from ..settings.config import load_settings
from ..ui.console import stdout_console
from .app import reported_errors
from .flags import (
    SENDING,
    ApiKeyEnv,
    ApiKeyHeader,
    AuthEnv,
    BasicAuthEnv,
    Batch,
    Bulk,
    ConfigFile,
    Header,
    Profile,
    given_settings,
)


def bench_command(
    url: Annotated[str, typer.Argument(metavar="URL", help="The API endpoint to measure.")],
    iterations: Annotated[
        int,
        typer.Option(
            "--iterations",
            "-n",
            metavar="N",
            min=1,
            max=1_000_000,
            rich_help_panel=SENDING,
            help="Requests sent each way.",
        ),
    ] = 100,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            "-X",
            metavar="METHOD",
            rich_help_panel=SENDING,
            help="HTTP method; one that may change data (POST, PUT, ...) needs --yes.",
        ),
    ] = "GET",
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            metavar="JSON",
            show_default=False,
            rich_help_panel=SENDING,
            help="The JSON body of every request.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            metavar="N",
            show_default=False,
            rich_help_panel=SENDING,
            help="The pool's ceiling, as for run (default 16).",
        ),
    ] = None,
    batch: Batch = None,
    bulk: Bulk = None,
    header: Header = None,
    auth_env: AuthEnv = None,
    basic_auth_env: BasicAuthEnv = None,
    api_key_header: ApiKeyHeader = None,
    api_key_env: ApiKeyEnv = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Send a method that may change data.")
    ] = False,
    config: ConfigFile = None,
    profile: Profile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure an API: N requests one at a time, then N through the pool; the speedup.

    The first N go one after another over one connection, the next N through the pool with every policy of a run; both are printed (req/s, p50/p90/p99, errors) with the speedup.

    The API's answers are not kept. Exit codes: 0 measured; 1 some requests failed; 2 bad usage.
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines
    given = dict(locals())
    with reported_errors():
        from ..engine.bench import bench, check_bench
        from ..ui.bench import print_bench

        flags = given_settings(given)
        flags.update(url=url, method=method, body=data)
        settings = load_settings(flags, config_file=config)
        check_bench(settings, iterations, yes)
        report = bench(settings, iterations)
        if as_json:
            shown = {**asdict(report), "speedup": round(report.speedup, 2)}
            for way in ("direct", "pool"):
                shown[way]["per_second"] = round(getattr(report, way).per_second, 1)
                shown[way]["rows_per_second"] = round(getattr(report, way).rows_per_second, 1)
            print(json.dumps(shown))
        else:
            print_bench(stdout_console(), report)
    if report.direct.errors or report.pool.errors:
        raise typer.Exit(1)
