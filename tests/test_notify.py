"""--notify-url: a run's end reported to a webhook, never at the cost of its result."""

from __future__ import annotations

import json

from .apiserver import Received, Reply

HOOK = "/hooks/T0KEN-of-the-webhook"


def api_with_hook(api, hook_status: int = 200, refuse: int | None = None) -> None:
    def respond(got: Received) -> Reply:
        if got.path == HOOK:
            return Reply(hook_status, {"ok": hook_status == 200})
        if refuse is not None and got.json["N"] == refuse:
            return Reply(422, {"message": "refused"})
        return Reply(201, {})

    api.respond = respond


def hooks(api):
    return [r for r in api.received if r.path == HOOK]


def test_the_summary_is_posted_when_the_run_ends_and_the_url_is_masked(api, workbook, cli):
    api_with_hook(api)
    book = workbook(["N"], [[n] for n in range(5)])
    result = cli("run", str(book), "--url", api.url, "--notify-url", api.url + HOOK, "--json")

    assert result.exit_code == 0, result.output
    [posted] = hooks(api)
    sent = posted.json
    assert sent["event"] == "excelfmt.run.ended"
    assert (sent["rows"], sent["ok"], sent["exit_code"]) == (5, 5, 0)
    assert sent["session"] == json.loads(result.stdout)["session"]
    shown = result.output + cli("sessions", "list", "--json").stdout
    assert "T0KEN-of-the-webhook" not in shown


def test_notify_on_failure_is_quiet_for_a_clean_run(api, workbook, cli):
    api_with_hook(api, refuse=3)
    book = workbook(["N"], [[n] for n in range(2)])
    flags = ["--notify-url", api.url + HOOK, "--notify-on", "failure"]
    assert cli("run", str(book), "--url", api.url, *flags).exit_code == 0
    assert hooks(api) == []
    failing = workbook(["N"], [[n] for n in range(5)], name="failing.xlsx")
    assert cli("run", str(failing), "--url", api.url, *flags).exit_code == 1
    assert [h.json["failed"] for h in hooks(api)] == [1]


def test_a_failed_notification_is_reported_and_changes_nothing(api, workbook, cli):
    api_with_hook(api, hook_status=503)
    book = workbook(["N"], [[n] for n in range(3)])
    result = cli("run", str(book), "--url", api.url, "--notify-url", api.url + HOOK)

    assert result.exit_code == 0, result.output
    assert len(hooks(api)) == 3  # busy: tried three times
    assert "notification of the run's end could not be sent (HTTP 503, 3 tries)" in (result.stderr)
    api_with_hook(api, hook_status=404)
    api.received.clear()
    refused = cli("run", str(book), "--url", api.url, "--notify-url", api.url + HOOK)
    assert refused.exit_code == 0 and len(hooks(api)) == 1  # refused: not tried again
    wrong = cli("run", str(book), "--url", api.url, "--notify-on", "sometimes")
    assert wrong.exit_code == 2 and "must be always or failure" in wrong.stderr
