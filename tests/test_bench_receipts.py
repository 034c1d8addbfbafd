"""Smoke run of benchmarks/receipts.py --quick: it measures both endpoints and prints its table
(no speed is asserted: the figures depend on the machine and its load)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT


@pytest.mark.slow
def test_quick_mode_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "receipts.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: the goal missed, which may happen here
    out = done.stdout
    assert "| endpoint " in out
    assert "| receipts/s |" in out
    assert "bare aiohttp endpoint |" in out
    assert "batch-sms receipts serve |" in out
    serve = next(line for line in out.splitlines() if "batch-sms receipts serve |" in line)
    assert serve.split("|")[-2].strip() == "500"  # every receipt stored
    assert "ratio receipts serve / bare:" in out
    assert "- command: " in out
