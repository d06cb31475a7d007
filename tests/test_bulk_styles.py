"""Bulk styles as pure functions: what a batch's request holds, how an answer is read."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from excelfmt.calls.bulk import style_of
from excelfmt.calls.responses import value_at
from excelfmt.models import Job, Row
from excelfmt.settings.bulking import preset_or_table, style_table


def item(n: int, body: bytes, key: str) -> Job:
    headers = (("Content-Type", "application/json"), ("Idempotency-Key", key))
    return Job(Row(n, n + 2, {}), "POST", "http://x/y", headers, body)


def test_a_salesforce_batch_is_its_envelope_with_the_items_in_order():
    style = style_of(preset_or_table("salesforce"))
    request = style.wrap([item(0, b'{"Name":"a"}', "k0"), item(1, b'{"Name":"b"}', "k1")])
    assert json.loads(request.body or b"") == {
        "allOrNone": False,
        "records": [{"Name": "a"}, {"Name": "b"}],
    }
    headers = dict(request.headers)
    assert headers["Content-Type"] == "application/json"
    again = style.wrap([item(0, b'{"Name":"a"}', "k0"), item(1, b'{"Name":"b"}', "k1")])
    other = style.wrap([item(0, b'{"Name":"a"}', "k0")])
    # The same rows, the same key; other rows, another one.
    assert dict(again.headers)["Idempotency-Key"] == headers["Idempotency-Key"]
    assert dict(other.headers)["Idempotency-Key"] != headers["Idempotency-Key"]


def test_an_ndjson_batch_ends_each_line_with_a_newline():
    style = style_of(preset_or_table("elasticsearch"))
    request = style.wrap([item(0, b'{"index":{}}\n{"a":1}', "k")])
    assert request.body == b'{"index":{}}\n{"a":1}\n'
    assert dict(request.headers)["Content-Type"] == "application/x-ndjson"


def test_elasticsearch_items_are_read_through_their_one_key():
    style = style_of(preset_or_table("elasticsearch"))
    answer: Any = {
        "items": [
            {"index": {"status": 201}},
            {"create": {"status": 409, "error": {"reason": "exists"}}},
        ]
    }
    read = style.read(answer, 2, ())
    assert not isinstance(read, str)
    first, second = read
    assert (first.status, first.message) == (201, None)
    assert (second.status, second.message) == (409, "exists")
    assert value_at({"a": {"b": [1, {"c": 2}]}}, "a.b.1.c") == 2
    assert value_at({"x": 1, "y": 2}, "*") is None  # not a one-key object


def test_a_trace_answer_naming_inputs_not_in_the_batch_is_not_mapped():
    style = style_of(preset_or_table("hubspot"))
    answer: Any = {
        "results": [],
        "errors": [{"message": "no", "context": {"objectWriteTraceId": ["99"]}}],
    }
    read = style.read(answer, 2, ["2", "3"])
    assert isinstance(read, str) and "names 1 input(s) that were not in the batch" in read


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ({"envelope": {"data": "x"}}, 'envelope must hold "{_items}" once'),
        ({"format": "ndjson", "envelope": "{_items}"}, "an ndjson style has no envelope"),
        ({"match": "trace"}, 'match = "trace" needs trace, errors and error_id'),
        ({"results": 3}, "results must be a dotted path"),
        ({"colour": "red"}, "has no key 'colour'"),
        ({"max_batch": 0}, "must be between 1 and 10000"),
    ],
)
def test_a_style_table_that_is_not_a_style_says_why(table: dict[str, object], said: str):
    with pytest.raises(ValueError, match=re.escape(said)):
        style_table(table)
