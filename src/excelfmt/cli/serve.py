"""`excelfmt serve` and `excelfmt token`: the HTTP API, and who may use it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..settings.environment import store_folder
from .app import reported_errors
from .arguments import StoreOption

INSTALL = "pip install 'excelfmt[serve]'"
ACCESS = "Access"

TokensFile = Annotated[
    Path,
    typer.Option(
        "--tokens", metavar="FILE", help="The tokens file (its tokens are kept as hashes)."
    ),
]


def serve_command(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            help="The address to listen on; another than loopback needs --tokens.",
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", min=0, max=65535)] = 8700,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            show_default=False,
            help="The settings file whose [profile.NAME] tables are the runs this server "
            "may start (where rows go, with which credentials).",
        ),
    ] = None,
    tokens: Annotated[
        Path | None,
        typer.Option(
            "--tokens",
            metavar="FILE",
            show_default=False,
            rich_help_panel=ACCESS,
            help="Who may use the server (excelfmt token add). Without it, on loopback, a "
            "token is made and printed at start.",
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            show_default=False,
            rich_help_panel=ACCESS,
            help="A name the server answers to besides its address (behind a reverse proxy: "
            "the public name); repeatable.",
        ),
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-origin",
            metavar="URL",
            show_default=False,
            rich_help_panel=ACCESS,
            help="A web front-end allowed to call the API from a browser (CORS); repeatable.",
        ),
    ] = None,
    max_upload: Annotated[
        str,
        typer.Option(
            "--max-upload", metavar="SIZE", help="The largest upload taken: 100MB, 2GB, 500kB."
        ),
    ] = "100MB",
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            metavar="redis://HOST:PORT/DB",
            show_default=False,
            help="Show the queue too; runs started here go through it.",
        ),
    ] = None,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            metavar="SECONDS",
            min=0.1,
            rich_help_panel=ACCESS,
            help="Close a connection that has not sent a request's headers whole in this "
            "long (a slow client holds nothing longer).",
        ),
    ] = 10.0,
    read_limit: Annotated[
        float,
        typer.Option(
            "--read-limit",
            metavar="SECONDS",
            min=1,
            rich_help_panel=ACCESS,
            help="The most time, and CPU time, an uploaded workbook may take to be read for a "
            "preview or a fix, or opened for a run; it is read in a process of its own, "
            "stopped past this or when its client leaves.",
        ),
    ] = 120.0,
    metrics_public: Annotated[
        bool,
        typer.Option(
            "--metrics-public",
            rich_help_panel=ACCESS,
            help="Let /metrics (Prometheus's format) be read without a token.",
        ),
    ] = False,
    store: StoreOption = None,
) -> None:
    """Serve the HTTP API over the store the CLI uses: runs, errors, metrics.

    Every route needs a token (Authorization: Bearer, or the session cookie from ?token= or /api/login); viewers read, operators also start and stop runs, resolve and reprocess. The routes are described at /api/openapi.json.
    """  # noqa: E501 - rich help keeps line breaks, so paragraphs are single lines
    with reported_errors():
        try:
            import fastapi  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError:
            raise UsageError(
                f"excelfmt serve needs the serve extra, which is not installed: {INSTALL}."
            ) from None
        from ..serve.options import ServeOptions
        from ..serve.server import serve

        options = ServeOptions(
            host=host,
            port=port,
            config=config,
            tokens_file=tokens,
            store=store_folder(store),
            queue=queue,
            allow_hosts=tuple(allow_host or ()),
            allow_origins=tuple(allow_origin or ()),
            max_upload=_size(max_upload),
            metrics_public=metrics_public,
            header_timeout=header_timeout,
            read_limit=read_limit,
        )
        serve(options)


def _size(text: str) -> int:
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?\s*", text)
    if not found:
        raise UsageError(f"--max-upload expects a size such as 100MB, got {text!r}.")
    scale = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}[found[2].lower()]
    return int(float(found[1]) * scale)


token_app = typer.Typer(
    help="Who may use `excelfmt serve`: tokens with a role, kept as hashes.",
    no_args_is_help=True,
)


@token_app.command("add")
def add_token(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Whose token: a person, a tool.")],
    role: Annotated[str, typer.Option("--role", help="viewer (reads) or operator (also changes).")],
    tokens: TokensFile,
) -> None:
    """Make a token; it is printed alone on stdout, once (the file keeps its hash)."""
    from ..serve.tokens import Tokens

    with reported_errors():
        made = Tokens.read(tokens).add(name, role)
    print(made)


@token_app.command("list")
def list_tokens(tokens: TokensFile) -> None:
    """The tokens' names, roles and when they were made (never the tokens)."""
    from ..serve.tokens import Tokens

    with reported_errors():
        entries = Tokens.read(tokens).entries
    for entry in entries:
        print(f"{entry.name}\t{entry.role}\t{entry.created}")


@token_app.command("remove")
def remove_token(name: Annotated[str, typer.Argument(metavar="NAME")], tokens: TokensFile) -> None:
    """Take a token away: a running server refuses it, and the sessions it logged in, at once."""
    from ..serve.tokens import Tokens

    with reported_errors():
        Tokens.read(tokens).remove(name)
    print(
        f"Removed the token {name!r}: refused from now on, by a running server too (the "
        "browser sessions it logged in end with it)."
    )
