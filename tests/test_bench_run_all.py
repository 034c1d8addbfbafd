"""Smoke run of benchmarks/run_all.py --quick: every benchmark runs and the one table is printed
(no speed is asserted: the figures depend on the machine and its load)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT


@pytest.mark.slow
def test_quick_mode_prints_one_table_of_every_benchmark(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick"],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # every file it writes goes here
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = [cell.strip() for cell in lines[0].split("|")[1:-1]]
    assert header == ["benchmark", "measured", "figure", "ratio", "goal"]
    rows = [line for line in lines[2:] if line.startswith("| ")]
    measured = [row.split("|")[2].strip() for row in rows]
    assert "bare aiohttp loop, first to last request at the server" in measured
    assert "batch-sms send, first to last request at the server" in measured
    assert "batch-sms send, whole command" in measured
    assert sum(m.startswith("achieved/limit") for m in measured) == 3  # --tps 100, 300, 1000
    assert "batch-sms validate, report included (whole command)" in measured
    assert "peak RSS of batch-sms send (wait4)" in measured
    assert any(m.startswith("stages, timed from outside") for m in measured)
    assert "- load average: " in done.stdout
    assert "benchmarks/run_all.py --quick\n" in done.stdout  # the command line, as run
