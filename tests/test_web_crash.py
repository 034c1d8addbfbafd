"""A send started in the browser whose `batch-sms web` process is killed mid-run is finished by
`batch-sms resume` with every row accepted exactly once (the same state db, the same run lock)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from helpers import accepted_counts, cn_numbers, env_for, last_json, run_cli, write_csv
from test_crash import wait_for_accepted, wait_until_provider_idle

from batch_sms.sandbox.server import SandboxHandle

Make = Callable[..., SandboxHandle]
ROWS = 300
pytestmark = pytest.mark.slow
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_TICKET = re.compile(r'name="ticket" value="([^"]+)"')


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_web(tmp_path: Path, handle: SandboxHandle) -> tuple[subprocess.Popen[str], str]:
    """`python -m batch_sms web` as a child process talking to `handle`; its address."""
    config = tmp_path / "batch-sms.toml"
    config.write_text(f'base_url = "{handle.url}"\n', encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "batch_sms", "web", "--port", str(free_port()),
         "--config", str(config), "--out", str(tmp_path / "out"),
         "--state", str(tmp_path / "state.sqlite3")],
        env={**os.environ, **env_for(handle)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"open (http://\S+)", line)
    assert found, line + proc.stderr.read() if proc.stderr else line
    return proc, found.group(1).rstrip("/")


async def start_send(base: str, name: str, content: bytes) -> None:
    """Upload, check, confirm and send a campaign file as a browser would."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address host
    async with aiohttp.ClientSession(base, cookie_jar=jar) as client:
        page = await (await client.get("/campaigns/new")).text()
        match = _CSRF.search(page)
        assert match
        csrf = match.group(1)
        data = aiohttp.FormData()
        data.add_field("csrf", csrf)
        data.add_field("file", content, filename=name)
        uploaded = await client.post("/campaigns/new", data=data, allow_redirects=False)
        options = uploaded.headers["Location"]
        fields = {"csrf": csrf, "phone_column": "phone", "source": "column",
                  "content_column": "content", "tps": "200", "hourly_cap": "5"}  # fmt: skip
        checked = await client.post(f"{options}/check", data=fields, allow_redirects=False)
        check = checked.headers["Location"]
        ticket = _TICKET.search(await (await client.get(f"{check}/confirm")).text())
        assert ticket
        sent = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket.group(1)},
                                 allow_redirects=False)  # fmt: skip
        assert sent.status == 303


def killed_mid_send(tmp_path: Path, handle: SandboxHandle) -> str:
    """Start a send in a web process, kill -9 it mid-run; the run id it leaves "running"."""
    rows = [[p, f"Offer {i}"] for i, p in enumerate(cn_numbers(ROWS))]
    campaign = write_csv(tmp_path / "big.csv", ["phone", "content"], rows)
    proc, base = start_web(tmp_path, handle)
    try:
        asyncio.run(start_send(base, campaign.name, campaign.read_bytes()))
        wait_for_accepted(handle, proc, 60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    wait_until_provider_idle(handle)
    assert len(handle.sandbox.accepted) < ROWS
    state = str(tmp_path / "state.sqlite3")
    [listed] = last_json(run_cli(["runs", "--json", "--state", state]))["runs"]
    assert listed["status"] == "running"  # left so by the killed process
    return str(listed["run_id"])


def test_killed_web_process_then_cli_resume_sends_every_row_exactly_once(
    tmp_path: Path, make_sandbox: Make
) -> None:
    handle = make_sandbox(latency=0.02, jitter=0.02, seed=7)
    run_id = killed_mid_send(tmp_path, handle)
    state = str(tmp_path / "state.sqlite3")
    result = run_cli(
        ["resume", run_id, "--base-url", handle.url, "--state", state,
         "--out", str(tmp_path / "out"), "--settle", "0", "--tps", "unlimited", "--json"],
        env=env_for(handle),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert last_json(result)["counts"] == {"sent": ROWS}
    assert sorted(accepted_counts(handle).values()) == [1] * ROWS


async def resume_in_browser(base: str, run_id: str) -> dict[str, object]:
    """Press the run's Resume button and follow its page until it ends (bounded)."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base, cookie_jar=jar) as client:
        page = await (await client.get("/runs")).text()
        assert f'action="/runs/{run_id}/resume"' in page
        match = _CSRF.search(page)
        assert match
        pressed = await client.post(f"/runs/{run_id}/resume", data={"csrf": match.group(1)},
                                    allow_redirects=False)  # fmt: skip
        assert pressed.status == 303
        where = pressed.headers["Location"]
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            now: dict[str, object] = await (await client.get(f"{where}/progress")).json()
            if now["state"] != "sending":
                return now
            assert asyncio.get_running_loop().time() < deadline, now
            await asyncio.sleep(0.1)


def test_killed_web_process_then_resume_button_sends_every_row_exactly_once(
    tmp_path: Path, make_sandbox: Make
) -> None:
    handle = make_sandbox(latency=0.02, jitter=0.02, seed=8)
    run_id = killed_mid_send(tmp_path, handle)
    proc, base = start_web(tmp_path, handle)  # a new web process on the same state db
    try:
        now = asyncio.run(resume_in_browser(base, run_id))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert now["state"] == "finished", now
    assert now["run_id"] == run_id
    accepted = accepted_counts(handle)
    assert set(accepted.values()) == {1}  # no number twice
    # A message marked in flight just before the kill whose request never left is absent from
    # the provider's records: `unknown` until the settle time (120 s) has passed since, then a
    # resume sends it. At most the run's --concurrency (20) of them; usually none.
    counts = now["counts"]
    assert isinstance(counts, dict)
    unknown = counts.get("unknown", 0)
    assert counts == {"sent": ROWS - unknown, **({"unknown": unknown} if unknown else {})}
    assert unknown <= 20
    assert len(accepted) == ROWS - unknown
    if unknown:
        state = str(tmp_path / "state.sqlite3")
        result = run_cli(
            ["resume", run_id, "--base-url", handle.url, "--state", state,
             "--out", str(tmp_path / "out"), "--settle", "0", "--json"],
            env=env_for(handle),
        )  # fmt: skip
        assert last_json(result)["counts"] == {"sent": ROWS}
    assert sorted(accepted_counts(handle).values()) == [1] * ROWS
