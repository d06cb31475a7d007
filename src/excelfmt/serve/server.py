"""`excelfmt serve`: the app on uvicorn, on a socket this process binds itself.

Binding first lets a port in use or a wrong address be one sentence and exit 2, and
lets the server refuse what it should before it listens: a non-loopback address with
no tokens. Without a tokens file, on loopback, a random token is made and printed once
with a ready URL, as Jupyter does; it lives as long as the process.
"""

from __future__ import annotations

import secrets
import socket
import sys
from dataclasses import replace
from typing import TextIO

from ..errors import UsageError
from .access import Access
from .options import ServeOptions, load_profiles
from .tokens import Tokens


def serve(options: ServeOptions, out: TextIO = sys.stderr) -> None:
    tokens, made = _tokens(options)
    options = replace(options, profiles=load_profiles(options.config))
    listening = _bind(options.host, options.port)
    port = listening.getsockname()[1]
    import uvicorn

    from .app import create_app

    def warn(text: str) -> None:
        print(f"excelfmt serve: {text}", file=out, flush=True)

    app = create_app(options, Access(tokens, warn=warn))
    shown = f"[{options.host}]" if ":" in options.host else options.host
    base = f"http://{shown}:{port}/"
    print(f"excelfmt serve: listening on {base} (store {options.store})", file=out, flush=True)
    if made is not None:
        print(f"excelfmt serve: open {base}?token={made}", file=out, flush=True)
    from .headerdeadline import with_deadline

    config = uvicorn.Config(
        app,
        http=with_deadline(options.header_timeout),
        access_log=False,  # a ?token= link would be logged; changes are logged per session
        log_level="warning",
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        lifespan="off",
        # A page following a run holds its event stream open until the run ends: a stop
        # waits this long for such streams, not for the runs (which go on by themselves).
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(config).run(sockets=[listening])


def _tokens(options: ServeOptions) -> tuple[Tokens, str | None]:
    """The tokens to take, and the one made at start (printed once), if any."""
    if options.tokens_file is not None:
        tokens = Tokens.read(options.tokens_file)
        if not tokens.entries:
            raise UsageError(
                f"The tokens file {options.tokens_file} has no tokens; add one: excelfmt "
                f"token add NAME --role operator --tokens {options.tokens_file}"
            )
        return tokens, None
    if not options.loopback:
        raise UsageError(
            f"serve --host {options.host} listens beyond this machine, so it needs tokens: "
            "excelfmt token add NAME --role operator --tokens FILE, then serve --tokens FILE."
        )
    made = secrets.token_urlsafe(32)
    return Tokens.single(made), made


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host.strip("[]"), port))
    except OSError as exc:
        listening.close()
        raise UsageError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    listening.listen(128)
    return listening
