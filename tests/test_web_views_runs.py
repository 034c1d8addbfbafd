"""batch_sms.web.views_runs: the Runs page and a run's downloads, over a real state db."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from click.testing import CliRunner
from webclient import finished, run, sandbox_config, sending, web_settings

from batch_sms.cli import cli
from batch_sms.journal import Journal, RunInfo
from batch_sms.models import Message, Status
from batch_sms.sandbox.server import SandboxHandle
from batch_sms.web import WebConfig
from batch_sms.web.state import STATE

ROOT = Path(__file__).resolve().parent.parent
Client = TestClient[Any, Any]


def sandbox_send(tmp_path: Path, sample: str = "campaign.csv") -> str:
    """Send a sample on the built-in simulator with the CLI, as a user would; its run id."""
    result = CliRunner().invoke(
        cli,
        ["send", str(ROOT / "samples" / sample), "--sandbox", "--yes", "--tps", "unlimited",
         "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state.sqlite3"), "--json"],
    )  # fmt: skip
    found = re.search(r'"run_id": "([0-9a-z-]+)"', result.output)
    assert found, result.output
    return found.group(1)


def page(tmp_path: Path, path: str) -> tuple[int, str]:
    """Status and text of one page."""

    async def scenario(client: Client) -> tuple[int, str]:
        response = await client.get(path)
        return response.status, await response.text()

    return run(WebConfig(web_settings(tmp_path, sandbox=True)), scenario)


def rows(html: str) -> list[str]:
    """The body rows of the runs table, as text without tags."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in body.split("<tr>")[1:]]


def test_no_runs_yet_says_how_to_start(tmp_path: Path) -> None:
    status, html = page(tmp_path, "/runs")
    assert status == 200
    assert "No runs yet" in html
    assert 'href="/campaigns/new"' in html


def test_a_cli_run_is_listed_with_its_input_status_and_counts(tmp_path: Path) -> None:
    run_id = sandbox_send(tmp_path)
    status, html = page(tmp_path, "/runs")
    assert status == 200
    [row] = rows(html)
    assert row.startswith(run_id)
    assert "campaign.csv" in row
    assert "finished" in row
    assert "delivered 25" in row
    assert "invalid 3" in row
    assert "duplicate 1" in row
    assert f'href="/runs/{run_id}/files/report"' in html


