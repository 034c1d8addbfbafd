"""Drive `batch-sms web` through its HTTP interface: aiohttp's test server on loopback, one
event loop per test (the suite has no pytest-asyncio)."""

from __future__ import annotations

import asyncio
import html as htmllib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
from aiohttp import ClientResponse, FormData
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from helpers import cn_numbers, env_for, write_csv

from batch_sms.cli import cli
from batch_sms.config import Settings, load_settings
from batch_sms.sandbox.server import SandboxHandle
from batch_sms.web import WebConfig, make_app
from batch_sms.web.state import STATE

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "campaign.xlsx"
Client = TestClient[Any, Any]
# The options form for the sample's columns, as the page fills it in.
COLUMNS = {"phone_column": "phone", "source": "column", "content_column": "content",
           "hourly_cap": "5"}  # fmt: skip
SEND_OPTIONS = {**COLUMNS, "tps": "unlimited"}  # and as fast as the sandbox takes them
STOP_ROWS = 20  # the rows of a send slow enough to stop
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def page_text(html: str) -> str:
    """A page's text without tags, spaces collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def web_settings(tmp_path: Path, **options: Any) -> Settings:
    """Settings whose output folder and state db live in `tmp_path`."""
    return load_settings(
        {"out": tmp_path / "out", "state": tmp_path / "state.sqlite3", **options},
        environ={},
        cwd=tmp_path,
    )


def run(
    config: WebConfig, scenario: Callable[[TestClient[Any, Any]], Awaitable[T]], **server: Any
) -> T:
    """Serve `config` on a loopback port and run `scenario` with a client of it."""

    async def main() -> T:
        async with TestClient(TestServer(make_app(config), **server)) as client:
            return await scenario(client)

    return asyncio.run(main())


async def csrf_of(client: TestClient[Any, Any], page: str = "/campaigns/new") -> str:
    """The CSRF token a page's forms carry (and the cookie it goes with)."""
    response = await client.get(page)
    found = _CSRF.search(await response.text())
    assert found, f"no CSRF field on {page}"
    return found.group(1)


def form(csrf: str | None, *files: tuple[str, str, bytes], **fields: str) -> FormData:
    """A multipart form as a browser sends it: the CSRF field first, then the fields, then files
    as (field, file name, content)."""
    data = FormData()
    if csrf is not None:
        data.add_field("csrf", csrf)
    for name, value in fields.items():
        data.add_field(name, value)
    for name, filename, content in files:
        data.add_field(name, content, filename=filename, content_type="application/octet-stream")
    return data


async def upload(
    client: TestClient[Any, Any], csrf: str, filename: str, content: bytes
) -> ClientResponse:
    """POST a file to New campaign without following the redirect."""
    return await client.post(
        "/campaigns/new", data=form(csrf, ("file", filename, content)), allow_redirects=False
    )


async def check_of(
    client: Client, name: str = "campaign.xlsx", content: bytes = b"", **options: str
) -> str:
    """Upload and check a file (SEND_OPTIONS, or `options` over them); the check's page path."""
    csrf = await csrf_of(client)
    uploaded = await upload(client, csrf, name, content or SAMPLE.read_bytes())
    fields = {**SEND_OPTIONS, **options}
    response = await client.post(
        uploaded.headers["Location"] + "/check", data=form(csrf, **fields), allow_redirects=False
    )
    assert response.status == 303, await response.text()
    return response.headers["Location"]


async def confirmed(client: Client, check: str) -> tuple[str, str]:
    """The confirmation page's text and its one-time ticket."""
    page = await (await client.get(f"{check}/confirm")).text()
    found = re.search(r'name="ticket" value="([^"]+)"', page)
    assert found, page
    return page, found.group(1)


async def finished(client: Client, path: str) -> dict[str, Any]:
    """Wait for the send's own task (no request drives it), then read its JSON."""
    job = client.server.app[STATE].sends[path.rsplit("/", 1)[1]]
    assert job.task is not None
    await job.task
    response = await client.get(f"{path}/progress")
    assert response.status == 200
    data: dict[str, Any] = await response.json()
    return data


async def send_file(client: Client, name: str, content: bytes, **fields: str) -> str:
    """Upload, check, confirm and send a file; the send's page (the send goes on)."""
    check = await check_of(client, name, content, **fields)
    _, ticket = await confirmed(client, check)
    csrf = await csrf_of(client)
    sent = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket},
                             allow_redirects=False)  # fmt: skip
    assert sent.status == 303
    where: str = sent.headers["Location"]
    return where


async def sending(client: Client, tmp_path: Path) -> str:
    """Send a campaign of STOP_ROWS rows at 5 per second; its page once its stop hook is set."""
    rows = [[p, f"Offer {i}"] for i, p in enumerate(cn_numbers(STOP_ROWS))]
    campaign = write_csv(tmp_path / "offers.csv", ["phone", "content"], rows)
    where = await send_file(client, campaign.name, campaign.read_bytes(), tps="5")
    job = client.server.app[STATE].sends[where.rsplit("/", 1)[1]]
    deadline = asyncio.get_running_loop().time() + 30
    while job.ui.stop is None:  # the dispatch hands its stop over as it starts
        assert job.state == "sending", job.snapshot()
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    return where


def sandbox_config(tmp_path: Path, handle: SandboxHandle, **options: Any) -> WebConfig:
    """A web app sending to the sandbox `handle` (which counts what it accepted)."""
    return WebConfig(load_settings(
        {"out": tmp_path / "out", "state": tmp_path / "state.sqlite3", "base_url": handle.url,
         **options},
        environ=env_for(handle), cwd=tmp_path,
    ))  # fmt: skip


def results_sheet(data: bytes | None, path: Path) -> list[tuple[Any, ...]]:
    """The Results sheet of a report (`data` written to `path` first, when given), without the
    columns that differ between runs."""
    if data is not None:
        path.write_bytes(data)
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = [tuple(r) for r in book["Results"].iter_rows(values_only=True)]
    finally:
        book.close()
    keep = [i for i, h in enumerate(rows[0]) if h not in {
        "sms_messageid", "sms_sys_message_id", "sms_sent_at", "sms_dr_time", "sms_result",
        "sms_dr_status"}]  # fmt: skip
    return [tuple(row[i] for i in keep) for row in rows]


def cli_sample_results(tmp_path: Path) -> list[tuple[Any, ...]]:
    """The Results sheet (as results_sheet gives it) of the sample sent on the sandbox by the
    CLI with the defaults, into tmp_path/cli."""
    sent = CliRunner().invoke(cli, [
        "send", str(SAMPLE), "--sandbox", "--yes", "--tps", "unlimited",
        "--out", str(tmp_path / "cli"), "--state", str(tmp_path / "cli.sqlite3"),
    ])  # fmt: skip
    assert sent.exit_code == 0, sent.output
    [report] = (tmp_path / "cli").glob("*/report.xlsx")
    return results_sheet(None, report)
