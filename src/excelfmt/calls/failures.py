"""A request that got no answer, and a run that has no token: in excelfmt's own words.

Each sender raises these for its client's failures (aiosender.py for aiohttp's,
httpxsender.py for an httpx transport's), so that classify.py and the retry loop know
one vocabulary, a connection refused reads the same whichever client met it, and a run
loads no exception types of a client it does not use.
"""

from __future__ import annotations


class NoResponse(Exception):
    """No answer came: the connection failed or broke first. A network error."""


class CouldNotConnect(NoResponse):
    """The connection was refused, the host unknown, or the TLS handshake failed."""


class NoAnswerInTime(NoResponse):
    """Connecting or the answer took longer than the timeout."""


class TokenError(Exception):
    """No OAuth2 token to be had: the credentials were refused, or the token endpoint did
    not answer. It stops the run (exit 3) with the endpoint's own words."""
