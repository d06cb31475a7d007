"""The example orders API, started alone as the README says: `python examples/api.py PORT`."""

from __future__ import annotations

import subprocess
import sys

import httpx

from .conftest import ROOT
from .serveserver import free_port


def test_the_example_api_starts_alone_and_answers_like_a_real_one():
    port = free_port()
    api = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "api.py"), str(port)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert api.stdout is not None
        assert api.stdout.readline().strip() == str(port)  # it says where it listens
        url = f"http://127.0.0.1:{port}/orders"
        order = {"Order": "PO-1", "Customer": "Acme", "Email": "a@b.example", "Amount": 5,
                 "Currency": "EUR"}  # fmt: skip
        assert httpx.post(url, json=order).status_code == 201
        assert httpx.post(url, json=order).status_code == 409  # sent twice
        assert httpx.post(url, json={**order, "Order": "PO-2", "Email": "x"}).status_code == 422
        answer = httpx.post(url, json={**order, "Order": "PO-3", "Currency": "XXX"})
        assert answer.status_code == 400
    finally:
        api.terminate()
        api.communicate(timeout=10)
