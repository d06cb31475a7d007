"""Every setting's name, default, converter and help, in one table.

The table drives the config file, the `EXCELFMT_*` environment variables and the generated
reference in docs/configuration.md; the CLI declares one flag per entry (a test checks).
One name per setting: `header_row` is `header_row = 2` in excelfmt.toml,
`EXCELFMT_HEADER_ROW=2` in the environment and `--header-row 2` on the command line.
Converters take what TOML, the environment (always text) or a flag gives, and raise
ValueError with the reason a person should read.
"""

from __future__ import annotations

from .bulking import BULK_OPTIONS
from .converters import (
    SUCCESS,
    as_body,
    as_choice,
    as_column_types,
    as_delimiter,
    as_duration,
    as_encoding,
    as_env_name,
    as_flag,
    as_header_name,
    as_headers,
    as_method,
    as_names,
    as_optional_text,
    as_output,
    as_path,
    as_proxy,
    as_status_rules,
    as_url,
    as_whole,
    parse_header,
    parse_status_rule,
)
from .option import Option
from .politeness import POLITENESS_OPTIONS
from .scaleout import SCALEOUT_OPTIONS

__all__ = ["OPTIONS", "OPTIONS_BY_NAME", "SUCCESS", "Option", "parse_header", "parse_status_rule"]


OPTIONS: tuple[Option, ...] = (
    Option(
        "url",
        as_url,
        None,
        "API URL; {Column} placeholders are filled per row, URL-encoded, each one path "
        "segment whatever it holds (a cell of . or .. in the path refuses its row).",
        "URL",
    ),
    Option("method", as_method, "POST", "HTTP method (may be a {Column} template).", "text"),
    Option(
        "header",
        as_headers,
        (),
        "Request header 'Name: value' ({Column} placeholders work); repeat the flag for more.",
        "list",
    ),
    Option(
        "body",
        as_body,
        None,
        'Body template as JSON: "{Col}" alone keeps the cell\'s type, '
        "{Col} inside text is interpolated, {_row} is the sheet row. Default: the row as a "
        "JSON object (no body for GET, HEAD, DELETE, OPTIONS).",
        "JSON",
    ),
    Option(
        "sheet", as_optional_text, None, "Sheet to read (default: the first visible sheet).", "text"
    ),
    Option("header_row", as_whole(1, 1_048_576), 1, "Row that holds the column names.", "number"),
    Option(
        "delimiter",
        as_delimiter,
        None,
        "CSV/TSV: the character between fields, e.g. ';' or tab (default: sniffed from "
        "the file among , ; tab |).",
        "text",
    ),
    Option(
        "encoding",
        as_encoding,
        None,
        "CSV/TSV: the file's text encoding, e.g. cp1252 (default: from its byte order "
        "mark, else UTF-8 if it reads as UTF-8, else cp1252).",
        "text",
    ),
    Option(
        "type",
        as_column_types,
        (),
        "What a column's cells are, COLUMN=TYPE with TYPE text, integer, number, decimal, "
        "boolean, date or datetime (e.g. Zip=text sends 01010 as Excel shows it); a cell "
        "that does not convert keeps its row from being sent; repeatable.",
        "list",
    ),
    Option(
        "decimal_comma",
        as_flag,
        False,
        "Numbers written as text use a decimal comma (1.234,5), for number, integer and "
        "decimal columns of a CSV from a European system.",
        "flag",
    ),
    Option(
        "max_inflation",
        as_whole(1, 1_000_000_000),
        100,
        "The most a part of an .xlsx may inflate, as a multiple of its compressed size "
        "(parts under 4 MiB are never refused); past it the file is refused as a zip "
        "bomb. Raise it for an honest, very sparse sheet.",
        "number",
    ),
    Option("limit", as_whole(1, 100_000_000), None, "Send only the first N data rows.", "number"),
    Option(
        "output",
        as_output,
        None,
        "Results file, .xlsx or .jsonl (default: <input>.results.xlsx beside the input).",
        "path",
    ),
    Option(
        "profile",
        as_optional_text,
        None,
        "A [profile.NAME] table of the config file, whose settings go over its top-level "
        "ones (the profiles `excelfmt serve` offers).",
        "text",
    ),
    Option(
        "store",
        as_path,
        None,
        "Folder of excelfmt's store, the record of every run (default: $EXCELFMT_HOME, "
        "else the user data folder).",
        "path",
    ),
    *POLITENESS_OPTIONS,
    *BULK_OPTIONS,
    *SCALEOUT_OPTIONS,
    Option(
        "proxy",
        as_proxy,
        None,
        "HTTP proxy URL (HTTP_PROXY, HTTPS_PROXY and NO_PROXY are honoured too).",
        "URL",
    ),
    Option(
        "ca_bundle",
        as_path,
        None,
        "PEM file of CA certificates to trust (SSL_CERT_FILE works too).",
        "path",
    ),
    Option(
        "auth_env",
        as_env_name,
        None,
        "Name of an environment variable holding a token; sent as 'Authorization: Bearer <token>'.",
        "name",
    ),
    Option(
        "basic_auth_env",
        as_env_name,
        None,
        "Name of an environment variable holding user:password; sent as HTTP Basic authentication.",
        "name",
    ),
    Option(
        "oauth2_token_url",
        as_url,
        None,
        "OAuth2 client credentials: the token endpoint; each request carries the token it "
        "gives, renewed before it expires and after a 401.",
        "URL",
    ),
    Option(
        "oauth2_client_id_env",
        as_env_name,
        None,
        "Name of the environment variable holding the OAuth2 client id.",
        "name",
    ),
    Option(
        "oauth2_client_secret_env",
        as_env_name,
        None,
        "Name of the environment variable holding the OAuth2 client secret.",
        "name",
    ),
    Option("oauth2_scope", as_optional_text, None, "OAuth2 scope to ask for, if any.", "text"),
    Option(
        "oauth2_audience",
        as_optional_text,
        None,
        "OAuth2 audience to ask for (Auth0 and others want one), if any.",
        "text",
    ),
    Option(
        "api_key_header",
        as_header_name,
        None,
        "Header that carries an API key, e.g. X-API-Key; the key comes from api_key_env.",
        "name",
    ),
    Option(
        "api_key_env",
        as_env_name,
        None,
        "Name of the environment variable holding the API key for api_key_header.",
        "name",
    ),
    Option(
        "status_rule",
        as_status_rules,
        (),
        "Override how a status counts, STATUS=VERDICT, "
        "e.g. 409=ok (already exists) or 404=REQUIRES_USER_ACTION; repeatable.",
        "list",
    ),
    Option(
        "capture",
        as_names,
        (),
        "Dotted path into the JSON response to keep as a results "
        "column (e.g. id, data.status); repeatable. Default: keep the whole response.",
        "list",
    ),
    Option(
        "log_every",
        as_duration(0, allow_minimum=True),
        60.0,
        "Off a terminal (cron, a pipe), print a progress line to stderr this often; 0 for none.",
        "duration",
    ),
    Option(
        "notify_url",
        as_url,
        None,
        "When the run ends (done, rows failed, stopped or interrupted), POST its JSON summary "
        "here, e.g. a chat webhook; masked in every output, as webhook URLs are secrets.",
        "URL",
    ),
    Option(
        "notify_on",
        as_choice("always", "failure"),
        "always",
        "When to notify: always, or failure (the run did not end with every row ok).",
        "text",
    ),
)

OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
