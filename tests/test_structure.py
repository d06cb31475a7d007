"""Tests that protect the shape of the code and the truth of the docs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import excelfmt
from excelfmt.settings.options import OPTIONS

from .conftest import ROOT

PACKAGE = ROOT / "src" / "excelfmt"

# The one-way data flow, package by package: a package imports only from packages of a
# lower rank (docs/architecture.md draws it). "excelfmt" is the plain data beside them.
RANKS: dict[str, int] = {
    "excelfmt": 0,
    "settings": 1, "metrics": 1,
    "calls": 2, "policies": 2,
    "store": 3,
    "sheets": 4, "broker": 4,
    "sending": 5,
    "scaleout": 6,
    "engine": 7,
    "ui": 8,
    "serve": 9,
    "cli": 10,
}  # fmt: skip
PLAIN_DATA = {"_version", "models", "errors", "redaction", "jsontext"}
"""The modules beside the packages, besides __init__ and __main__."""


def python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    """excelfmt.store.journal for src/excelfmt/store/journal.py; a package for __init__.py."""
    parts = ["excelfmt", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative).is_dir()


def local_imports(path: Path, *, at_run_time: bool = False) -> set[str]:
    """The excelfmt modules `path` imports, by dotted name; with `at_run_time`, only those
    it imports when it runs (at the top or inside a function, not for type checking)."""
    tree = ast.parse(path.read_text())
    here = dotted(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or (at_run_time and id(node) in typing_only):
            continue
        if node.level:
            base = ".".join(
                [*here[: len(here) - node.level + 1], *([node.module] if node.module else [])]
            )
        elif (node.module or "").startswith("excelfmt"):
            base = node.module or ""
        else:
            continue
        for alias in node.names:
            found.add(f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base)
    return found


def package_of(module: str) -> str:
    """The subpackage a dotted module belongs to, or "excelfmt" for the plain data."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else "excelfmt"


def test_the_top_level_holds_the_plain_data_and_the_packages():
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert modules == PLAIN_DATA
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == set(RANKS) - {"excelfmt"}


def test_each_package_says_what_it_holds_and_nothing_more():
    for init in PACKAGE.glob("*/__init__.py"):
        body = ast.parse(init.read_text()).body
        assert ast.get_docstring(ast.Module(body=body, type_ignores=[])), init
        if init.parent.name != "cli":  # the CLI's __init__ assembles the app on purpose
            assert len(body) == 1, f"{init} should hold only its docstring"


def test_data_flows_one_way():
    for path in python_files():
        if path.parent == PACKAGE and path.name in ("__init__.py", "__main__.py"):
            continue  # the public face and the entry point sit above everything
        mine = package_of(dotted(path))
        for imported in local_imports(path):
            theirs = package_of(imported)
            assert theirs == mine or RANKS[theirs] < RANKS[mine], (
                f"{dotted(path)} must not import {imported}"
            )


def test_no_import_cycles():
    # A module imported inside a function is still a dependency: a cycle through one is
    # a cycle, within a package as between packages.
    graph = {dotted(path): local_imports(path, at_run_time=True) for path in python_files()}

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, "import cycle: " + " -> ".join((*trail, module))
        for imported in graph.get(module, ()):
            if imported != module and imported not in done:
                visit(imported, (*trail, module))
        done.add(module)

    done: set[str] = set()
    for module in graph:
        visit(module, ())


def test_nothing_imports_the_cli():
    for path in python_files():
        if package_of(dotted(path)) != "cli" and path.name != "__main__.py":
            assert not any(package_of(m) == "cli" for m in local_imports(path)), path


def test_only_ui_and_cli_import_rich_and_only_cli_imports_typer():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if re.search(r"^\s*(from|import) typer", text, re.M):
            assert path.parent.name == "cli", path
        if re.search(r"^\s*(from|import) rich", text, re.M):
            assert path.parent.name in ("cli", "ui"), path


def test_only_one_module_reads_the_environment():
    for path in PACKAGE.rglob("*.py"):
        if "os.environ" in path.read_text() or "getenv" in path.read_text():
            assert path.relative_to(PACKAGE).as_posix() == "settings/environment.py", path


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


def test_workbooks_are_read_by_openpyxl_and_written_by_xlsxwriters_public_api():
    # .xlsx is read by openpyxl (sheets/xlsxbook.py, xlsxrows.py), an installed
    # dependency; no module of excelfmt parses a sheet's XML itself.
    pyproject = (ROOT / "pyproject.toml").read_text()
    installed = pyproject.split("[project.optional-dependencies]")[0]
    dependencies = installed.split("dependencies = [", 1)[1].split("]", 1)[0]
    # Not defusedxml: openpyxl then parses through its pure-Python parser, three times
    # slower; expat since 2.4 refuses entity bombs itself (test_reader), ElementTree
    # fetches no external entity.
    assert '"openpyxl' in dependencies and '"defusedxml' not in dependencies
    readers = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if re.search(r"^\s*(from|import) openpyxl", text, re.M):
            readers.add(path.name)
        assert not re.search(r"xml\.parsers\.expat|ParserCreate|<row\b", text), path
        # XlsxWriter's underscored names are its internals: they change without notice.
        assert not re.search(r"from xlsxwriter\S* import .*\b_", text), path
        assert not re.search(r"\._(get_xf_index|datetime_to_excel)", text), path
    assert readers == {"xlsxbook.py", "xlsxrows.py"}


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
    from excelfmt.settings.reference import configuration_reference

    assert (ROOT / "docs" / "configuration.md").read_text() == configuration_reference(), (
        "run: make docs"
    )


def test_every_setting_has_a_flag_an_env_name_and_help():
    for option in OPTIONS:
        assert option.flag == "--" + option.name.replace("_", "-")
        assert option.env == "EXCELFMT_" + option.name.upper()
        assert option.help.endswith((".", ")"))


def test_the_example_config_in_the_reference_is_valid(tmp_path):
    from excelfmt.settings.config import load_settings

    text = (ROOT / "docs" / "configuration.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "excelfmt.toml").write_text(example)
    settings = load_settings({}, env={"ORDERS_API_TOKEN": "t0ken-value"}, cwd=tmp_path)
    assert settings.method == "PUT" and settings.status_rules == {409: "ok"}
