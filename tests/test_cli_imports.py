"""`batch-sms --help` and `batch-sms COMMAND --help` load none of the heavy libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"aiohttp", "openpyxl", "pandas", "python_calamine", "jinja2", "phonenumbers"}
COMMANDS = [[], ["validate"], ["send"], ["resume"], ["retry"], ["report"], ["runs"],
            ["receipts"], ["receipts", "serve"], ["sandbox"]]  # fmt: skip


def python_m(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """`python -X importtime -m batch_sms ARGS` in a fresh process; it must exit with `code`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "batch_sms", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == code, result.stderr
    return result


def imported(args: list[str]) -> set[str]:
    """The top-level packages `python -X importtime -m batch_sms ARGS` imports."""
    result = python_m(*args)
    assert result.stdout.startswith("Usage: python -m batch_sms")
    names = imported_names(result.stderr)
    assert {"batch_sms", "click"} <= names  # the lines were read
    return names


def imported_names(importtime: str) -> set[str]:
    """The top-level package names in `-X importtime` output."""
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in importtime.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "batch-sms")
def test_help_imports_no_heavy_library(command: list[str]) -> None:
    assert imported([*command, "--help"]) & HEAVY == set()


def test_a_command_still_imports_what_it_uses(tmp_path: Path) -> None:
    """The lazy imports happen when a command runs: the HTTP stack only when it sends."""
    state, out = str(tmp_path / "x.db"), str(tmp_path / "out")
    listed = python_m("runs", "--json", "--state", state)
    assert '"runs": []' in listed.stdout
    assert "aiohttp" not in imported_names(listed.stderr)
    # The sample has rows to fix on purpose: exit code 1.
    checked = python_m("validate", "samples/campaign.csv", "-q", "--json", "--out", out, code=1)
    assert '"status": "not-ready"' in checked.stdout
    assert {"phonenumbers", "openpyxl"} <= imported_names(checked.stderr)
    assert "aiohttp" not in imported_names(checked.stderr)
    sent = python_m("send", "samples/campaign.csv", "--sandbox", "--yes", "-q", "--json",
                    "--state", state, "--out", out)  # fmt: skip
    assert '"status": "finished"' in sent.stdout
    assert "aiohttp" in imported_names(sent.stderr)


def test_the_version_is_looked_up_only_when_asked() -> None:
    """importlib.metadata costs 40 ms of every command's start; only --version needs it."""
    started = python_m("--help").stderr
    assert "importlib.metadata" not in {
        line.rsplit("|", 1)[1].strip() for line in started.splitlines() if line.count("|") == 2
    }
    from batch_sms import __version__

    assert python_m("--version").stdout == f"batch-sms, version {__version__}\n"
