"""OAuth2 client credentials against a local token endpoint and API."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from .apiserver import Received, Reply

CLIENT = ("orders-client", "cl1ent-s3cret-value")
ENV = {"ORDERS_CLIENT_ID": CLIENT[0], "ORDERS_CLIENT_SECRET": CLIENT[1]}


class Issuer:
    """A token endpoint and an API that accepts only its current tokens."""

    def __init__(self, lifetime: float = 3600, refuse: bool = False) -> None:
        self.lifetime, self.refuse = lifetime, refuse
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, got: Received) -> Reply:
        if got.path == "/token":
            return self.token(got)
        if got.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid:
            return Reply(401, {"message": f"bad token {got.headers.get('Authorization')}"})
        return Reply(201, {"id": got.json["N"]}, delay=0.005)

    def token(self, got: Received) -> Reply:
        expected = "Basic " + base64.b64encode(":".join(CLIENT).encode()).decode()
        form = dict(pair.split("=") for pair in got.body.decode().split("&"))
        if self.refuse or got.headers.get("Authorization") != expected:
            return Reply(401, {"error": "invalid_client", "error_description": "unknown client"})
        assert form["grant_type"] == "client_credentials" and form.get("scope") == "orders"
        with self.lock:
            token = f"tok-{len(self.issued)}-abcdef"
            self.issued.append(token)
            self.valid.add(token)
        return Reply(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
        )

    def revoke_all(self) -> None:
        with self.lock:
            self.valid.clear()


def run(cli: Any, book: Any, api: Any, *extra: str) -> Any:
    return cli(
        "run", str(book), "--url", api.url + "/orders", "--json",
        "--oauth2-token-url", api.url + "/token", "--oauth2-scope", "orders",
        "--oauth2-client-id-env", "ORDERS_CLIENT_ID",
        "--oauth2-client-secret-env", "ORDERS_CLIENT_SECRET", *extra, env=ENV,
    )  # fmt: skip


def test_one_token_serves_every_request_and_is_renewed_before_it_expires(api, workbook, cli):
    issuer = Issuer(lifetime=0.1)  # renewed every 0.09 s
    api.respond = issuer
    book = workbook(["N"], [[n] for n in range(400)])
    result = run(cli, book, api, "--concurrency", "8", "--min-concurrency", "8")

    summary = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert summary["ok"] == 400
    sent = [r for r in api.received if r.path == "/orders"]
    assert len(sent) == 400  # never a request with an expired token, so never a 401
    assert 1 < len(issuer.issued) < 20
    for secret in (CLIENT[1], *issuer.issued):
        assert secret not in result.output


def test_a_401_storm_costs_one_token_request(api, workbook, cli):
    issuer = Issuer()
    book = workbook(["N"], [[n] for n in range(300)])

    def respond(got: Received) -> Reply:
        if got.path == "/orders" and got.json["N"] == 100 and len(issuer.issued) == 1:
            issuer.revoke_all()  # the API forgets its tokens: every row in flight gets 401
        return issuer(got)

    api.respond = respond
    result = run(cli, book, api, "--concurrency", "32", "--min-concurrency", "32")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] == 300
    assert len(issuer.issued) == 2  # one renewal, however many rows saw the 401
    assert sum(1 for r in api.received if r.path == "/token") == 2


def test_refused_client_credentials_stop_the_run_and_fail_no_row(api, workbook, cli):
    api.respond = Issuer(refuse=True)
    book = workbook(["N"], [[n] for n in range(20)])
    result = run(cli, book, api)

    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert summary["failed"] == 0 and summary["rows"] == 0
    assert (
        "refused the client credentials (HTTP 401: invalid_client - unknown client)"
        in (summary["stopped"])
    )
    assert [r.path for r in api.received] == ["/token"]  # nothing sent without a token
    assert CLIENT[1] not in result.output

    missing = cli(
        "run", str(book), "--url", api.url, "--oauth2-token-url", api.url + "/token",
        "--oauth2-client-id-env", "ORDERS_CLIENT_ID",
        "--oauth2-client-secret-env", "NOT_SET_ANYWHERE", env=ENV,
    )  # fmt: skip
    assert missing.exit_code == 2 and "NOT_SET_ANYWHERE" in missing.stderr
