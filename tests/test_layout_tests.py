"""Meta-test: every module of batch_sms has a test module named for it, so the rule stays kept.

batch_sms/<pkg>/<module>.py is tested in tests/test_<module>.py, or in tests/test_<pkg>_<module>.py
where two modules share a name (both must then use the long form); a top-level module
batch_sms/<module>.py in tests/test_<module>.py. A package whose __init__.py holds code of its own
(a function or class, not only imports) is tested in tests/test_<pkg>.py. End-to-end tests of
the CLI live in tests/test_cli_*.py and tests/test_crash.py besides.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest
from helpers import ROOT

PACKAGE = ROOT / "batch_sms"
TESTS = ROOT / "tests"

# Modules without a test module of their own, each with the reason.
EXEMPT: dict[str, str] = {
    "__main__.py": "two lines that call cli(); test_docs.py runs `python -m batch_sms`",
}


def has_own_code(path: Path) -> bool:
    """True if a module defines a function or class (not only imports, names and a docstring)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(node, kinds) for node in tree.body)


def modules() -> list[Path]:
    """Every module of the package that needs tests: plain modules and packages with own code."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in EXEMPT:
            continue
        if path.name == "__init__.py" and not has_own_code(path):
            continue  # a docstring and re-exports: what it names is tested where it lives
        found.append(path)
    return found


def expected_names(path: Path, clashes: set[str]) -> list[str]:
    """The names a module's test module may have."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        return [f"test_{parts[-2]}.py"] if len(parts) > 1 else ["test_api.py"]
    if len(parts) == 1:
        return [f"test_{parts[0]}.py"]
    long = f"test_{'_'.join(parts)}.py"
    return [long] if parts[-1] in clashes else [f"test_{parts[-1]}.py", long]


def shared_names() -> set[str]:
    """Module names that stand in more than one package."""
    counts = Counter(p.stem for p in PACKAGE.rglob("*.py") if p.stem != "__init__")
    return {name for name, n in counts.items() if n > 1}


CLASHES = shared_names()


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_every_module_has_a_test_module_named_for_it(path: Path) -> None:
    names = expected_names(path, CLASHES)
    present = [name for name in names if (TESTS / name).is_file()]
    assert present, f"{path.relative_to(ROOT)} has no test module; expected tests/{names[0]}"
    for name in present:
        tree = ast.parse((TESTS / name).read_text(encoding="utf-8"))
        assert any(
            isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            for node in tree.body
        ), f"tests/{name} holds no test"


def test_every_test_module_says_what_it_covers() -> None:
    for path in sorted(TESTS.glob("test_*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert docstring, f"{path.name} has no docstring saying what it covers"


def test_no_test_module_imports_from_conftest() -> None:
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "conftest", f"{path.name} imports from conftest"
            elif isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
                assert "conftest" not in names, f"{path.name} imports conftest"


def test_conftest_holds_only_fixtures() -> None:
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            decorators = [ast.unparse(d) for d in getattr(node, "decorator_list", [])]
            assert any(d.startswith("pytest.fixture") for d in decorators), (
                f"conftest.py defines {node.name}, which is not a fixture: put it in helpers.py"
            )


def test_the_exemptions_name_real_modules() -> None:
    for relative in EXEMPT:
        assert (PACKAGE / relative).is_file(), f"EXEMPT names {relative}, which is gone"
