"""`excelfmt serve` for tests: the real command in a process of its own, on a free port,
with a tokens file (an operator's and a viewer's token) and a profile aimed at a test API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

API_SECRET = "profile-secret-0f9e8d"
"""The profile's API token, read by the server from its environment (auth_env)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_tokens(folder: Path) -> tuple[Path, str, str]:
    """A tokens file with an operator's and a viewer's token: (file, operator, viewer)."""
    path = folder / "tokens.json"
    made = []
    for name, role in (("olga", "operator"), ("vic", "viewer")):
        done = subprocess.run(
            [sys.executable, "-m", "excelfmt", "token", "add", name, "--role", role,
             "--tokens", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        made.append(done.stdout.strip())
    return path, made[0], made[1]


def write_config(folder: Path, api_url: str, extra: str = "") -> Path:
    path = folder / "serve.toml"
    path.write_text(
        "[profile.orders]\n"
        f'url = "{api_url}/orders"\n'
        'auth_env = "ORDERS_TOKEN"\n'
        "concurrency = 4\n"
        "retries = 0\n" + extra
    )
    return path


class Served:
    """A running `excelfmt serve`; `.client(token)` talks to it."""

    def __init__(self, folder: Path, config: Path, tokens: Path | None, *extra: str) -> None:
        self.folder = folder
        self.config = config
        self.tokens = tokens
        self.extra = extra
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        command = [sys.executable, "-m", "excelfmt", "serve", "--port", str(self.port),
                   "--config", str(self.config), "--store", str(self.folder / "store"),
                   *self.extra]  # fmt: skip
        if self.tokens is not None:
            command += ["--tokens", str(self.tokens)]
        env = {**os.environ, "ORDERS_TOKEN": API_SECRET}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve ended: {self.process.communicate()}")
            try:
                httpx.get(f"{self.url}/api/whoami", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("serve did not start listening")

    def stop(self) -> str:
        """SIGTERM; what it printed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                out, err = self.process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()  # a test that fails leaves no server behind
                self.process.communicate()
                raise
            self.output += out + err
        return self.output

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def run_to_the_end(self, token: str, book: Path, profile: str = "orders") -> str:
        """POST /api/jobs with `book`, wait for the run to end; its session id."""
        with self.client(token) as client, book.open("rb") as handle:
            started = client.post(
                "/api/jobs", files={"file": (book.name, handle)}, data={"profile": profile}
            )
        started.raise_for_status()
        session = str(started.json()["session"])
        self.wait_done(token, session)
        return session

    def wait_done(self, token: str, session: str, within: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + within
        with self.client(token) as client:
            while time.monotonic() < deadline:
                status: dict[str, Any] = client.get(f"/api/jobs/{session}").json()
                if status["state"] != "running":
                    return status
                time.sleep(0.1)
        raise AssertionError(f"session {session} still running")
