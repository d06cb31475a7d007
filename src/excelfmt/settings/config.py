"""Settings: one frozen value, merged and validated once at the edge.

Precedence, lowest first: defaults < excelfmt.toml < EXCELFMT_* environment < flags.
The environment (settings and the secrets they name) comes from environment.py, the only
module that reads it; everything downstream gets a `Settings`.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import UsageError
from ..models import JSONValue
from ..redaction import MASK
from .bulking import check_batching, chosen_style, styles_in
from .credentials import read_credentials
from .environment import store_folder, variables
from .options import OPTIONS, OPTIONS_BY_NAME, Option, parse_header
from .value import Settings

__all__ = ["Settings", "load_settings", "recorded_settings"]

CONFIG_FILE_NAME = "excelfmt.toml"


def _convert(option: Option, value: object, source: str) -> object:
    """The setting's value; a UsageError naming where it came from if it is wrong.

    `source` is the flag or the environment variable (then it names the setting itself:
    "--url must start with ..."), or a file or record holding it ("excelfmt.toml: url ...").
    """
    try:
        return option.convert(value)
    except ValueError as exc:
        subject = source if source in (option.flag, option.env) else f"{source}: {option.name}"
        raise UsageError(f"{subject} {exc}.") from None


def _load_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"Config file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Config file {path} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise UsageError(f"Config file {path} cannot be read: {exc.strerror}.") from None


def _read_config_file(
    path: Path, profile: str | None = None
) -> tuple[dict[str, object], dict[str, dict[str, JSONValue]]]:
    """The file's top-level settings, with those of its [profile.NAME] table over them;
    and the bulk styles its [bulk.NAME] tables define."""
    data = _load_toml(path)
    styles = styles_in(path, data)
    if profile is None:
        return _top_level(path, data), styles
    profiles = _profiles(path, data)
    if profile not in profiles:
        offered = ", ".join(sorted(profiles)) or "none"
        raise UsageError(f"Config file {path} has no [profile.{profile}] (it has: {offered}).")
    return profiles[profile], styles


def read_profiles(path: Path) -> dict[str, dict[str, object]]:
    """Each [profile.NAME] of a config file: its settings over the file's top-level ones."""
    data = _load_toml(path)
    styles_in(path, data)
    return _profiles(path, data)


