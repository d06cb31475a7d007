"""Tests that protect the shape of the code and the truth of the docs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import excelfmt
from excelfmt.options import OPTIONS

from .conftest import ROOT

PACKAGE = ROOT / "src" / "excelfmt"

# The one-way data flow: a module imports only from layers below its own.
LAYERS: dict[str, float] = {
    # plain data
    "_version": 0, "models": 0, "errors": 0, "redaction": 0, "wire": 0.5,
    # settings
    "converters": 1, "options": 1.5, "config": 2, "reference": 2,
    # stages and policies
    "sniff": 3, "template": 3, "classify": 3, "responses": 3, "ratelimit": 3, "metrics": 3,
    "reorder": 3, "sheetxml": 3, "client": 3, "pool": 3, "authguard": 3, "throttling": 3, "gate": 3,
    "breaker": 3, "adaptive": 3, "retry": 3, "store": 3, "runlog": 3, "responsecache": 3,
    "reader": 4, "jobs": 4, "summary": 4, "resilience": 4, "rowerrors": 4,
    "dispatch": 5, "writer": 5, "sessions": 5, "fixbook": 5,
    "sheet_process": 6, "events": 6, "export": 6,
    # wiring, people, command line
    "api": 7, "reprocess": 7,
    "ui": 8, "ui_records": 8,
    "cli": 9,
}  # fmt: skip


def local_imports(path: Path) -> set[str]:
    """The excelfmt modules `path` imports, by their top-level name (cli for the CLI)."""
    package = ["excelfmt", *path.relative_to(PACKAGE).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - node.level + 1]
            targets = (
                [[*base, *node.module.split(".")]]
                if node.module
                else [[*base, alias.name] for alias in node.names]
            )
        elif (node.module or "").startswith("excelfmt."):
            targets = [node.module.split(".")]  # type: ignore[union-attr]
        else:
            continue
        found.update(target[1] for target in targets if len(target) > 1)
    return found


def module_name(path: Path) -> str:
    return "cli" if path.parent.name == "cli" else path.stem


def test_data_flows_one_way():
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if path.name in ("__init__.py", "__main__.py") and name != "cli":
            continue
        assert name in LAYERS, f"{name} needs a layer in this test"
        for imported in local_imports(path) - {name}:
            assert LAYERS[imported] < LAYERS[name], f"{name} must not import {imported}"


def test_nothing_imports_the_cli():
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name != "cli" and path.name != "__main__.py":
            assert "cli" not in local_imports(path), path


def test_only_ui_and_cli_import_rich_and_only_cli_imports_typer():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if re.search(r"^\s*(from|import) typer", text, re.M):
            assert path.parent.name == "cli", path
        if re.search(r"^\s*(from|import) rich", text, re.M):
            assert path.parent.name == "cli" or path.name.startswith("ui"), path


def test_only_config_reads_the_environment():
    for path in PACKAGE.rglob("*.py"):
        if "os.environ" in path.read_text() or "getenv" in path.read_text():
            assert path.name == "config.py", path


def packages_loaded_by(module: str, packages: tuple[str, ...]) -> list[str]:
    """Which of `packages` a fresh interpreter has loaded after importing `module`."""
    code = (
        f"import sys, {module}; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({packages!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(out.stdout.strip()))


def test_import_excelfmt_loads_neither_typer_nor_rich():
    assert packages_loaded_by("excelfmt", ("typer", "rich", "click")) == []


def test_the_command_line_loads_no_workbook_library():
    # The sending process never opens a workbook; the workbook process imports what it
    # needs. openpyxl loaded by the CLI cost the sending process 10 MiB of its memory.
    assert packages_loaded_by("excelfmt.cli", ("openpyxl", "xlsxwriter")) == []


def test_public_api_is_exactly_all():
    public = {name for name in dir(excelfmt) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(excelfmt, name)).__name__ == "module"}
    assert set(excelfmt.__all__) - {"__version__"} == public - modules
    for name in excelfmt.__all__:
        assert hasattr(excelfmt, name)


def test_modules_stay_small():
    for path in PACKAGE.rglob("*.py"):
        assert len(path.read_text().splitlines()) < 400, f"{path.name} wants splitting"


def test_readme_quick_start_is_the_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\s*(make \w+)\s*$", section, re.M)
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "lint", "bench"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_configuration_reference_is_current():
    from excelfmt.reference import configuration_reference

    assert (ROOT / "docs" / "configuration.md").read_text() == configuration_reference(), (
        "run: make docs"
    )


def test_every_setting_has_a_flag_an_env_name_and_help():
    for option in OPTIONS:
        assert option.flag == "--" + option.name.replace("_", "-")
        assert option.env == "EXCELFMT_" + option.name.upper()
        assert option.help.endswith((".", ")"))


def test_the_example_config_in_the_reference_is_valid(tmp_path):
    from excelfmt.config import load_settings

    text = (ROOT / "docs" / "configuration.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "excelfmt.toml").write_text(example)
    settings = load_settings({}, env={"ORDERS_API_TOKEN": "t0ken-value"}, cwd=tmp_path)
    assert settings.method == "PUT" and settings.status_rules == {409: "ok"}
