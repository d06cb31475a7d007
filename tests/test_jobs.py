"""Row -> Job: templates, types, URL encoding, headers, idempotency keys."""

from __future__ import annotations

import json
import pickle
import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest

from excelfmt.calls.jobs import Planner, idempotency_key
from excelfmt.calls.template import iso_duration
from excelfmt.engine.wire import job_from_wire, job_to_wire
from excelfmt.errors import TemplateError
from excelfmt.models import CellError, Job, Row
from excelfmt.settings.config import load_settings

COLUMNS = ("Id", "Name", "Amount", "Day")


def planner(**flags: object) -> Planner:
    flags.setdefault("url", "https://api.example.com/items")
    return Planner(load_settings(flags, env={}), COLUMNS)


def row(number: int = 2, **values: object) -> Row:
    base = {"Id": 1, "Name": "Ada", "Amount": 9.5, "Day": date(2024, 1, 2)}
    base.update(values)
    return Row(number - 2, number, base)  # type: ignore[arg-type]


def body(job) -> object:
    return json.loads(job.body)


def test_default_body_is_the_row_with_iso_dates():
    job = planner().plan(row())
    assert job.method == "POST" and job.problem is None
    assert body(job) == {"Id": 1, "Name": "Ada", "Amount": 9.5, "Day": "2024-01-02"}
    assert dict(job.headers)["Content-Type"] == "application/json"


def test_sole_placeholder_keeps_type_and_interpolation_makes_text():
    job = planner(
        body={
            "n": "{Amount}",
            "t": "{Name}: {Amount}",
            "r": "{_row}",
            "d": "{Day}",
            "k": [{"{Name}": True}],
        }
    ).plan(row(number=7))
    assert body(job) == {"n": 9.5, "t": "Ada: 9.5", "r": 7, "d": "2024-01-02", "k": [{"Ada": True}]}


def test_url_placeholders_are_encoded_and_empty_ones_are_a_row_problem():
    p = planner(url="https://h/x/{Name}?id={Id}")
    assert p.plan(row(Name="a b/c&d")).url == "https://h/x/a%20b%2Fc%26d?id=1"
    job = p.plan(row(Name=None))
    assert job.problem == "Row 2: column Name is empty, but the URL needs it."


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("../admin", "..%2Fadmin"),
        ("a/b", "a%2Fb"),
        ("%2E%2E", "%252E%252E"),
        ("?x=1", "%3Fx%3D1"),
        ("#top", "%23top"),
        ("...", "..."),
        (" ..", "%20.."),
        ("..\\", "..%5C"),
    ],
)
def test_a_url_path_value_is_one_segment_whatever_it_holds(value: str, segment: str):
    p = planner(url="https://h/orders/{Name}?id={Id}")
    assert p.plan(row(Name=value)).url == f"https://h/orders/{segment}?id=1"


@pytest.mark.parametrize("value", [".", ".."])
def test_a_dot_segment_in_a_url_path_refuses_its_row(value: str):
    # PUT /orders/{Id} with ".." would go to PUT / on the same host, credentials and all.
    p = planner(url="https://h/orders/{Name}/items?id={Id}", method="PUT")
    job = p.plan(row(Name=value))
    assert job.problem == (
        f"Row 2: column Name is {value!r}, which in the URL's path would point at another "
        "resource; fix the cell."
    )
    assert p.problem(row(Name=value)) == job.problem  # `check` finds it too
    # In the query a dot is only data.
    assert planner(url="https://h/orders?q={Name}").plan(row(Name=value)).problem is None


def test_excel_error_cells_are_a_row_problem():
    job = planner().plan(row(Amount=CellError("#DIV/0!")))
    assert job.problem is not None and "#DIV/0!" in job.problem


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"url": "https://h/{Nmae}"}, "The URL"),
        ({"header": ("X-A: {Idd}",)}, "Header X-A"),
        ({"body": {"a": "{amount}"}}, "the body template"),
        ({"method": "{Verb}"}, "The method"),
    ],
)
def test_unknown_columns_are_found_before_anything_is_sent(settings, where):
    with pytest.raises(TemplateError, match=where):
        planner(**settings)


def test_unmatched_brace_is_explained():
    with pytest.raises(TemplateError, match="unmatched"):
        planner(url="https://h/{Id")


def test_method_template_and_bodiless_methods():
    p = Planner(load_settings({"url": "https://h/{Id}", "method": "{Name}"}, env={}), COLUMNS)
    assert p.plan(row(Name="delete")).method == "DELETE"
    assert p.plan(row(Name="delete")).body is None
    assert p.plan(row(Name="not a method")).problem is not None


