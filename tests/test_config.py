"""Settings: precedence, validation with sentences, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from excelfmt.errors import UsageError
from excelfmt.settings.config import load_settings
from excelfmt.settings.options import OPTIONS


def load(flags=None, env=None, toml: str | None = None, tmp_path: Path | None = None, **kw):
    if toml is not None:
        assert tmp_path is not None
        (tmp_path / "excelfmt.toml").write_text(toml)
    return load_settings(flags or {}, env=env or {}, cwd=tmp_path, **kw)


def test_defaults(tmp_path):
    s = load({"url": "https://api.example.com/x"}, tmp_path=tmp_path)
    assert (s.method, s.concurrency, s.rate, s.timeout, s.header_row) == ("POST", 16, 0.0, 30.0, 1)


def test_precedence_defaults_file_env_flags(tmp_path):
    toml = 'url = "http://file"\nconcurrency = 4\nrate = 5\ntimeout = 9\n'
    env = {"EXCELFMT_CONCURRENCY": "8", "EXCELFMT_RATE": "6"}
    s = load({"concurrency": 12}, env=env, toml=toml, tmp_path=tmp_path)
    assert (s.url, s.concurrency, s.rate, s.timeout) == ("http://file", 12, 6.0, 9.0)


def test_explicit_config_file_and_paths_relative_to_it(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "ca.pem").write_text("x")
    (folder / "my.toml").write_text(
        'url = "http://a"\noutput = "out.jsonl"\nca_bundle = "ca.pem"\n'
    )
    s = load_settings({}, config_file=folder / "my.toml", env={}, cwd=tmp_path)
    assert s.output == folder / "out.jsonl" and s.ca_bundle == folder / "ca.pem"


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        ({}, {}, "No API URL"),
        ({"url": "localhost:8080"}, {}, r"^--url must start with http:// or https:// \(sch"),
        ({"url": "http://a", "concurrency": "many"}, {}, "^--concurrency expected a whole number"),
        ({"url": "http://a"}, {"EXCELFMT_TIMEOUT": "0"}, "^EXCELFMT_TIMEOUT must be more"),
        ({"url": "http://a", "rate": -1}, {}, "must be at least 0"),
        ({"url": "http://a", "api_key_header": "X-Key"}, {}, "go together"),
        ({"url": "http://a", "ca_bundle": "/nope.pem"}, {}, "does not exist"),
        ({"url": "http://a", "method": "GET POST"}, {}, "is not an HTTP method"),
        (
            {"url": "http://a", "proxy": "socks5://p:1"},
            {},
            r"^--proxy must start with http:// or https:// \(scheme is 'socks5'\)\.$",
        ),
        ({"url": "http://a", "capture": ("",)}, {}, "an entry is empty"),
    ],
)
def test_wrong_settings_are_one_sentence(tmp_path, flags, env, message):
    with pytest.raises(UsageError, match=message) as caught:
        load(flags, env=env, tmp_path=tmp_path)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_broken_toml_names_the_file(tmp_path):
    with pytest.raises(UsageError, match=r"excelfmt.toml is not valid TOML"):
        load(toml="url = [", tmp_path=tmp_path)


def test_lists_from_toml_env_and_flags(tmp_path):
    toml = """url = "http://a"
[header]
X-One = "1"
[status_rule]
409 = "ok"
404 = "requires_user_action"
"""
    s = load(
        {"capture": ("id",)}, env={"EXCELFMT_HEADER": '["X-Two: 2"]'}, toml=toml, tmp_path=tmp_path
    )
    assert s.header == ("X-Two: 2",)
    assert s.status_rules == {404: "REQUIRES_USER_ACTION", 409: "ok"}
    assert s.capture == ("id",)
    s = load({"url": "http://a"}, env={"EXCELFMT_STATUS_RULE": "409=ok, 410=ok"}, tmp_path=tmp_path)
    assert s.status_rules == {409: "ok", 410: "ok"}


def test_body_from_flag_is_json_and_from_toml_is_a_table(tmp_path):
    s = load({"url": "http://a", "body": '{"a": "{Amount}"}'}, tmp_path=tmp_path)
    assert s.body == {"a": "{Amount}"}
    s = load(toml='url = "http://a"\n[body]\nx = ["{A}", 1]\n', tmp_path=tmp_path)
    assert s.body == {"x": ["{A}", 1]}


def test_credentials_are_resolved_and_masked_everywhere_shown(tmp_path):
    env = {"TOKEN": "tok-123456", "KEY": "key-abcdef"}
    s = load(
        {
            "url": "http://a",
            "auth_env": "TOKEN",
            "api_key_header": "X-Key",
            "api_key_env": "KEY",
            "header": ("Cookie: session=zzz999",),
        },
        env=env,
        tmp_path=tmp_path,
    )
    assert s.credentials == (("Authorization", "Bearer tok-123456"), ("X-Key", "key-abcdef"))
    shown = repr(s) + repr(s.describe())
    for secret in ("tok-123456", "key-abcdef", "zzz999"):
        assert secret not in shown
    redact = s.redactor()
    assert redact("echo tok-123456 and key-abcdef") == "echo *** and ***"


def test_proxy_from_environment_honours_no_proxy(tmp_path):
    env = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "internal.example"}
    assert (
        load({"url": "https://api.example.com"}, env=env, tmp_path=tmp_path).proxy
        == "http://proxy:3128"
    )
    assert load({"url": "https://internal.example/x"}, env=env, tmp_path=tmp_path).proxy is None
    assert load({"url": "http://api.example.com"}, env=env, tmp_path=tmp_path).proxy is None


def test_proxy_password_is_masked(tmp_path):
    s = load({"url": "http://a", "proxy": "http://me:pr0xy-pass@proxy:3128"}, tmp_path=tmp_path)
    assert "pr0xy-pass" not in repr(s)


def test_every_duration_setting_takes_units_as_the_others_do():
    # --lock-duration took only a bare number, though its help showed "30s" (issue 25).
    durations = [option for option in OPTIONS if option.kind == "duration"]
    assert "lock_duration" in {option.name for option in durations}
    for option in durations:
        assert option.convert("90s") == option.convert("1.5m") == 90.0, option.name
        assert option.convert("2m") == 120.0, option.name


def test_a_profile_table_goes_over_the_files_top_level_settings(tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text(
        'concurrency = 4\nurl = "https://default.example/x"\n\n'
        '[profile.orders]\nurl = "https://orders.example/{Id}"\nmethod = "PUT"\n\n'
        '[profile.refunds]\nurl = "https://refunds.example/r"\n'
    )
    chosen = load_settings({"profile": "orders"}, config_file=config, env={})
    assert (chosen.url, chosen.method, chosen.concurrency) == (
        "https://orders.example/{Id}",
        "PUT",
        4,
    )
    assert chosen.profile == "orders"
    plain = load_settings({}, config_file=config, env={})
    assert plain.url == "https://default.example/x"  # no profile: the top level alone
    with pytest.raises(UsageError, match=r"has no \[profile.nope\] \(it has: orders, refunds\)"):
        load_settings({"profile": "nope"}, config_file=config, env={})


def test_a_profile_with_a_misspelt_setting_is_refused_with_its_name(tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text('[profile.orders]\nurl = "https://o.example/"\nconcurency = 3\n')
    with pytest.raises(UsageError, match=r"\[profile.orders\] unknown setting 'concurency'"):
        load_settings({"profile": "orders"}, config_file=config, env={})
