"""Drive `batch-sms web` through its HTTP interface: aiohttp's test server on loopback, one
event loop per test (the suite has no pytest-asyncio)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import ClientResponse, FormData
from aiohttp.test_utils import TestClient, TestServer

from batch_sms.config import Settings, load_settings
from batch_sms.web import WebConfig, make_app

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "campaign.xlsx"
Client = TestClient[Any, Any]
# The options form for the sample's columns, as the page fills it in.
COLUMNS = {"phone_column": "phone", "source": "column", "content_column": "content",
           "hourly_cap": "5"}  # fmt: skip
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


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
