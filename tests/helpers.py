"""What several test modules share: fakes, builders, data paths, and the CLI and report helpers.

Fixtures live in conftest.py; everything else that more than one test module uses lives here.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from openpyxl import load_workbook

from batch_sms.cli import cli
from batch_sms.sandbox.server import SandboxHandle

DATA = Path(__file__).resolve().parent / "data"


class FakeClock:
    """A clock that only moves when told (or when its fake sleep is awaited).

    Starts at the real time unless given a start, so signed `ts` values stay plausible.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# Valid numbers per phonenumbers, one per country, to build campaigns from.
NUMBERS = {
    "CN": "8613800138000",
    "US": "12015550123",
    "GB": "447400123456",
    "MY": "60123456789",
    "SG": "6581234567",
    "DE": "4915123456789",
}


def cn_numbers(count: int, start: int = 0) -> list[str]:
    """Distinct valid Chinese mobile numbers."""
    return [f"86138{start + i:08d}" for i in range(count)]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    """A UTF-8 campaign file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def env_for(handle: SandboxHandle) -> dict[str, str]:
    """The environment a CLI run needs to talk to this sandbox."""
    creds = handle.credentials
    return {
        "NXCLOUD_ACCESS_KEY": creds.access_key,
        "NXCLOUD_ACCESS_SECRET": creds.access_secret,
        "NXCLOUD_APP_KEY": creds.app_key,
    }


def run_cli(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """Invoke the CLI in-process (no terminal: stdin is not a tty)."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), env=env, catch_exceptions=False)


def last_json(result: Result) -> dict[str, Any]:
    """The `--json` object: the last line of stdout."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def read_results(report: Path) -> list[dict[str, Any]]:
    """The Results sheet as dicts by header."""
    book = load_workbook(report, read_only=True)
    sheet = book["Results"]
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


def accepted_counts(handle: SandboxHandle) -> Counter[tuple[str, str]]:
    """How often the sandbox accepted each (phone, content)."""
    return Counter((a.phone, a.content) for a in handle.sandbox.accepted)