def test_headers_credentials_and_user_agent():
    settings = load_settings(
        {"url": "https://h", "header": ("X-Name: {Name}",), "auth_env": "T"}, env={"T": "tok-9999"}
    )
    headers = dict(Planner(settings, COLUMNS).plan(row()).headers)
    assert headers["X-Name"] == "Ada"
    assert headers["Authorization"] == "Bearer tok-9999"
    assert headers["User-Agent"].startswith("excelfmt/")
    assert Planner(settings, COLUMNS).plan(row(Name="a\nb")).problem is not None


def test_idempotency_key_is_stable_per_row_content_and_changes_with_it():
    p = planner()
    key = dict(p.plan(row()).headers)["Idempotency-Key"]
    assert key == dict(p.plan(row()).headers)["Idempotency-Key"]
    assert key != dict(p.plan(row(Amount=10)).headers)["Idempotency-Key"]
    # Two identical rows are two requests: the row number keeps them apart.
    assert key != dict(p.plan(row(number=3)).headers)["Idempotency-Key"]
    assert "Idempotency-Key" not in dict(planner(method="PUT").plan(row()).headers)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(hours=30, minutes=5), "P1DT6H5M"),
        (timedelta(0), "PT0S"),
        (timedelta(seconds=1.5), "PT1.5S"),
        (timedelta(days=-1), "-P1D"),
    ],
)
def test_iso_durations(value, text):
    assert iso_duration(value) == text


def test_times_and_datetimes_in_json():
    job = planner(body={"t": "{Day}"}).plan(row(Day=time(9, 30)))
    assert body(job) == {"t": "09:30:00"}
    job = planner(body={"t": "{Day}"}).plan(row(Day=datetime(2024, 1, 2, 3, 4, 5)))
    assert body(job) == {"t": "2024-01-02T03:04:05"}


@pytest.mark.parametrize(
    ("method", "url", "content"),
    [
        ("POST", "https://api.example.com/orders", b'{"Amount":10}'),
        ("PATCH", "https://api.example.com/orders/%C3%A9t%C3%A9", '{"Name":"Zoë"}'.encode()),
        ("POST", "https://api.example.com/x", None),
        ("POST", "https://api.example.com/x", b"\xff not utf-8"),
    ],
)
def test_idempotency_key_is_the_uuid5_earlier_versions_sent(method, url, content):
    # A resumed run must send the key the interrupted one sent: the key is computed by
    # hand for speed, and must stay uuid5 of the same name.
    name = f"7\n{method} {url}\n".encode() + (content or b"")
    namespace = uuid.UUID("6f1d8a52-4c1b-5d8e-9a57-0f3c2e7b9d41")  # never to change
    expected = str(uuid.uuid5(namespace, name.decode("utf-8", "replace")))
    assert idempotency_key(row(number=7), method, url, content) == expected


def test_a_job_crosses_the_pipe_whole_but_without_the_rows_values():
    planned = planner().plan(row())
    problem = Job(row(number=4), "", "", (), None, problem="Row 4: column Id is empty.")
    recorded = Job(row(number=5), "", "", (), None, recorded=(None, 201, None, {"id": 1}, 0.1, 1))
    for job in (planned, problem, recorded):
        back = job_from_wire(pickle.loads(pickle.dumps(job_to_wire(job))))
        assert back == replace(job, row=Row(job.row.seq, job.row.number, {}))


@pytest.mark.parametrize(
    ("settings", "values"),
    [
        ({"url": "https://h/{Id}"}, {"Id": 1, "Name": "a"}),
        ({"url": "https://h/{Id}"}, {"Id": None, "Name": "a"}),
        ({"url": "https://h"}, {"Id": 1, "Name": CellError("#N/A")}),
        ({"url": "https://h", "body": '{"n": "{Name}"}'}, {"Id": 1, "Name": CellError("#REF!")}),
        ({"url": "https://h", "method": "{Name}"}, {"Id": 1, "Name": "not a method"}),
        ({"url": "https://h", "header": ("X-N: {Name}",)}, {"Id": 1, "Name": "two\nlines"}),
        ({"url": "https://h", "method": "GET"}, {"Id": 1, "Name": CellError("#N/A")}),
    ],
)
def test_a_check_finds_exactly_the_problems_a_run_would(settings, values):
    planner = Planner(load_settings(settings, env={}), ["Id", "Name"])
    row = Row(0, 2, values)
    assert planner.problem(row) == planner.plan(row).problem
