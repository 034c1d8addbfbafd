"""What several test modules share: fakes, builders, data paths, and the CLI and report helpers.

Fixtures live in conftest.py; everything else that more than one test module uses lives here.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from click.testing import CliRunner
from click.testing import Result as CliResult
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from batch_sms.checks.preflight import Preflight, run_preflight
from batch_sms.cli import cli
from batch_sms.config import Settings
from batch_sms.dispatch import DispatchResult, DispatchSettings, dispatch
from batch_sms.input.loader import Table
from batch_sms.journal import Journal, Result, RunInfo
from batch_sms.models import Message, Status
from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import Answer, Credentials, SendRequest, classify
from batch_sms.report.results import ResultRow
from batch_sms.report.summary import SummaryInfo
from batch_sms.report.workbook import ReportFiles, write_report
from batch_sms.sandbox.server import Sandbox, SandboxConfig, SandboxHandle, serve

ROOT = Path(__file__).resolve().parent.parent  # the checkout
DATA = ROOT / "tests" / "data"


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


# --- campaign files and the CLI ----------------------------------------------------------------

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


def run_cli(args: Sequence[str], env: dict[str, str] | None = None) -> CliResult:
    """Invoke the CLI in-process (no terminal: stdin is not a tty)."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), env=env, catch_exceptions=False)


def last_json(result: CliResult) -> dict[str, Any]:
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


# --- report files ------------------------------------------------------------------------------

COLUMNS = ("phone", "name", "code")  # the input columns of the reports the report tests write


def rows_of(
    *statuses: Status, cells: tuple[str, ...] = ("+8613800000000", "王小明", "007")
) -> list[ResultRow]:
    """One result row per status, numbered from 2 like a spreadsheet."""
    return [
        ResultRow(
            number=i + 2,
            cells=cells,
            status=status,
            code="6" if status is Status.FAILED else "0",
            result="invalid number" if status is Status.FAILED else "accepted",
            messageid="" if status is Status.FAILED else f"m{i}",
            sys_message_id=f"run-{i + 2}-0",
            phone="8613800000000",
            segments=1,
            attempts=1,
            sent_at="2026-11-25 00:15:00",
            error="invalid number" if status is Status.FAILED else "",
        )
        for i, status in enumerate(statuses)
    ]


def write(
    out: Path, rows: list[ResultRow], fmt: str = "csv", max_sheet_rows: int = 100
) -> ReportFiles:
    """Write a CSV input's report of these rows to `out`."""
    info = SummaryInfo(run_id="20261125-001500-a1b2", input_name="list.csv")
    return write_report(out, COLUMNS, rows, info, fmt, max_sheet_rows=max_sheet_rows)


def sheet_values(ws: Worksheet) -> list[tuple[object, ...]]:
    """A sheet's rows as value tuples."""
    return list(ws.iter_rows(values_only=True))


def summary_pairs(path: Path) -> dict[str, object]:
    """Column A → column B of the Summary sheet."""
    ws = load_workbook(path)["Summary"]
    return {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row and row[0] is not None}


def read_csv(path: Path | None) -> list[list[str]]:
    """A written CSV file's records (the file must exist)."""
    assert path is not None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def message(row: int, index: int, status: Status, **kw: Any) -> Message:
    """A pre-flight message of a row, with plausible phone and text unless told."""
    fields: dict[str, Any] = {
        "raw_phone": f"138{row}{index}", "phone": f"86138{row}{index}", "content": "hi",
        "segments": 1, "encoding": "GSM-7", "country_code": 86,
    }  # fmt: skip
    fields.update(kw)
    return Message(row=row, index=index, status=status, **fields)


# --- input files -------------------------------------------------------------------------------


def cells(table: Table) -> list[tuple[int, tuple[str, ...]]]:
    """Return (row number, cells) pairs: what a test compares."""
    return [(r.number, r.cells) for r in table.rows]


def preflight_of(name: str, **options: Any) -> Preflight:
    """Pre-flight of a data file with these settings."""
    return run_preflight(Settings(input=DATA / name, **options))


# --- the state db ------------------------------------------------------------------------------


def run_info(run_id: str, created_at: float = 1.0, parent: str | None = None, **kw: Any) -> RunInfo:
    """A run with plausible input details."""
    settings = kw.pop("settings", {"tps": 20, "hourly_cap": 5, "sender": "ACME"})
    return RunInfo(
        *(run_id, created_at, parent, "in.csv", f"reports/{run_id}/input.csv", "ab" * 32, "csv"),
        *(None, settings),
        **kw,
    )


def msg(row: int, phone: str, content: str = "hi", status: Status = Status.READY, index: int = 0,
        **kw: Any) -> Message:  # fmt: skip
    """A message for a row; READY unless told."""
    return Message(row, index, f"+{phone}", phone, content, 1, "GSM-7", 86, status, **kw)


