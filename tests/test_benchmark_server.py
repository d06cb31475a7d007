"""The benchmark's API is a real HTTP/1.1 server: the figures in docs/performance.md are
only worth something if every client there gets well-formed answers, on kept-alive
connections, in order."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

SERVER = Path(__file__).resolve().parents[1] / "benchmarks" / "server.py"


@contextmanager
def serving(*arguments: str) -> Iterator[dict[int, int]]:
    """benchmarks/server.py with these arguments; its port for each latency."""
    with subprocess.Popen(
        [sys.executable, str(SERVER), *arguments], stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            yield {int(ms): int(port) for ms, port in (item.split("=") for item in line.split())}
        finally:
            server.terminate()


@pytest.fixture(params=["lean", "aiohttp"])
def ports(request: pytest.FixtureRequest) -> Iterator[dict[int, int]]:
    flags = ["--aiohttp"] if request.param == "aiohttp" else []
    with serving(*flags, "0", "50") as found:
        yield found


def read_reply(stream: BinaryIO) -> tuple[bytes, bytes]:
    """One HTTP reply from a socket's stream: its status line and its body."""
    status = stream.readline().rstrip()
    length = 0
    while (line := stream.readline().rstrip()) != b"":
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, stream.read(length)


def test_both_latencies_answer_201_with_a_new_id_each_time(
    ports: dict[int, int],
) -> None:
    for port in ports.values():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            replies = [client.post("/orders", json={"Order": f"PO-{n}"}) for n in range(3)]
        assert [r.status_code for r in replies] == [201, 201, 201]
        assert [r.json()["status"] for r in replies] == ["accepted"] * 3
        assert [r.json()["id"] for r in replies] == [1, 2, 3]


def test_one_connection_carries_pipelined_requests_in_order_until_close(
    ports: dict[int, int],
) -> None:
    request = b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    closing = request.replace(b"Host: x", b"Host: x\r\nConnection: close")
    with socket.create_connection(("127.0.0.1", ports[50]), timeout=10) as sock:
        sock.sendall(request + request + closing)
        stream = sock.makefile("rb")
        replies = [read_reply(stream) for _ in range(3)]
        assert [status for status, _ in replies] == [b"HTTP/1.1 201 Created"] * 3
        assert [json.loads(body)["id"] for _, body in replies] == [1, 2, 3]
        assert stream.read(1) == b""  # closed after the request that asked for it


def test_lean_server_refuses_a_chunked_body_rather_than_hang() -> None:
    with (
        serving("0") as found,
        socket.create_connection(("127.0.0.1", found[0]), timeout=10) as sock,
    ):
        sock.sendall(
            b"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n\r\n"
        )
        status, _ = read_reply(sock.makefile("rb"))
    assert status == b"HTTP/1.1 411 Length Required"
