"""client.Sender builds each request itself, faster than httpx does from `content=`; what
goes on the wire must be what httpx would have sent."""

from __future__ import annotations

import anyio
import httpx
import pytest

from excelfmt.calls.client import Sender
from excelfmt.models import Job, Row
from excelfmt.settings.config import load_settings
from tests.apiserver import ApiServer

URL = "http://127.0.0.1:8080/orders?batch=1"
HEADERS = (
    ("Accept", "application/json"),
    ("User-Agent", "excelfmt/test"),
    ("Content-Type", "application/json"),
    ("Idempotency-Key", "6f1d8a52-4c1b-5d8e-9a57-0f3c2e7b9d41"),
)


def sender() -> Sender:
    settings = load_settings({"url": URL, "timeout": 7}, env={})
    return Sender(settings, transport=httpx.MockTransport(lambda r: httpx.Response(201)))


def as_httpx_builds_it(job: Job) -> httpx.Request:
    timeout = {"timeout": httpx.Timeout(7).as_dict()}
    return httpx.Request(
        job.method, job.url, headers=job.headers, content=job.body, extensions=timeout
    )


@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [
        pytest.param("POST", URL, HEADERS, b'{"Order": "PO-1"}', id="post"),
        pytest.param("PUT", "http://example.org/a%20b", HEADERS, b"[1, 2]", id="default-port"),
        pytest.param("GET", URL, HEADERS[:2], None, id="get-no-body"),
        pytest.param("POST", URL, (), b"", id="empty-post"),
        pytest.param("POST", URL, (("Host", "api.example.org"), *HEADERS), b"{}", id="own-host"),
        pytest.param("PATCH", URL, (("content-length", "2"),), b"{}", id="own-length"),
    ],
)
def test_the_request_is_the_one_httpx_builds(
    method: str, url: str, headers: tuple[tuple[str, str], ...], body: bytes | None
) -> None:
    job = Job(Row(0, 2, {}), method, url, headers, body)
    built, expected = sender().request(job), as_httpx_builds_it(job)
    assert built.method == expected.method
    assert built.url == expected.url
    assert built.headers.raw == expected.headers.raw
    assert built.content == expected.content
    assert built.extensions == expected.extensions


def test_a_header_httpx_cannot_encode_fails_the_same_way() -> None:
    job = Job(Row(0, 2, {}), "POST", URL, (("X-Name", "Zoë"),), b"{}")
    with pytest.raises(UnicodeEncodeError):
        as_httpx_builds_it(job)
    with pytest.raises(UnicodeEncodeError):
        sender().request(job)


def test_the_api_receives_the_body_and_headers_over_the_default_transport(
    api: ApiServer,
) -> None:
    settings = load_settings({"url": api.url}, env={})
    body = '{"Customer": "Zoë"}'.encode()
    job = Job(Row(0, 2, {}), "POST", f"{api.url}/orders", HEADERS, body)

    async def send() -> int:
        async with Sender(settings) as opened:
            return (await opened.send(job)).status

    assert anyio.run(send) == 201
    received = api.received[0]
    assert received.body == body
    assert received.headers["Content-Length"] == str(len(body))
    assert received.headers["Host"] == f"127.0.0.1:{api.port}"
    assert received.headers.getall("Host") == [f"127.0.0.1:{api.port}"]
    assert received.headers["Idempotency-Key"] == HEADERS[3][1]