def new_run(j: Journal, run_id: str, *messages: Message, **kw: Any) -> list[int]:
    """Create a run with messages; return the ids of its queued messages."""
    j.create_run(run_info(run_id, **kw))
    j.add_messages(run_id, messages)
    return [q.id for q in j.next_batch(run_id, 0, 100_000)]


def send(j: Journal, ids: list[int], at: float, messageid: str = "") -> None:
    """Mark messages inflight and record them as accepted at `at`."""
    j.mark_inflight(ids, at)
    j.record([Result(i, Status.SENT, "0", "ok", messageid or f"M{i}", 1, at) for i in ids])


def statuses(j: Journal, run_id: str) -> list[tuple[int, int, Status]]:
    """(row, index, status) of every message of a run, in report order."""
    return [(r.row, r.index, r.status) for r in j.report_rows(run_id)]


def stored(path: Path) -> list[tuple[str, float, dict[str, str], int | None]]:
    """Every stored receipt as (messageid, received_at, fields, message_id), oldest first."""
    with sqlite3.connect(path) as raw:
        rows = raw.execute(
            "SELECT messageid, received_at, fields, message_id FROM receipts ORDER BY id"
        )
        return [(m, at, json.loads(f), i) for m, at, f, i in rows]


def stored_receipts(path: Path) -> list[tuple[str, dict[str, str], int | None]]:
    """(messageid, fields, message_id) of every stored receipt."""
    return [(m, fields, i) for m, _, fields, i in stored(path)]


# --- dispatching against the sandbox -----------------------------------------------------------

SandboxMaker = Callable[..., SandboxHandle]


def make_run(journal: Journal, run_id: str, rows: Sequence[tuple[str, str]]) -> None:
    """A run whose messages are (phone, content), rows numbered from 2 as in a spreadsheet."""
    journal.create_run(run_info(run_id, time.time(), settings={}))
    journal.add_messages(
        run_id, [msg(row, phone, content) for row, (phone, content) in enumerate(rows, start=2)]
    )


def dispatch_run(
    handle: SandboxHandle,
    journal: Journal,
    run_id: str,
    settings: DispatchSettings,
    *,
    timeout: float = 10.0,
    clock: Callable[[], float] = time.time,
    **kw: Any,
) -> DispatchResult:
    """Dispatch a run through a client pointed at the sandbox."""

    async def go() -> DispatchResult:
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials, timeout=timeout, clock=clock)
            return await dispatch(run_id, journal, client, settings, clock=clock, **kw)

    return asyncio.run(go())


def status_counts(journal: Journal, run_id: str) -> Counter[str]:
    """How many of the run's messages are in each status."""
    return Counter(journal.counts(run_id))


def by_row(journal: Journal, run_id: str) -> dict[int, Any]:
    """The run's message records by row."""
    return {r.row: r for r in journal.report_rows(run_id)}


def attempts_logged(journal: Journal) -> int:
    """Rows in the attempts log (read-only look at the db: the journal has no API for it)."""
    with sqlite3.connect(journal.path) as db:
        return int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def accepted_twice(handle: SandboxHandle) -> list[tuple[str, str]]:
    """(phone, content) the sandbox accepted more than once."""
    return [key for key, n in accepted_counts(handle).items() if n > 1]


# --- the sandbox through the real client -------------------------------------------------------

CN = NUMBERS["CN"]  # a valid Chinese mobile number
MY = NUMBERS["MY"]  # a valid Malaysian mobile number


def run(coro: Awaitable[Any]) -> Any:
    """Drive one async test body."""
    return asyncio.run(coro)  # type: ignore[arg-type]


async def client_send(sandbox: Sandbox, req: SendRequest, **client_kw: Any) -> Answer:
    """Send one request to a running sandbox through the client."""
    async with aiohttp.ClientSession() as session:
        client = Client(session, sandbox.url, sandbox.config.credentials, **client_kw)
        return await client.send(req)


async def post_raw(url: str, headers: dict[str, str], body: bytes) -> Answer:
    """POST these exact headers and body to a send URL; the classified answer."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/api/sms/mtsend_v2", data=body, headers=headers) as resp,
    ):
        return classify(resp.status, await resp.read())


def send_one(config: SandboxConfig, req: SendRequest, **client_kw: Any) -> tuple[Answer, Sandbox]:
    """Start a sandbox, send one request through the client, stop; the outcome and sandbox."""

    async def main() -> tuple[Answer, Sandbox]:
        async with serve(config) as sandbox:
            return await client_send(sandbox, req, **client_kw), sandbox

    result: tuple[Answer, Sandbox] = run(main())
    return result


def changed_credentials(sandbox: Sandbox, **change: str) -> Credentials:
    """The sandbox's credentials with some fields changed."""
    return dataclasses.replace(sandbox.config.credentials, **change)


def many_numbers(count: int) -> str:
    """A multi-number `phone` field of distinct Chinese mobiles."""
    return ",".join(f"86138001380{i:02d}" for i in range(count))


def fresh_python(code: str, cwd: Path | None = None) -> str:
    """Run `code` in a fresh interpreter (what a command's start-up imports); its stdout. It must
    succeed."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
