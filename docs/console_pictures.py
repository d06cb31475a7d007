"""Make the README's pictures of the web console from a real run, in Debian's chromium.

    .venv/bin/python docs/console_pictures.py     # needs chromium (apt-get install chromium)

Starts examples/api.py's API, `excelfmt serve` with a profile aimed at it, uploads
examples/orders.xlsx through the console, and photographs each page at 1280x800: New
run with its preview, the run as it goes and finished, the rows that need a person (all,
those refused for Email, and the same at a phone's 390 px), the log, the APIs, the runs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.serveserver import Served, make_tokens  # noqa: E402

IMAGES = HERE / "images"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    api = subprocess.Popen([sys.executable, str(ROOT / "examples" / "api.py"), str(port)])
    time.sleep(1.0)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        config = folder / "serve.toml"
        config.write_text(
            f'[profile.orders]\nurl = "http://127.0.0.1:{port}/orders"\nconcurrency = 4\n'
            "rate = 25\n"  # slow enough to photograph it going
        )
        tokens, operator, _ = make_tokens(folder)
        server = Served(folder, config, tokens).start()
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--no-sandbox"]
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{server.url}/?token={operator}")
                page.goto(f"{server.url}/new")
                page.set_input_files("#file", str(ROOT / "examples" / "orders.xlsx"))
                page.click('[data-action="preview"]')
                page.wait_for_selector('[data-field="preview"]:not([hidden])')
                page.screenshot(path=str(IMAGES / "console-new-run.png"))
                page.click("form.new-run button[type=submit]")
                page.wait_for_url("**/runs/*")
                time.sleep(5)
                page.screenshot(path=str(IMAGES / "console-run-live.png"))
                page.wait_for_selector('[data-field="state"]:text("finished")', timeout=120_000)
                page.screenshot(path=str(IMAGES / "console-run.png"))
                page.click("text=Rows that need a person")
                page.wait_for_selector("[data-grid]")
                page.screenshot(path=str(IMAGES / "console-errors.png"))
                run_page = page.url.rsplit("/errors", 1)[0]
                page.select_option('select[name="column"]', "Email")  # a filter, in the URL
                page.click(".filters button[type=submit]")
                page.wait_for_url("**column=Email*")
                page.screenshot(path=str(IMAGES / "console-errors-filtered.png"))
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                phone.goto(f"{server.url}/?token={operator}")
                phone.goto(page.url)
                phone.screenshot(path=str(IMAGES / "console-errors-phone.png"))
                phone.close()
                page.goto(f"{run_page}/log")
                page.screenshot(path=str(IMAGES / "console-log.png"))
                page.goto(f"{server.url}/apis")
                page.screenshot(path=str(IMAGES / "console-apis.png"))
                page.goto(f"{server.url}/")
                page.screenshot(path=str(IMAGES / "console-runs.png"))
                browser.close()
        finally:
            server.stop()
            api.terminate()
    print(f"pictures written to {IMAGES}")


if __name__ == "__main__":
    main()
