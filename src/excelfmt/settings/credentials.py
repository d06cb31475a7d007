"""The credentials a run sends, read from the environment variables its settings name.

Secrets never go on the command line or into a settings file: a setting names a
variable (auth_env, basic_auth_env, api_key_env, the OAuth2 client's id and secret), and
its value is read here, at the
edge, with everything that must be masked wherever text is shown: the value itself and
each form it is sent in (a Basic credential is base64, which an API may echo back).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import UsageError


@dataclass(frozen=True)
class ClientCredentials:
    """What an OAuth2 client-credentials grant asks the token endpoint with."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    audience: str | None = None


@dataclass
class Credentials:
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Header name and value pairs to send with every request."""
    secrets: list[str] = field(default_factory=list)
    """Every text that must never be shown."""
    oauth2: ClientCredentials | None = None
    """Where and with what to get tokens, when the API wants OAuth2."""


def read_credentials(values: Mapping[str, object], env: Mapping[str, str]) -> Credentials:
    """Bearer token, HTTP Basic and an API key header, as the settings name them."""
    found = Credentials()
    given = [name for name in _AUTHORIZATION if values[name]]
    if len(given) > 1:
        raise UsageError(
            f"{' and '.join(given)} all set the Authorization header; give one of them."
            if len(given) > 2
            else f"{given[0]} and {given[1]} both set the Authorization header; give one of them."
        )
    if values["auth_env"]:
        token = _secret(env, str(values["auth_env"]), "auth_env")
        found.headers.append(("Authorization", f"Bearer {token}"))
        found.secrets.append(token)
    if values["basic_auth_env"]:
        pair = _secret(env, str(values["basic_auth_env"]), "basic_auth_env")
        user, colon, password = pair.partition(":")
        if not (user and colon):
            raise UsageError(
                f"basic_auth_env: {values['basic_auth_env']} must hold user:password "
                "(the user name, a colon, the password)."
            )
        encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        found.headers.append(("Authorization", f"Basic {encoded}"))
        found.secrets += [encoded, pair] + ([password] if password else [])
    if values["oauth2_token_url"]:
        found.oauth2 = _client_credentials(values, env)
        found.secrets.append(found.oauth2.client_secret)
    key_header, key_env = values["api_key_header"], values["api_key_env"]
    if bool(key_header) != bool(key_env):
        raise UsageError("api_key_header and api_key_env go together: set both or neither.")
    if key_header and key_env:
        key = _secret(env, str(key_env), "api_key_env")
        found.headers.append((str(key_header), key))
        found.secrets.append(key)
    return found


_AUTHORIZATION = ("auth_env", "basic_auth_env", "oauth2_token_url")
"""The settings that each fill the Authorization header."""


def _client_credentials(values: Mapping[str, object], env: Mapping[str, str]) -> ClientCredentials:
    id_env, secret_env = values["oauth2_client_id_env"], values["oauth2_client_secret_env"]
    if not (id_env and secret_env):
        raise UsageError(
            "oauth2_token_url needs oauth2_client_id_env and oauth2_client_secret_env: the "
            "names of the variables holding the client's id and secret."
        )
    return ClientCredentials(
        token_url=str(values["oauth2_token_url"]),
        client_id=_secret(env, str(id_env), "oauth2_client_id_env"),
        client_secret=_secret(env, str(secret_env), "oauth2_client_secret_env"),
        scope=str(values["oauth2_scope"]) if values["oauth2_scope"] else None,
        audience=str(values["oauth2_audience"]) if values["oauth2_audience"] else None,
    )


def _secret(env: Mapping[str, str], name: str, setting: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise UsageError(
            f"{setting} names the environment variable {name}, but it is not set or empty."
        )
    return value
