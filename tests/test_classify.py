"""Statuses and exceptions -> categories; what to keep of a response."""

from __future__ import annotations

import pytest

from excelfmt.calls.classify import classify_exception, classify_status
from excelfmt.calls.failures import CouldNotConnect, NoAnswerInTime, NoResponse
from excelfmt.calls.responses import capture, decode_body, error_message, field_errors
from excelfmt.models import Category, JSONValue


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (200, None),
        (201, None),
        (204, None),
        (400, Category.REQUIRES_USER_ACTION),
        (404, Category.REQUIRES_USER_ACTION),
        (409, Category.REQUIRES_USER_ACTION),
        (422, Category.REQUIRES_USER_ACTION),
        (429, Category.TEMPORARY_FAILURE),
        (401, Category.AUTH_ERROR),
        (403, Category.AUTH_ERROR),
        (500, Category.SYSTEM_ERROR),
        (503, Category.SYSTEM_ERROR),
        (302, Category.UNKNOWN_ERROR),
        (418, Category.UNKNOWN_ERROR),
    ],
)
def test_status_table(status, category):
    assert classify_status(status) is category


def test_503_with_retry_after_is_temporary_and_rules_override():
    assert classify_status(503, retry_after=True) is Category.TEMPORARY_FAILURE
    assert classify_status(409, {409: "ok"}) is None
    assert classify_status(200, {200: "UNKNOWN_ERROR"}) is Category.UNKNOWN_ERROR


@pytest.mark.parametrize(
    "exc",
    [
        CouldNotConnect("refused"),
        NoAnswerInTime("slow"),
        ConnectionResetError(),
        TimeoutError(),
        NoResponse("bad"),
    ],
)
def test_transport_failures_are_network_errors(exc):
    assert classify_exception(exc) is Category.NETWORK_ERROR


def test_anything_else_is_unknown():
    assert classify_exception(ValueError("x")) is Category.UNKNOWN_ERROR


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"message": "Amount must be positive"}, "Amount must be positive"),
        ({"error": {"message": "nested"}}, "nested"),
        ({"error": "invalid_grant", "error_description": "expired"}, "expired"),
        ({"title": "Conflict", "detail": "order exists", "status": 409}, "Conflict: order exists"),
        (
            {"detail": [{"loc": ["body", "amount"], "msg": "field required"}]},
            "amount: field required",
        ),
        ({"errors": {"email": ["is invalid", "is taken"]}}, "email: is invalid; email: is taken"),
        (
            {"message": "Validation failed", "errors": [{"field": "zip", "message": "bad"}]},
            "Validation failed (zip: bad)",
        ),
        ("<html><head><title>502 Bad Gateway</title></head></html>", "502 Bad Gateway"),
        ("  plain\n text  ", "plain text"),
        (None, "Not Found"),
    ],
)
def test_error_messages_in_the_apis_words(body, message):
    assert error_message(body, "Not Found") == message


def test_long_messages_are_shortened():
    assert len(error_message({"message": "x" * 1000})) == 300


def test_field_errors_shapes():
    assert field_errors({"invalid_params": [{"name": "age", "reason": "too low"}]}) == [
        ("age", "too low")
    ]


def test_decode_body():
    assert decode_body(b'{"a": 1}', "application/json") == {"a": 1}
    assert decode_body(b"[1]") == [1]
    assert decode_body(b"not json {", "application/json") == "not json {"
    assert decode_body(b"  ") is None


def test_a_json_answer_in_any_encoding_json_allows_reads_as_its_value():
    for encoded in (
        '{"name": "Zoë"}'.encode(),
        '\ufeff{"name": "Zoë"}'.encode(),  # a UTF-8 BOM
        '{"name": "Zoë"}'.encode("utf-16"),
        '{"name": "Zoë"}'.encode("utf-32-le"),
    ):
        assert decode_body(encoded, "application/json") == {"name": "Zoë"}, encoded
    assert decode_body(b'{"name": "\xff"}', "application/json") == '{"name": "\ufffd"}'


def test_capture_dotted_paths():
    body: JSONValue = {"data": {"id": 5, "items": [{"sku": "A"}, {"sku": "B"}]}}
    assert capture(
        body, ["data.id", "data.items.1.sku", "data.items.-1.sku", "nope.x", "data.items.9"]
    ) == {
        "data.id": 5,
        "data.items.1.sku": "B",
        "data.items.-1.sku": "B",
        "nope.x": None,
        "data.items.9": None,
    }
