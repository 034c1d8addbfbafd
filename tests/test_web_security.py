"""batch_sms.web.security and the app's guards: access token, CSRF, hosts, upload limit,
downloads, headers and secrets, each seen through HTTP."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient
from webclient import csrf_of, form, run, upload, web_settings

from batch_sms.config import Credentials
from batch_sms.web import WebConfig, security
from batch_sms.web.app import app_runner

CSV = b"phone,content\n+8613912345678,Hello\n"
Client = TestClient[Any, Any]
ANY_HOST = "0.0.0.0"  # noqa: S104 (a bind address under test, nothing listens on it)


def stored(tmp_path: Path) -> list[Path]:
    """The files the app stored as uploads."""
    folder = tmp_path / "out" / "uploads"
    return sorted(p for p in folder.iterdir() if p.suffix != ".name") if folder.exists() else []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (ANY_HOST, False),
        ("192.168.1.20", False),
        ("::", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert security.is_loopback(host) is loopback


def test_access_token_rules() -> None:
    assert security.access_token("127.0.0.1", None, {}) is None
    assert security.access_token("127.0.0.1", "given", {}) == "given"
    assert security.access_token(ANY_HOST, None, {security.TOKEN_ENV: "from-env"}) == "from-env"
    assert security.access_token(ANY_HOST, "given", {security.TOKEN_ENV: "env"}) == "given"
    made = security.access_token(ANY_HOST, None, {})
    assert made is not None
    assert len(made) >= 24
    assert made != security.access_token(ANY_HOST, None, {})


def test_loopback_pages_answer_with_security_headers(tmp_path: Path) -> None:
    async def scenario(client: Client) -> None:
        for page in ("/runs", "/campaigns/new", "/settings", "/static/app.js"):
            response = await client.get(page)
            assert response.status == 200, page
            assert response.headers["Content-Security-Policy"] == security.CSP
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        refused = await client.get("/nowhere")
        assert refused.status == 404
        assert refused.headers["Content-Security-Policy"] == security.CSP

    run(WebConfig(web_settings(tmp_path)), scenario)
    assert "'unsafe-inline'" not in security.CSP
    assert "script-src 'self'" in security.CSP


def test_pages_have_no_inline_script(tmp_path: Path) -> None:
    async def scenario(client: Client) -> list[str]:
        return [await (await client.get(p)).text() for p in ("/runs", "/campaigns/new")]

    for page in run(WebConfig(web_settings(tmp_path)), scenario):
        assert '<script src="/static/app.js' in page
        assert "<script>" not in page
        assert " on" + "click=" not in page


def test_non_loopback_bind_refuses_requests_without_the_token(tmp_path: Path) -> None:
    config = WebConfig(web_settings(tmp_path), host=ANY_HOST, token="s3cret-token")

    async def scenario(client: Client) -> None:
        for page in ("/runs", "/campaigns/new", "/static/style.css", "/runs/x/files/report"):
            response = await client.get(page, allow_redirects=False)
            assert response.status == 401, page
            assert "access token" in await response.text()
        posted = await client.post("/campaigns/new", data=form("x", ("file", "a.csv", CSV)))
        assert posted.status == 401
        wrong = await client.get("/runs?token=guess", allow_redirects=False)
        assert wrong.status == 403
        assert client.session.cookie_jar.filter_cookies(client.make_url("/")) == {}

    run(config, scenario)
    assert stored(tmp_path) == []


def test_token_is_kept_in_a_strict_httponly_cookie_and_leaves_the_url(tmp_path: Path) -> None:
    config = WebConfig(web_settings(tmp_path), host=ANY_HOST, token="s3cret-token")

    async def scenario(client: Client) -> None:
        first = await client.get("/runs?token=s3cret-token&page=2", allow_redirects=False)
        assert first.status == 303
        assert first.headers["Location"] == "/runs?page=2"
        cookie = first.headers["Set-Cookie"]
        assert cookie.startswith(f"{security.ACCESS_COOKIE}=s3cret-token;")
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        later = await client.get("/runs")
        assert later.status == 200
        assert "s3cret-token" not in await later.text()

    run(config, scenario)


def test_loopback_refuses_a_host_name_that_is_not_loopback(tmp_path: Path) -> None:
    """A page whose domain resolves to 127.0.0.1 (DNS rebinding) must not read the app."""

    async def scenario(client: Client) -> None:
        response = await client.get("/runs", headers={"Host": "evil.example:8080"})
        assert response.status == 403
        assert (await client.get("/runs", headers={"Host": "localhost:8080"})).status == 200

    run(WebConfig(web_settings(tmp_path)), scenario)


@pytest.mark.parametrize("csrf", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
def test_post_without_the_right_csrf_token_is_refused_and_stores_nothing(
    tmp_path: Path, csrf: str | None
) -> None:
    async def scenario(client: Client) -> None:
        await csrf_of(client)  # the browser has its CSRF cookie
        response = await client.post(
            "/campaigns/new", data=form(csrf, ("file", "list.csv", CSV)), allow_redirects=False
        )
        assert response.status == 403
        assert "security token is missing or wrong" in await response.text()

    run(WebConfig(web_settings(tmp_path)), scenario)
    assert stored(tmp_path) == []


def test_post_from_another_origin_is_refused(tmp_path: Path) -> None:
    async def scenario(client: Client) -> None:
        token = await csrf_of(client)
        response = await client.post(
            "/campaigns/new",
            data=form(token, ("file", "list.csv", CSV)),
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        )
        assert response.status == 403

    run(WebConfig(web_settings(tmp_path)), scenario)
    assert stored(tmp_path) == []


def test_post_without_a_csrf_cookie_is_refused(tmp_path: Path) -> None:
    async def scenario(client: Client) -> None:
        token = await csrf_of(client)
        client.session.cookie_jar.clear()
        response = await upload(client, token, "list.csv", CSV)
        assert response.status == 403

    run(WebConfig(web_settings(tmp_path)), scenario)
    assert stored(tmp_path) == []


def test_the_right_csrf_token_is_accepted(tmp_path: Path) -> None:
    async def scenario(client: Client) -> None:
        response = await upload(client, await csrf_of(client), "list.csv", CSV)
        assert response.status == 303
        assert response.headers["Location"].startswith("/uploads/")

    run(WebConfig(web_settings(tmp_path)), scenario)
    assert len(stored(tmp_path)) == 1


def test_upload_over_the_limit_is_refused_with_a_clear_page(tmp_path: Path) -> None:
    config = WebConfig(web_settings(tmp_path), max_upload_mb=0.25)
    big = b"phone,content\n" + b"+8613912345678,Hello there\n" * 20_000  # about 0.5 MB

    async def scenario(client: Client) -> None:
        response = await upload(client, await csrf_of(client), "big.csv", big)
        assert response.status == 413
        text = await response.text()
        assert "larger than the upload limit of 0.25 MB" in text
        assert "nothing was stored" in text

    run(config, scenario)
    assert stored(tmp_path) == []


def test_upload_over_the_limit_without_a_length_is_refused_while_streaming(
    tmp_path: Path,
) -> None:
    """A chunked upload gives no Content-Length: the limit is counted as the file arrives."""
    config = WebConfig(web_settings(tmp_path), max_upload_mb=0.25)
    csrf_field = None

    async def chunks() -> Any:
        yield f'--B\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf_field}\r\n'.encode()
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 16_384
        yield b"\r\n--B--\r\n"

    async def scenario(client: Client) -> None:
        nonlocal csrf_field
        csrf_field = await csrf_of(client)
        response = await client.post(
            "/campaigns/new",
            data=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=B"},
            allow_redirects=False,
        )
        assert response.status == 413

    run(config, scenario)
    assert stored(tmp_path) == []


def test_uploads_get_server_chosen_names_inside_the_output_folder(tmp_path: Path) -> None:
    async def scenario(client: Client) -> str:
        response = await upload(client, await csrf_of(client), "../../etc/evil name.csv", CSV)
        assert response.status == 303
        page = await client.get(response.headers["Location"])
        return await page.text()

    text = run(WebConfig(web_settings(tmp_path)), scenario)
    [path] = stored(tmp_path)
    assert path.parent == tmp_path / "out" / "uploads"
    assert path.suffix == ".csv"
    assert "evil" not in path.name
    assert len(path.stem) == 24
    assert all(c in "0123456789abcdef" for c in path.stem)
    assert "evil name.csv" in text  # shown to its user as given, never used as a path
    assert path.with_name(path.name + ".name").read_text(encoding="utf-8") == "evil name.csv"
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(
    "page",
    [
        "/runs/..%2F..%2Fstate.sqlite3/files/report",
        "/runs/x/files/..%2F..%2Fstate.sqlite3",
        "/runs/nope/files/report",
        "/runs/nope/files/state",
        "/checks/nope/report",
        "/static/../state.sqlite3",
        "/static/%2e%2e/state.sqlite3",
    ],
)
def test_downloads_serve_no_path_from_the_request(tmp_path: Path, page: str) -> None:
    (tmp_path / "state.sqlite3").write_bytes(b"secret state")

    async def scenario(client: Client) -> None:
        response = await client.get(page)
        assert response.status in (403, 404)
        assert b"secret state" not in await response.read()

    run(WebConfig(web_settings(tmp_path)), scenario)


def test_settings_page_says_whether_credentials_are_set_never_their_values(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    secret = Credentials("AK-VISIBLE-1", "SECRET-VALUE-2", "APPKEY-VALUE-3")
    settings = replace(web_settings(tmp_path), credentials=secret)

    async def scenario(client: Client) -> list[str]:
        return [
            await (await client.get(p)).text() for p in ("/settings", "/runs", "/campaigns/new")
        ]

    pages = run(WebConfig(settings), scenario)
    assert "credentials configured</th><td>yes</td>" in pages[0].replace("\n", "")
    for page in pages:
        for value in ("AK-VISIBLE-1", "SECRET-VALUE-2", "APPKEY-VALUE-3"):
            assert value not in page


def test_settings_page_names_missing_credentials(tmp_path: Path) -> None:
    async def scenario(client: Client) -> str:
        return await (await client.get("/settings")).text()

    page = run(WebConfig(web_settings(tmp_path)), scenario)
    assert "no: NXCLOUD_ACCESS_KEY, NXCLOUD_ACCESS_SECRET, NXCLOUD_APP_KEY" in page


def test_access_log_never_holds_the_token(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = WebConfig(web_settings(tmp_path), host=ANY_HOST, token="s3cret-token")

    async def main() -> None:
        runner = app_runner(config)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with ClientSession() as session:
                await session.get(f"http://127.0.0.1:{port}/runs?token=s3cret-token")
        finally:
            await runner.cleanup()

    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        asyncio.run(main())
    logged = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert "GET /runs 303" in logged
    assert not any("s3cret" in line for line in logged)
