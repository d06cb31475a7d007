"""`make demo`: start the example API, send examples/orders.xlsx to it, show the results.

Runs the real `excelfmt` command, so what you see is what you get on your own sheets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    api = subprocess.Popen(
        [sys.executable, str(HERE / "api.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert api.stdout is not None
        port = int(api.stdout.readline())
        url = f"http://127.0.0.1:{port}/orders"
        excelfmt = shutil.which("excelfmt", path=str(Path(sys.executable).parent)) or "excelfmt"
        command = [
            excelfmt,
            "run",
            str(HERE / "orders.xlsx"),
            "--url",
            url,
            "--capture",
            "id",
            "--capture",
            "status",
        ]
        print("$", " ".join(["excelfmt", *command[1:]]), flush=True)
        code = subprocess.call(command)
        if code == 1:
            show_errors(excelfmt)
    finally:
        api.terminate()
        api.wait(10)
    results = HERE / "orders.results.xlsx"
    print()
    print(f"Results workbook: {results}")
    if code == 1:
        print("Exit code 1: the example sheet has a few bad rows on purpose (a missing email,")
        print("a negative amount, an unknown currency, an order typed twice). They are marked")
        print("in red in the results workbook, with the API's own message beside each one.")
        return 0
    return code


def show_errors(excelfmt: str) -> None:
    """The rows that need a person, as the store keeps them for the fix loop."""
    listed = subprocess.run(
        [excelfmt, "sessions", "list", "--json"], capture_output=True, text=True, check=True
    )
    session = json.loads(listed.stdout)[0]["id"]
    print(f"\n$ excelfmt errors summary --session {session}", flush=True)
    subprocess.call([excelfmt, "errors", "summary", "--session", session])
    print(
        f"Next: excelfmt errors export --session {session} -o fix.xlsx, correct the "
        f"cells in Excel, then excelfmt reprocess --session {session} --from fix.xlsx"
    )


if __name__ == "__main__":
    raise SystemExit(main())