def _profiles(path: Path, data: dict[str, object]) -> dict[str, dict[str, object]]:
    tables = data.pop("profile", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise UsageError(
            f"Config file {path}: profile must hold tables, as [profile.orders] url = ..."
        )
    top = _top_level(path, data)
    for name, table in tables.items():
        _known_settings(path, table, f"[profile.{name}] ")
    return {name: {**top, **table} for name, table in tables.items()}


def _top_level(path: Path, data: dict[str, object]) -> dict[str, object]:
    top = {key: value for key, value in data.items() if key != "profile"}
    _known_settings(path, top)
    return top


def _known_settings(path: Path, data: Mapping[str, object], where: str = "") -> None:
    for key in data:
        if key not in OPTIONS_BY_NAME or key == "profile":
            guess = difflib.get_close_matches(key, OPTIONS_BY_NAME, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise UsageError(f"Config file {path}: {where}unknown setting '{key}'{hint}.")


def _relative_to(value: object, base: Path) -> object:
    """Paths in a config file are relative to the file, not to where excelfmt runs."""
    if isinstance(value, Path) and not value.is_absolute():
        return base / value
    return value


def _environment_proxy(env: Mapping[str, str], url: str) -> str | None:
    """The proxy the standard variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) give for `url`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    proxy = (
        env.get(f"{scheme}_proxy")
        or env.get(f"{scheme.upper()}_PROXY")
        or env.get("all_proxy")
        or env.get("ALL_PROXY")
    )
    if not proxy:
        return None
    host = parts.hostname or ""
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    # A host that is itself a {placeholder} cannot be matched against NO_PROXY.
    if "{" not in host and no_proxy and _proxy_bypass(host, no_proxy):
        return None
    try:
        return OPTIONS_BY_NAME["proxy"].convert(proxy)  # type: ignore[return-value]
    except ValueError as exc:
        raise UsageError(f"The proxy in the environment (HTTPS_PROXY, HTTP_PROXY) {exc}.") from None


def _proxy_bypass(host: str, no_proxy: str) -> bool:
    """The stdlib's NO_PROXY matcher, imported only when a proxy is set (urllib.request
    takes a tenth of `excelfmt status`'s start). typeshed does not list it."""
    from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

    return bool(proxy_bypass_environment(host, {"no": no_proxy}))


def default_output(input_path: Path) -> Path:
    """Where a run writes its results unless told: beside the input."""
    return input_path.with_name(f"{input_path.stem}.results.xlsx")


def load_settings(
    flags: Mapping[str, object] | None = None,
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    recorded: Mapping[str, JSONValue] | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and flags into valid Settings.

    `flags` maps setting names to values; None means "not given". Without
    `config_file`, ./excelfmt.toml is used when it exists. `recorded`: the settings a
    session recorded (a resume), which then stand in for the defaults; headers given
    now replace recorded ones of the same name, and secrets come from the environment
    variables the settings name, as the first time.
    """
    env = variables() if env is None else env
    base = _defaults() if recorded is None else _recorded_values(recorded)
    values = merged_values(flags, config_file=config_file, env=env, cwd=cwd, base=base)
    if recorded is not None:
        if MASK in str(values["queue"] or ""):
            raise UsageError(
                "The session's queue URL held a password, which is not stored; give --queue "
                "again (or set EXCELFMT_QUEUE)."
            )
        given = values["header"] if values["header"] != base["header"] else ()
        _unmask(values, base, given, env)  # type: ignore[arg-type]
    return _settled(values, env)


def merged_values(
    flags: Mapping[str, object] | None = None,
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    base: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Each setting's value, converted, from `base` (the defaults) < the config file <
    the environment < flags; not yet checked as a whole, secrets not read."""
    env = variables() if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    values = dict(_defaults() if base is None else base)
    path = config_file or (cwd / CONFIG_FILE_NAME)
    profile = _chosen_profile(flags or {}, env)
    if profile is not None and config_file is None and not path.is_file():
        raise UsageError(
            f"--profile {profile} needs a config file with a [profile.{profile}] table "
            "(--config FILE, or ./excelfmt.toml)."
        )
    styles: dict[str, dict[str, JSONValue]] = {}
    read = config_file is not None or path.is_file()
    if read:
        table, styles = _read_config_file(path, profile)
        for key, raw in table.items():
            option = OPTIONS_BY_NAME[key]
            values[key] = _relative_to(_convert(option, raw, f"{path}"), path.parent)
    for option in OPTIONS:
        if option.env in env:
            values[option.name] = _convert(option, env[option.env], option.env)
    for name, raw in (flags or {}).items():
        if raw is not None and raw != ():
            option = OPTIONS_BY_NAME[name]
            values[name] = _convert(option, raw, option.flag)
    chosen_style(values, styles, path if read else None)
    return values


def _chosen_profile(flags: Mapping[str, object], env: Mapping[str, str]) -> str | None:
    given = flags.get("profile") or env.get(OPTIONS_BY_NAME["profile"].env)
    return str(given) if given else None


def recorded_settings(
    recorded: Mapping[str, JSONValue],
    *,
    headers: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The settings a session recorded, to send its rows again as it sent them.

    Secrets were masked when recorded: credentials named by auth_env, basic_auth_env and
    api_key_env are read from the environment again; a header whose value was masked must
    be given again in `headers` ("Name: value"), which replace recorded headers of the
    same name.
    """
    env = variables() if env is None else env
    values = _recorded_values(recorded)
    _unmask(values, values, headers, env)
    return _settled(values, env)


def changed_settings(settings: Settings, recorded: Mapping[str, JSONValue]) -> list[str]:
    """The settings that differ from a session's, as "name now (was before)", masked."""
    now = settings.describe()
    return [
        f"{name} {_short(now.get(name))} (was {_short(recorded.get(name))})"
        for name in OPTIONS_BY_NAME
        if name != "store" and now.get(name) != recorded.get(name)
    ]


def _short(value: JSONValue) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _defaults() -> dict[str, object]:
    return {option.name: option.default for option in OPTIONS}


def _recorded_values(recorded: Mapping[str, JSONValue]) -> dict[str, object]:
    values = _defaults()
    for option in OPTIONS:
        raw = recorded.get(option.name)
        if option.name in ("body", "bulk_action"):
            values[option.name] = raw  # recorded as the JSON value itself, not as JSON text
        elif raw is not None and raw != []:
            values[option.name] = _convert(option, raw, "the session's settings")
    return values


def _unmask(
    values: dict[str, object],
    recorded: Mapping[str, object],
    headers: tuple[str, ...],
    env: Mapping[str, str],
) -> None:
    """Put back what a session could not record: headers given again replace recorded
    ones of the same name; a secret that is not given again is a UsageError."""
    if MASK in str(values["url"]):
        raise UsageError(
            "The session's URL held a secret, which is not stored; it cannot be sent again."
        )
    given = {parse_header(h)[0].lower() for h in headers}
    kept = [h for h in recorded["header"] if parse_header(h)[0].lower() not in given]  # type: ignore[attr-defined]
    for item in kept:
        name, value = parse_header(item)
        if MASK in value:
            raise UsageError(
                f"The session sent header {name} with a secret value, which is not stored; "
                f"give it again with --header '{name}: ...' (or use --auth-env next time)."
            )
    values["header"] = (*kept, *headers)
    if MASK in str(values["queue"] or ""):
        values["queue"] = None  # a reprocess sends without the shared pace
    if MASK in str(values["notify_url"] or ""):
        values["notify_url"] = None  # not stored: a resume notifies when it is given again
    if MASK in str(values["proxy"] or ""):
        values["proxy"] = None  # the environment's proxy, if it has one, as the first time
        if not _environment_proxy(env, str(values["url"])):
            raise UsageError(
                "The session's proxy had a password, which is not stored; give the proxy "
                "again in HTTPS_PROXY."
            )


def _settled(values: dict[str, object], env: Mapping[str, str]) -> Settings:
    """Check what only the whole can show, and read the secrets the settings name."""
    if int(values["min_concurrency"]) > int(values["concurrency"]):  # type: ignore[call-overload]
        raise UsageError(
            f"min_concurrency ({values['min_concurrency']}) is more than concurrency "
            f"({values['concurrency']}); the adaptive limit needs min <= max."
        )
    check_batching(values)
    if not values["url"]:
        raise UsageError("No API URL: give --url, set EXCELFMT_URL, or put url in excelfmt.toml.")
    found = read_credentials(values, env)
    credentials, secrets = found.headers, found.secrets
    values["store"] = store_folder(values["store"], env)  # type: ignore[arg-type]
    if not values["proxy"]:
        values["proxy"] = _environment_proxy(env, str(values["url"]))
    proxy_password = urlsplit(str(values["proxy"] or "")).password
    if proxy_password:
        secrets.append(proxy_password)
    if values["notify_url"]:
        secrets.append(str(values["notify_url"]))  # a webhook's URL is its password
    queue_password = urlsplit(str(values["queue"] or "")).password
    if queue_password:
        secrets.append(queue_password)
    ca_bundle = values["ca_bundle"]
    if isinstance(ca_bundle, Path) and not ca_bundle.is_file():
        raise UsageError(f"ca_bundle: the file {ca_bundle} does not exist.")
    return Settings(
        **values,  # type: ignore[arg-type] # each value was checked by its option's converter
        credentials=tuple(credentials),
        secrets=tuple(secrets),
        oauth2=found.oauth2,
    )
