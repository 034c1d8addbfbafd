"""batch_sms.web.uploads: multipart forms read after their CSRF check, files streamed to
server-chosen names inside the output folder within the size limit, and the names shown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from webclient import form, web_settings

from batch_sms.web import security
from batch_sms.web.state import STATE, Upload, WebConfig, WebState
from batch_sms.web.uploads import FOLDER, discard, read_form, shown_name, too_large

CSV = b"phone,content\n+8613912345678,Hello\n"


def form_app(config: WebConfig) -> web.Application:
    """An app with the guards whose one form stores its `file` field and echoes what it read."""
    app = web.Application(middlewares=security.middlewares(None, loopback=True))
    app[STATE] = WebState(config)

    async def token(request: web.Request) -> web.Response:
        return web.Response(text=security.csrf_token(request))

    async def post(request: web.Request) -> web.Response:
        read = await read_form(request, request.app[STATE], ("file",))
        files = {k: [str(u.path), u.name] for k, u in read.files.items()}
        return web.json_response({"fields": read.fields, "files": files})

    app.router.add_get("/", token)
    app.router.add_post("/", post)
    return app


def post(config: WebConfig, *files: tuple[str, str, bytes], **fields: str) -> tuple[int, Any]:
    """POST a multipart form (CSRF first) to form_app; its status and JSON or text."""

    async def main() -> tuple[int, Any]:
        async with TestClient(TestServer(form_app(config))) as client:
            csrf = await (await client.get("/")).text()
            response = await client.post("/", data=form(csrf, *files, **fields))
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    return asyncio.run(main())


def stored(tmp_path: Path) -> list[Path]:
    """What the uploads folder holds."""
    folder = tmp_path / "out" / FOLDER
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_file_is_stored_under_a_new_name_with_the_users_name_beside_it(
    tmp_path: Path,
) -> None:
    status, answer = post(WebConfig(web_settings(tmp_path)), ("file", "../../list.CSV", CSV),
                          sender="Shop")  # fmt: skip
    assert status == 200
    assert answer["fields"] == {"sender": "Shop"}
    path, name = answer["files"]["file"]
    assert name == "list.CSV"  # only ever shown: no folder of the client's survives
    assert Path(path).parent == tmp_path / "out" / FOLDER
    assert Path(path).suffix == ".csv"
    assert Path(path).read_bytes() == CSV
    assert shown_name(tmp_path / "out", path) == "list.CSV"


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("list.csv", b"", "list.csv: the file is empty"),
        ("notes.pdf", CSV, "notes.pdf: not a spreadsheet batch-sms reads"),
    ],
)
def test_refused_files_leave_nothing_behind(
    tmp_path: Path, filename: str, content: bytes, message: str
) -> None:
    status, page = post(WebConfig(web_settings(tmp_path)), ("file", filename, content))
    assert status == 400
    assert message in page
    assert stored(tmp_path) == []


def test_a_file_over_the_limit_is_refused_while_streaming_and_removed(tmp_path: Path) -> None:
    config = WebConfig(web_settings(tmp_path), max_upload_mb=0.25)
    big = b"phone,content\n" + b"+8613912345678,Hello there\n" * 20000  # about 0.5 MB
    status, page = post(config, ("file", "big.csv", big))
    assert status == 413
    assert "larger than the upload limit of 0.25 MB; nothing was stored" in page
    assert stored(tmp_path) == []


@pytest.mark.parametrize(
    ("filename", "shown"),
    [("C:\\Users\\ann\\list.xlsx", "list.xlsx"), ("lists/may/list.csv", "list.csv"),
     ("/etc/list.ods", "list.ods")],
)  # fmt: skip
def test_the_users_name_keeps_no_folder(tmp_path: Path, filename: str, shown: str) -> None:
    suffix = Path(shown).suffix
    content = CSV if suffix == ".csv" else b"not read here"
    status, answer = post(WebConfig(web_settings(tmp_path)), ("file", filename, content))
    assert status == 200
    assert answer["files"]["file"][1] == shown


def test_too_large_says_the_limit_and_what_to_do() -> None:
    error = too_large(2.5)
    assert error.status == 413
    assert "upload limit of 2.5 MB" in (error.text or "")
    assert "--max-upload-mb" in (error.text or "")


def test_discard_removes_the_file_and_its_name(tmp_path: Path) -> None:
    path = tmp_path / "abc.csv"
    path.write_bytes(CSV)
    named = tmp_path / "abc.csv.name"
    named.write_text("mine.csv", encoding="utf-8")
    discard(Upload("u1", path, "mine.csv"))
    assert not path.exists()
    assert not named.exists()
    discard(Upload("u1", path, "mine.csv"))  # gone already: nothing to do


def test_shown_name_of_a_file_that_is_not_an_upload_is_its_recorded_name(tmp_path: Path) -> None:
    assert shown_name(tmp_path / "out", "/data/lists/may.csv") == "/data/lists/may.csv"
    lost = tmp_path / "out" / FOLDER / "0a1b.csv"  # an upload whose name file is gone
    assert shown_name(tmp_path / "out", str(lost)) == "0a1b.csv"
