"""`excelfmt run` on every .xlsx/.xlsm of the corpus: no Python message, and every value
sent is the one python-calamine (an independent reader, in Rust) reads in that cell."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from .apiserver import ApiServer
from .conftest import CORPUS
from .test_reader import _calamine_rows, _first_filled_row

WORKBOOKS = sorted(p.name for p in CORPUS.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm"))
PYTHON_WORDS = re.compile(r"Traceback|Error:|Exception|\b(int|float)\(\)|list index|KeyError")
CALAMINE_DIFFERS = {
    # calamine gives an error cell as empty; excelfmt refuses its row, naming the error.
    "errors.xlsx",
    # calamine trims the whitespace Excel shows around text (corpus README).
    "whitespace_trim.xlsx",
    # A serial past 9999-12-31 under a date format: calamine gives the number, excelfmt
    # refuses the row (Excel shows #####).
    "date_out_of_range.xlsx",
}


def expected_json(value: Any) -> Any:
    """A calamine value as excelfmt sends it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value
    return None if value == "" else value


def same(sent: Any, wanted: Any) -> bool:
    if isinstance(sent, float) and isinstance(wanted, int | float):
        return math.isclose(sent, wanted, rel_tol=1e-12)
    if isinstance(wanted, timedelta):
        return isinstance(sent, str) and sent.startswith("P")
    if sent == wanted:
        return True
    try:  # a datetime calamine writes without its time, or with a space
        return datetime.fromisoformat(str(sent)) == datetime.fromisoformat(str(wanted))
    except ValueError:
        return False


@pytest.mark.parametrize("name", WORKBOOKS)
def test_the_corpus_is_sent_as_it_reads_elsewhere(
    name: str, api: ApiServer, cli: Any, tmp_path: Path
) -> None:
    path = CORPUS / name
    try:
        header_row = _first_filled_row(path)
    except Exception:  # calamine cannot read it either: excelfmt must refuse it
        header_row = 1
    out = tmp_path / "out.jsonl"
    result = cli(
        "run", str(path), "--url", api.url, "--header-row", str(header_row),
        "--output", str(out), "--quiet",
    )  # fmt: skip
    said = result.stderr.strip()
    assert not PYTHON_WORDS.search(said), said
    if result.exit_code == 2:  # refused: one sentence naming the file
        assert name in said and said.endswith(".") and "\n" not in said
        assert api.received == []
        return
    assert result.exit_code in (0, 1), said
    if name in CALAMINE_DIFFERS:
        return
    rows = _calamine_rows(path)
    header = [str(expected_json(v)) for v in rows[header_row - 1]]
    wanted = {}
    for number, values in enumerate(rows[header_row:], start=header_row + 1):
        cells = {h: expected_json(v) for h, v in zip(header, values, strict=False) if h != "None"}
        if any(v is not None and str(v).strip() for v in cells.values()):
            wanted[number] = cells
    sent = [r.json for r in api.received]  # in the order they arrived: matched by content
    assert len(sent) == len(wanted), (name, len(sent), len(wanted))
    for number, cells in wanted.items():
        match = next((b for b in sent if all(same(b.get(c), v) for c, v in cells.items())), None)
        assert match is not None, (name, number, cells, sent)
        sent.remove(match)
