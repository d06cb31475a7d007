"""The senders: aiohttp's pool straight (a run's default) and client.Sender over an httpx
transport, which builds each request itself, faster than httpx does from `content=`.
What goes on the wire must be what httpx would have sent; what comes back, and how a
request that got no answer fails, must not depend on which sender met it."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from excelfmt.calls.classify import classify_exception, describe_exception
from excelfmt.calls.client import open_sender
from excelfmt.calls.failures import CouldNotConnect, NoAnswerInTime, NoResponse
from excelfmt.calls.httpxsender import Sender
from excelfmt.calls.reply import MAX_BODY_BYTES, Reply
from excelfmt.models import Job, Row
from excelfmt.settings.config import load_settings
from tests.apiserver import ApiServer
from tests.apiserver import Reply as Answer

URL = "http://127.0.0.1:8080/orders?batch=1"
HEADERS = (
    ("Accept", "application/json"),
    ("User-Agent", "excelfmt/test"),
    ("Content-Type", "application/json"),
    ("Idempotency-Key", "6f1d8a52-4c1b-5d8e-9a57-0f3c2e7b9d41"),
)


def sender() -> Sender:
    return Sender(httpx.MockTransport(lambda r: httpx.Response(201)), timeout=7)


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
        async with open_sender(settings) as opened:
            return (await opened.send(job)).status

    assert anyio.run(send) == 201
    received = api.received[0]
    assert received.body == body
    assert received.headers["Content-Length"] == str(len(body))
    assert received.headers["Host"] == f"127.0.0.1:{api.port}"
    assert received.headers.getall("Host") == [f"127.0.0.1:{api.port}"]
    assert received.headers["Idempotency-Key"] == HEADERS[3][1]


def reply_over_both(api: ApiServer, job: Job) -> tuple[Reply, Reply]:
    """What the default sender and an httpx transport over the same pool bring back."""
    from httpx_aiohttp import AiohttpTransport

    settings = load_settings({"url": api.url, "timeout": 2}, env={})

    async def send(transport: httpx.AsyncBaseTransport | None) -> Reply:
        async with open_sender(settings, transport) as opened:
            return await opened.send(job)

    return anyio.run(send, None), anyio.run(send, AiohttpTransport())


def test_both_senders_read_the_same_reply(api: ApiServer) -> None:
    import gzip

    body = json.dumps({"detail": "no customer 1"}).encode()
    api.respond = lambda got: Answer(
        404, gzip.compress(body), {"Content-Encoding": "gzip", "X-Seen": "yes"}
    )
    job = Job(Row(0, 2, {}), "POST", f"{api.url}/orders", HEADERS, b"{}")
    direct, over_httpx = reply_over_both(api, job)
    assert direct.status == over_httpx.status == 404
    assert direct.body == over_httpx.body == body  # decompressed by both
    assert direct.headers["x-seen"] == over_httpx.headers["x-seen"] == "yes"
    assert direct.reason == over_httpx.reason == "Not Found"
    assert [r.headers["Idempotency-Key"] for r in api.received] == [HEADERS[3][1]] * 2


def test_a_huge_answer_is_read_only_up_to_the_limit(api: ApiServer) -> None:
    api.respond = lambda got: Answer(200, b"x" * (MAX_BODY_BYTES + 300_000))
    job = Job(Row(0, 2, {}), "GET", f"{api.url}/big", (), None)
    direct, over_httpx = reply_over_both(api, job)
    assert len(direct.body) == len(over_httpx.body) == MAX_BODY_BYTES


def failure_of(url: str, expected: type[Exception], timeout: float = 5) -> BaseException:
    """What the default sender raises for a POST to `url` that gets no answer."""
    settings = load_settings({"url": url, "timeout": timeout}, env={})
    job = Job(Row(0, 2, {}), "POST", f"{url}/orders", HEADERS, b"{}")

    async def send() -> BaseException:
        async with open_sender(settings) as opened:
            with pytest.raises(expected) as raised:
                await opened.send(job)
            return raised.value

    return anyio.run(send)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        pytest.param(Answer(reset=True), "connection to the API failed", id="reset"),
        pytest.param(Answer(delay=3), "did not answer in time", id="timeout"),
    ],
)
def test_no_answer_fails_as_a_network_error_with_a_sentence(
    api: ApiServer, answer: Answer, words: str
) -> None:
    api.respond = lambda got: answer
    failure = failure_of(api.url, NoResponse, timeout=0.5)
    assert classify_exception(failure).value == "NETWORK_ERROR"
    assert words in describe_exception(failure)


def test_a_refused_connection_says_it_could_not_connect() -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    failure = failure_of(f"http://127.0.0.1:{port}", CouldNotConnect)
    assert "Could not connect to the API" in describe_exception(failure)


@pytest.mark.parametrize(
    ("raised", "expected", "words"),
    [
        (httpx.ConnectError("refused"), CouldNotConnect, "Could not connect to the API (refused)"),
        (httpx.ConnectTimeout("slow"), NoAnswerInTime, "did not answer in time"),
        (httpx.ReadTimeout("slow"), NoAnswerInTime, "did not answer in time"),
        (httpx.RemoteProtocolError("cut"), NoResponse, "connection to the API failed (cut)"),
    ],
)
def test_an_httpx_transports_failures_read_as_aiohttps_do(
    raised: Exception, expected: type[Exception], words: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise raised

    job = Job(Row(0, 2, {}), "POST", URL, HEADERS, b"{}")

    async def send() -> BaseException:
        async with Sender(httpx.MockTransport(fail), timeout=7) as opened:
            with pytest.raises(expected) as failed:
                await opened.send(job)
            return failed.value

    failure = anyio.run(send)
    assert classify_exception(failure).value == "NETWORK_ERROR"
    assert words in describe_exception(failure)