def test_runs_newest_first_with_their_parent_and_escaped_names(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state.sqlite3")
    try:
        for run_id, created, parent, name in [
            ("20260101-090000-aaaa", 1_767_258_000.0, None, "first.csv"),
            ("20260101-100000-bbbb", 1_767_261_600.0, "20260101-090000-aaaa", "first.csv"),
            ("20260101-080000-cccc", 1_767_254_400.0, None, "<b>odd</b> name.csv"),
        ]:
            journal.create_run(
                RunInfo(
                    run_id,
                    created,
                    parent,
                    name,
                    str(tmp_path / run_id / "input.csv"),
                    "0" * 64,
                    "csv",
                    None,
                    {},
                )
            )
    finally:
        journal.close()
    status, html = page(tmp_path, "/runs")
    assert status == 200
    listed = rows(html)
    assert [r.split()[0] for r in listed] == [
        "20260101-100000-bbbb", "20260101-090000-aaaa", "20260101-080000-cccc",
    ]  # fmt: skip
    assert listed[0].endswith("20260101-090000-aaaa report.xlsx")  # the retry names its parent
    assert "2026-01-01 10:00" in listed[0]
    assert "&lt;b&gt;odd&lt;/b&gt; name.csv" in html
    assert "<b>odd</b>" not in html


def test_a_runs_files_download_by_kind(tmp_path: Path) -> None:
    run_id = sandbox_send(tmp_path)
    folder = tmp_path / "out" / run_id

    async def scenario(client: Client) -> None:
        for kind, name in [("report", "report.xlsx"), ("results", "results.csv"),
                           ("failed", "failed.csv")]:  # fmt: skip
            response = await client.get(f"/runs/{run_id}/files/{kind}")
            assert response.status == 200, kind
            assert await response.read() == (folder / name).read_bytes()
            disposition = response.headers["Content-Disposition"]
            assert disposition == f'attachment; filename="{run_id}-{name}"'
        missing = await client.get(f"/runs/{run_id}/files/input")
        assert missing.status == 404

    run(WebConfig(web_settings(tmp_path, sandbox=True)), scenario)


def test_a_run_without_a_failed_file_has_none_to_download(tmp_path: Path) -> None:
    run_id = sandbox_send(tmp_path)
    (tmp_path / "out" / run_id / "failed.csv").unlink()
    status, _ = page(tmp_path, f"/runs/{run_id}/files/failed")
    assert status == 404


def test_resume_and_retry_buttons_where_they_apply(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state.sqlite3")
    message = Message(2, 0, "+8613912345678", "8613912345678", "Hi", 1, "GSM-7", 86, Status.READY)
    try:
        for run_id, state, failed in [
            ("20260101-090000-aaaa", "interrupted", False),
            ("20260101-090100-bbbb", "finished", True),
            ("20260101-090200-cccc", "finished", False),
            ("20260101-090300-dddd", "running", False),
        ]:
            journal.create_run(RunInfo(run_id, 1_767_258_000.0, None, "a.csv", "a.csv",
                                       "0" * 64, "csv", None, {}, state=state))  # fmt: skip
            journal.add_messages(run_id, [message])
            journal.set_status(run_id, [Status.PENDING], Status.FAILED if failed else Status.SENT)
    finally:
        journal.close()
    _, html = page(tmp_path, "/runs")
    buttons = re.findall(r'action="/runs/([0-9a-z-]+)/(resume|retry)"', html)
    assert sorted(buttons) == [
        ("20260101-090000-aaaa", "resume"),
        ("20260101-090100-bbbb", "retry"),
        ("20260101-090300-dddd", "resume"),
    ]


def test_a_run_this_process_sends_links_to_its_live_page_without_resume(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    """After the tab is closed, Runs leads back to the send's page (its run is `running`, but
    not to be resumed: this very process sends it)."""
    handle = make_sandbox(latency=0.05)

    async def scenario(client: Client) -> tuple[str, str, str]:
        where = await sending(client, tmp_path)  # the page is never opened again
        html = await (await client.get("/runs")).text()
        job = client.server.app[STATE].sends[where.rsplit("/", 1)[1]]
        assert job.ui.stop is not None
        job.ui.stop()
        now = await finished(client, where)
        return where, html, now["run_id"]

    where, html, run_id = run(sandbox_config(tmp_path, handle), scenario)
    [row] = rows(html)
    assert row.startswith(f"{run_id} ")
    assert "running" in row
    assert f'<a href="{where}">its page</a>' in html
    assert f'action="/runs/{run_id}/resume"' not in html


def test_runs_offer_resume_for_scheduled_rows_and_past_a_failed_canary(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state.sqlite3")
    message = Message(2, 0, "+8613912345678", "8613912345678", "Hi", 1, "GSM-7", 86, Status.READY)
    try:
        for run_id, state, status in [
            ("20260101-090000-aaaa", "finished", Status.SCHEDULED),  # held for its window
            ("20260101-090100-bbbb", "stopped", Status.PENDING),  # by its canary
            ("20260101-090200-cccc", "stopped", Status.PENDING),  # by its cost ceiling
            ("20260101-090300-dddd", "finished", Status.EXPIRED),  # never sent late
        ]:
            journal.create_run(RunInfo(run_id, 1_767_258_000.0, None, "a.csv", "a.csv",
                                       "0" * 64, "csv", None, {}, state=state))  # fmt: skip
            journal.add_messages(run_id, [message])
            journal.set_status(run_id, [Status.PENDING], status)
        journal.set_canary("20260101-090100-bbbb", "failed")
    finally:
        journal.close()
    _, html = page(tmp_path, "/runs")
    forms = re.findall(r'<form method="post" action="/runs/([0-9a-z-]+)/resume".*?</form>', html,
                       re.DOTALL)  # fmt: skip
    assert sorted(forms) == ["20260101-090000-aaaa", "20260101-090100-bbbb",
                             "20260101-090200-cccc"]  # fmt: skip
    skips = re.findall(r'action="/runs/([0-9a-z-]+)/resume"[^<]*<input[^>]*csrf[^>]*>\s*'
                       r'<input type="hidden" name="skip_canary" value="1">', html)  # fmt: skip
    assert skips == ["20260101-090100-bbbb"]
    assert html.count("Resume without the canary") == 1
    assert '<span class="status status-scheduled">scheduled 1</span>' in html
    assert '<span class="status status-expired">expired 1</span>' in html
