"""Proxies and TLS, end to end: settings that only matter when the network is not simple."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator

import pytest
import trustme

from .apiserver import ApiServer


def test_proxy_flag_routes_requests_through_the_proxy(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    # An HTTP proxy receives the absolute URL; the test API plays the proxy here, so a
    # request for a host that does not exist still arrives.
    result = cli("run", str(book), "--url", "http://orders.invalid/new", "--proxy", api.url)
    assert result.exit_code == 0, result.output
    assert api.received[0].headers["Host"] == "orders.invalid"
    assert api.received[0].path == "/new"


def test_proxy_from_the_environment_and_no_proxy(api, workbook, cli):
    book = workbook(["Id"], [[1]])
    env = {"HTTP_PROXY": api.url}
    assert cli("run", str(book), "--url", "http://orders.invalid/x", env=env).exit_code == 0
    assert len(api.received) == 1
    result = cli(
        "run",
        str(book),
        "--url",
        "http://orders.invalid/x",
        "--json",
        env={**env, "NO_PROXY": "orders.invalid"},
    )
    assert json.loads(result.stdout)["categories"] == {"NETWORK_ERROR": 1}
    assert len(api.received) == 1


@pytest.fixture
def tls_api() -> Iterator[tuple[ApiServer, trustme.CA]]:
    """An HTTPS API whose certificate is signed by a private test CA."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = ApiServer(ssl_context=context).start()
    yield server, ca
    server.stop()


def test_ca_bundle_makes_a_private_ca_trusted(tls_api, workbook, cli, tmp_path):
    server, ca = tls_api
    url = f"{server.url}/x"
    book = workbook(["Id"], [[1]])
    untrusted = cli("run", str(book), "--url", url, "--json", "--retries", "0")
    assert json.loads(untrusted.stdout)["categories"] == {"NETWORK_ERROR": 1}

    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    trusted = cli("run", str(book), "--url", url, "--ca-bundle", str(bundle))
    assert trusted.exit_code == 0, trusted.output


def test_ssl_cert_file_in_the_environment_is_trusted_as_httpx_trusts_it(
    tls_api, workbook, cli, tmp_path
):
    """Without --ca-bundle, a run trusts certifi's bundle, or the one SSL_CERT_FILE names
    (what a company's proxy set-up usually provides)."""
    server, ca = tls_api
    bundle = tmp_path / "company-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    book = workbook(["Id"], [[1]])
    run = ("run", str(book), "--url", f"{server.url}/x", "--json", "--retries", "0")
    trusted = cli(*run, env={"SSL_CERT_FILE": str(bundle)})
    assert trusted.exit_code == 0, trusted.output
    assert json.loads(trusted.stdout)["ok"] == 1
    elsewhere = cli(*run, env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": str(tmp_path / "none")})
    assert json.loads(elsewhere.stdout)["categories"] == {"NETWORK_ERROR": 1}


def test_certificates_that_cannot_be_loaded_are_one_sentence_and_exit_2(
    tls_api, workbook, cli, tmp_path
):
    server, _ = tls_api
    not_pem = tmp_path / "not-a-certificate.pem"
    not_pem.write_text("not a certificate\n")
    book = workbook(["Id"], [[1]])
    run = ("run", str(book), "--url", f"{server.url}/x")
    for flags, env, named in (
        ((), {"SSL_CERT_FILE": str(tmp_path / "missing.pem")}, "SSL_CERT_FILE="),
        ((), {"SSL_CERT_FILE": str(not_pem)}, "SSL_CERT_FILE="),
        (("--ca-bundle", str(not_pem)), {}, "--ca-bundle"),
    ):
        result = cli(*run, *flags, env=env)
        assert result.exit_code == 2, result.output
        assert f"The CA certificates of {named}" in result.output
        assert "Traceback" not in result.output
    assert not server.received
