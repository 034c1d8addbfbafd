"""batch_sms.web.views_send: confirm and send, the confirmation, the send in the app's
own task, its progress as JSON, and the sends that must not start."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import (
    FakeClock,
    accepted_counts,
    cn_numbers,
    env_for,
    last_json,
    run_cli,
    write_csv,
)
from webclient import (
    SAMPLE,
    STOP_ROWS,
    Client,
    check_of,
    cli_sample_results,
    confirmed,
    csrf_of,
    finished,
    page_text,
    results_sheet,
    run,
    sandbox_config,
    sending,
    web_settings,
)

from batch_sms.cli import cli
from batch_sms.commands import sending as sending_use_case
from batch_sms.config import Prices
from batch_sms.journal import Journal
from batch_sms.sandbox import server
from batch_sms.sandbox.server import SandboxHandle
from batch_sms.web import WebConfig
from batch_sms.web.state import STATE


def config(tmp_path: Path) -> WebConfig:
    """A sandbox web app whose files stay in tmp_path."""
    return WebConfig(web_settings(tmp_path, sandbox=True))


def runs_in(state: Path) -> list[tuple[str, str]]:
    """(run id, state) of every run of a state db."""
    if not state.exists():
        return []
    journal = Journal(state)
    try:
        return [(info.id, info.state) for info, _ in journal.list_runs()]
    finally:
        journal.close()


def test_confirm_send_and_download_the_report(tmp_path: Path) -> None:
    async def scenario(client: Client) -> tuple[str, dict[str, Any], bytes, str]:
        check = await check_of(client)
        page, ticket = await confirmed(client, check)
        csrf = await csrf_of(client)
        sent = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket},
                                 allow_redirects=False)  # fmt: skip
        assert sent.status == 303
        where = sent.headers["Location"]
        live = await (await client.get(where)).text()
        now = await finished(client, where)
        report = await client.get(now["files"][0]["href"])
        assert report.status == 200
        ended = await (await client.get(where)).text()
        assert 'data-state="finished"' in ended
        assert "/resume" not in ended  # a finished run has nothing to resume
        assert f'action="/runs/{now["run_id"]}/retry"' not in ended  # nor rows to retry
        bars = re.findall(
            r'class="label">(\w+)</text>\s*<rect[^>]*></rect>\s*<text[^>]*>([\d,]+)<', ended
        )
        assert bars == [("invalid", "3"), ("duplicate", "1"), ("delivered", "25")]  # status order
        runs = await (await client.get("/runs")).text()
        assert f"{now['run_id']}</td>" in runs
        assert '<td class="wrap">campaign.xlsx</td>' in runs  # the user's name, not the stored one
        return page, now, await report.read(), live

    page, now, report, live = run(config(tmp_path), scenario)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Send 25 messages?" in text
    assert "25 messages (27 billed segments), estimated cost 0.2700 USD" in text
    assert 'data-progress-url="/sends/' in live
    assert now["state"] == "finished"
    assert now["counts"] == {"delivered": 25, "invalid": 3, "duplicate": 1}
    assert (now["done"], now["total"]) == (25, 25)
    assert [f["kind"] for f in now["files"]] == ["report", "failed"]
    assert runs_in(tmp_path / "state.sqlite3") == [(now["run_id"], "finished")]
    # The same file and options sent by the CLI give the same Results sheet.
    web_rows = results_sheet(report, tmp_path / "web.xlsx")
    assert web_rows == cli_sample_results(tmp_path)
    assert len(web_rows) == 30


def test_send_without_its_confirmation_is_refused(tmp_path: Path) -> None:
    async def scenario(client: Client) -> list[int]:
        check = await check_of(client)
        csrf = await csrf_of(client)
        statuses = []
        for data in ({"csrf": csrf}, {"csrf": csrf, "ticket": "forged"}):
            response = await client.post(f"{check}/send", data=data)
            statuses.append(response.status)
            assert "nothing was sent" in await response.text()
        _, ticket = await confirmed(client, check)
        no_csrf = await client.post(f"{check}/send", data={"ticket": ticket})
        statuses.append(no_csrf.status)
        return statuses

    assert run(config(tmp_path), scenario) == [409, 409, 403]
    assert runs_in(tmp_path / "state.sqlite3") == []


def test_a_ticket_sends_its_own_check_only_once(tmp_path: Path) -> None:
    async def scenario(client: Client) -> list[int]:
        check = await check_of(client)
        other = await check_of(client, "other.csv", b"phone,content\n+8613912345678,Hi\n")
        _, ticket = await confirmed(client, check)
        csrf = await csrf_of(client)
        wrong = await client.post(f"{other}/send", data={"csrf": csrf, "ticket": ticket})
        first = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket},
                                  allow_redirects=False)  # fmt: skip
        again = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket})
        # Once sending, the confirmation page of the check leads to the send, with no ticket.
        reopened = await client.get(f"{check}/confirm")
        assert reopened.url.path == first.headers["Location"]
        assert 'name="ticket"' not in await reopened.text()
        await finished(client, first.headers["Location"])
        return [wrong.status, first.status, again.status]

    assert run(config(tmp_path), scenario) == [409, 303, 409]
    assert len(runs_in(tmp_path / "state.sqlite3")) == 1


def test_a_second_send_of_a_campaign_being_sent_is_refused(tmp_path: Path) -> None:
    async def scenario(client: Client) -> tuple[int, int, str]:
        check = await check_of(client)
        _, one = await confirmed(client, check)
        csrf = await csrf_of(client)
        page = await client.get(f"{check}/confirm")  # opened twice, before the first send
        two = re.search(r'name="ticket" value="([^"]+)"', await page.text())
        assert two
        first = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": one},
                                  allow_redirects=False)  # fmt: skip
        second = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": two.group(1)})
        await finished(client, first.headers["Location"])
        return first.status, second.status, await second.text()

    first, second, page = run(config(tmp_path), scenario)
    assert (first, second) == (303, 409)
    assert "being sent already; nothing was sent twice" in page
    assert len(runs_in(tmp_path / "state.sqlite3")) == 1


def test_a_stale_confirmation_sends_nothing(tmp_path: Path) -> None:
    """Between the check and the send, the CLI sent some of the same texts: the plan the user
    confirmed no longer holds, so the web send stops before making a run."""
    lines = "phone,content\n+8613912345678,Hello\n+8613912345679,Hello\n"
    (tmp_path / "earlier.csv").write_text(lines.splitlines()[0] + "\n" + lines.splitlines()[1])

    async def scenario(client: Client) -> dict[str, Any]:
        check = await check_of(client, "list.csv", lines.encode())
        _, ticket = await confirmed(client, check)
        result = await asyncio.to_thread(CliRunner().invoke, cli, [
            "send", str(tmp_path / "earlier.csv"), "--sandbox", "--yes",
            "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state.sqlite3"),
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        csrf = await csrf_of(client)
        sent = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket},
                                 allow_redirects=False)  # fmt: skip
        return await finished(client, sent.headers["Location"])

    now = run(config(tmp_path), scenario)
    assert now["state"] == "cancelled"
    assert "the plan changed since the check: 1 messages" in now["error"]
    assert "nothing was sent" in now["error"]
    assert len(runs_in(tmp_path / "state.sqlite3")) == 1  # the CLI's only


def test_a_file_sent_already_cannot_be_sent_again(tmp_path: Path) -> None:
    """Its check shows every row that reached its number as a duplicate (as `validate` does),
    and with nothing to send its confirmation leads back to the check."""

    async def scenario(client: Client) -> tuple[str, str]:
        check = await check_of(client)
        _, ticket = await confirmed(client, check)
        csrf = await csrf_of(client)
        sent = await client.post(f"{check}/send", data={"csrf": csrf, "ticket": ticket},
                                 allow_redirects=False)  # fmt: skip
        await finished(client, sent.headers["Location"])
        again = await check_of(client)
        confirm = await client.get(f"{again}/confirm")
        assert confirm.url.path == again
        return await (await client.get(again)).text(), await confirm.text()

    page, confirm = run(config(tmp_path), scenario)
    shown = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "3 invalid rows 26 duplicate rows" in shown
    assert "same text already sent to this number in run" in shown
    assert "Continue to send" not in page
    assert 'name="ticket"' not in confirm
    assert len(runs_in(tmp_path / "state.sqlite3")) == 1


def test_progress_of_a_send_never_started_is_404(tmp_path: Path) -> None:
    async def scenario(client: Client) -> list[int]:
        return [(await client.get(p)).status for p in ("/sends/nope", "/sends/nope/progress")]

    assert run(config(tmp_path), scenario) == [404, 404]


def test_resume_of_a_run_another_process_is_sending_is_refused(tmp_path: Path) -> None:
    """The CLI and the web share one state db and one run lock: the web says who holds it."""
    from batch_sms.commands.runner import run_lock

    cli_run = CliRunner().invoke(cli, [
        "send", str(SAMPLE), "--sandbox", "--yes", "--tps", "unlimited",
        "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state.sqlite3"),
    ])  # fmt: skip
    assert cli_run.exit_code == 0, cli_run.output
    [(run_id, _)] = runs_in(tmp_path / "state.sqlite3")
    journal = Journal(tmp_path / "state.sqlite3")
    try:
        info = journal.get_run(run_id)
    finally:
        journal.close()

    async def scenario(client: Client) -> dict[str, Any]:
        csrf = await csrf_of(client)
        pressed = await client.post(f"/runs/{run_id}/resume", data={"csrf": csrf},
                                    allow_redirects=False)  # fmt: skip
        assert pressed.status == 303
        return await finished(client, pressed.headers["Location"])

    with run_lock(info, tmp_path / "state.sqlite3"):
        now = run(config(tmp_path), scenario)
    assert now["state"] == "error"
    assert f"run {run_id} is being sent right now by batch-sms process" in now["error"]


def test_stop_button_stops_like_ctrl_c_and_the_cli_resumes_the_run(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    handle = make_sandbox(latency=0.05)

    async def scenario(client: Client) -> tuple[dict[str, Any], int]:
        where = await sending(client, tmp_path)
        live = await (await client.get(where)).text()
        assert f'action="{where}/stop"' in live  # the button, with the page's CSRF token
        found = re.search(r'name="csrf" value="([^"]+)"', live)
        assert found
        pressed = await client.post(f"{where}/stop", data={"csrf": found.group(1)},
                                    allow_redirects=False)  # fmt: skip
        assert pressed.status == 303
        assert pressed.headers["Location"] == where
        now = await finished(client, where)
        ended = await (await client.get(where)).text()
        assert f'action="{where}/stop"' not in ended  # nothing left to stop
        assert f'action="/runs/{now["run_id"]}/resume"' in ended  # but the run to resume
        again = await client.post(f"{where}/stop", data={"csrf": found.group(1)},
                                  headers={"Accept": "application/json"})  # fmt: skip
        assert (await again.json())["stopped"] is False
        page = await client.post(f"{where}/stop", data={"csrf": found.group(1)})
        assert page.status == 409
        assert "there is nothing to stop" in await page.text()
        report = await client.get(now["files"][0]["href"])  # the report of the stopped run
        assert report.status == 200
        assert results_sheet(await report.read(), tmp_path / "stopped.xlsx")[1:]
        return now, again.status

    now, again = run(sandbox_config(tmp_path, handle), scenario)
    assert again == 409
    assert now["state"] == "interrupted", now
    sent = now["counts"].get("sent", 0)
    assert 0 < sent < STOP_ROWS, now
    assert now["counts"].get("pending", 0) == STOP_ROWS - sent
    assert [f["kind"] for f in now["files"]][:1] == ["report"]
    assert runs_in(tmp_path / "state.sqlite3") == [(now["run_id"], "interrupted")]
    assert len(handle.sandbox.accepted) == sent
    # The CLI finishes the run on the same state db: every row accepted exactly once.
    result = run_cli(
        ["resume", now["run_id"], "--base-url", handle.url, "--state",
         str(tmp_path / "state.sqlite3"), "--out", str(tmp_path / "out"), "--settle", "0",
         "--tps", "unlimited", "--json"],
        env=env_for(handle),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert last_json(result)["counts"] == {"sent": STOP_ROWS}
    assert sorted(accepted_counts(handle).values()) == [1] * STOP_ROWS


def test_stop_without_the_csrf_token_is_refused_and_stops_nothing(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    handle = make_sandbox(latency=0.05)

    async def scenario(client: Client) -> tuple[int, int, dict[str, Any]]:
        where = await sending(client, tmp_path)
        job = client.server.app[STATE].sends[where.rsplit("/", 1)[1]]
        forged = await client.post(f"{where}/stop", data={})
        wrong = await client.post(f"{where}/stop", data={"csrf": "forged"})
        state_then = job.state
        assert state_then == "sending"
        return forged.status, wrong.status, await finished(client, where)

    forged, wrong, now = run(sandbox_config(tmp_path, handle), scenario)
    assert (forged, wrong) == (403, 403)
    assert now["state"] == "finished", now
    assert now["counts"] == {"sent": STOP_ROWS}
    assert sorted(accepted_counts(handle).values()) == [1] * STOP_ROWS


def test_stop_of_a_send_never_started_is_404(tmp_path: Path) -> None:
    async def scenario(client: Client) -> int:
        csrf = await csrf_of(client)
        return (await client.post("/sends/nope/stop", data={"csrf": csrf})).status

    assert run(config(tmp_path), scenario) == 404


# 03:00 in Shanghai is 14:00 in New York (19:00 UTC); Shanghai's quiet hours end at 00:00 UTC.
AT_3_IN_SHANGHAI = datetime(2026, 11, 30, 19, 0, tzinfo=UTC).timestamp()
AT_8_IN_SHANGHAI = datetime(2026, 12, 1, 0, 0, tzinfo=UTC).timestamp()
CN, US = ["8613800138000", "8613900139000"], ["12015550123", "12125550198"]
GONE = {"sent", "delivered"}  # accepted by the sandbox (its receipts may have come)


async def send_confirmed(client: Client, check: str) -> str:
    """Confirm and send a check; the path of its run page."""
    _, ticket = await confirmed(client, check)
    sent = await client.post(f"{check}/send", data={"csrf": await csrf_of(client),
                             "ticket": ticket}, allow_redirects=False)  # fmt: skip
    assert sent.status == 303, await sent.text()
    return str(sent.headers["Location"])


async def follow_up(client: Client, run_id: str, **fields: str) -> str:
    """Press a run's Resume button (with `fields`); the path of the resume's page."""
    data = {"csrf": await csrf_of(client), **fields}
    pressed = await client.post(f"/runs/{run_id}/resume", data=data, allow_redirects=False)
    assert pressed.status == 303, await pressed.text()
    return str(pressed.headers["Location"])


def test_quiet_hours_hold_the_chinese_rows_and_the_run_page_says_when_to_resume(
    tmp_path: Path, sandboxes: list[SandboxHandle]
) -> None:
    """Issue 11's must-show in the browser: sent while it is 03:00 in Shanghai and 14:00 in New
    York, the US rows go, the Chinese rows end scheduled for 08:00 Shanghai time, and Resume at
    a time inside the window sends them, each once."""
    clock = FakeClock(AT_3_IN_SHANGHAI)
    rows = [[p, "Hello"] for p in [CN[0], US[0], CN[1], US[1]]]
    campaign = write_csv(tmp_path / "mixed.csv", ["phone", "content"], rows)
    held = "2026-12-01 00:00 UTC (2026-12-01 08:00 Asia/Shanghai)"

    async def scenario(client: Client) -> tuple[str, str, dict[str, Any], str, dict[str, Any]]:
        check = await check_of(client, campaign.name, campaign.read_bytes(),
                               quiet_hours="21:00-08:00")  # fmt: skip
        check_page = await (await client.get(check)).text()
        confirm_page, _ = await confirmed(client, check)
        where = await send_confirmed(client, check)
        first = await finished(client, where)
        run_page = await (await client.get(where)).text()
        clock.advance(AT_8_IN_SHANGHAI + 300 - clock())
        again = await finished(client, await follow_up(client, first["run_id"]))
        return check_page, confirm_page, first, run_page, again

    check_page, confirm_page, first, run_page, again = run(
        replace(config(tmp_path), clock=clock), scenario
    )
    said = (
        "quiet hours 21:00-08:00 (recipient's time): 2 messages are held now; the first may go "
        f"from {held}"
    )
    assert said in page_text(check_page)
    assert f"send window {said}" in page_text(confirm_page)
    assert first["state"] == "finished"
    assert first["counts"]["scheduled"] == 2
    assert sum(n for s, n in first["counts"].items() if s in GONE) == 2
    shown = page_text(run_page)
    assert '<li class="tile status-scheduled"><span class="big">2</span> scheduled</li>' in run_page
    assert (
        "2 messages wait for a send window: the first may go from 2026-12-01 00:00:00 UTC (in 5h "
        "00m 00s). Resume the run then" in shown
    )
    assert f'action="/runs/{first["run_id"]}/resume"' in run_page
    assert sum(n for s, n in again["counts"].items() if s in GONE) == 4
    assert again["held"] == ""
    send, resume = sandboxes[-2:]  # (the first answered the check's balance)
    assert accepted_counts(send) + accepted_counts(resume) == {(p, "Hello"): 1 for p in CN + US}
    assert sorted(m.phone for m in resume.sandbox.accepted) == sorted(CN)


def test_a_failed_canary_shows_its_reason_and_resumes_without_the_canary(
    tmp_path: Path, sandboxes: list[SandboxHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    undelivering = functools.partial(server.SandboxConfig, dr_delivered_share=0.0)
    monkeypatch.setattr(sending_use_case.server, "SandboxConfig", undelivering)
    rows = [[p, "Hello"] for p in cn_numbers(8)]
    campaign = write_csv(tmp_path / "canary.csv", ["phone", "content"], rows)

    async def scenario(client: Client) -> tuple[str, str, dict[str, Any], str, dict[str, Any]]:
        check = await check_of(client, campaign.name, campaign.read_bytes(), canary="3",
                               canary_wait="60")  # fmt: skip
        confirm_page, _ = await confirmed(client, check)
        where = await send_confirmed(client, check)
        stopped = await finished(client, where)
        run_page = await (await client.get(where)).text()
        rest = await follow_up(client, stopped["run_id"], skip_canary="1")
        rest_page = await (await client.get(rest)).text()
        return confirm_page, run_page, stopped, rest_page, await finished(client, rest)

    confirm_page, run_page, stopped, rest_page, rest = run(config(tmp_path), scenario)
    assert (
        "canary canary: first 3 messages, wait up to 60 s, go on at >= 80% delivered; below "
        "that the run stops" in page_text(confirm_page)
    )
    assert stopped["state"] == "stopped"
    assert stopped["canary_failed"] is True
    assert stopped["counts"] == {"undelivered": 3, "pending": 5}
    reason = (
        "canary of 3: delivered 0, undelivered 3 (3× UNDELIV (status 5)), no receipt 0: only 0% "
        "of the receipts say delivered, below --canary-min-delivered 0.8"
    )
    assert f"Stopped: {reason}" in page_text(run_page)
    assert '<input type="hidden" name="skip_canary" value="1">' in run_page
    assert "Resume without the canary" in run_page
    assert "without its canary" in page_text(rest_page)
    assert rest["state"] == "finished"
    assert rest["counts"] == {"undelivered": 8}
    send, resume = sandboxes[-2:]  # (the first answered the check's balance)
    assert len(send.sandbox.accepted) == 3  # the canary only
    assert len(resume.sandbox.accepted) == 5  # the rest, and no canary again


def test_a_resume_of_a_failed_canary_without_skipping_it_says_why_and_sends_nothing(
    tmp_path: Path, sandboxes: list[SandboxHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    undelivering = functools.partial(server.SandboxConfig, dr_delivered_share=0.0)
    monkeypatch.setattr(sending_use_case.server, "SandboxConfig", undelivering)
    campaign = write_csv(tmp_path / "canary.csv", ["phone", "content"],
                         [[p, "Hello"] for p in cn_numbers(4)])  # fmt: skip

    async def scenario(client: Client) -> dict[str, Any]:
        check = await check_of(client, campaign.name, campaign.read_bytes(), canary="2")
        stopped = await finished(client, await send_confirmed(client, check))
        return await finished(client, await follow_up(client, stopped["run_id"]))

    again = run(config(tmp_path), scenario)
    assert again["state"] == "error"
    assert "was stopped by its canary" in again["error"]
    assert len(sandboxes) == 2  # the check's and the send's: the resume talked to none


def test_the_cost_ceiling_refuses_a_plan_above_it_on_the_check_page(tmp_path: Path) -> None:
    async def scenario(client: Client) -> tuple[str, int, str]:
        check = await check_of(client, max_cost="0.1")
        page = await (await client.get(check)).text()
        confirm = await client.get(f"{check}/confirm", allow_redirects=False)
        return page, confirm.status, confirm.headers.get("Location", "")

    page, status, location = run(config(tmp_path), scenario)
    shown = page_text(page)
    assert (
        "The send would refuse to start: --max-cost 0.1 USD: the estimated cost 0.2700 USD is "
        "above the ceiling by 0.1700 USD." in shown
    )
    assert "cost ceiling (--max-cost) 0.1000 USD headroom over by 0.1700 USD: send refuses" in (
        shown
    )
    assert "Continue to send" not in shown
    assert (status, location.endswith(check_id(page))) == (303, True)


def check_id(page: str) -> str:
    """The id of the check a Check page shows (from its report link)."""
    found = re.search(r'href="/checks/([^/"]+)/report"', page)
    assert found, page
    return found.group(1)


def test_a_run_stopped_by_its_cost_ceiling_shows_why(tmp_path: Path) -> None:
    """Prices at half the simulator's tariff: the estimate fits under the ceiling, the receipts
    bill more, and the run stops before the cost so far passes it."""
    settings = replace(web_settings(tmp_path, sandbox=True),
                       prices=Prices(default=0.005, currency="USD"))  # fmt: skip
    campaign = write_csv(tmp_path / "list.csv", ["phone", "content"],
                         [[p, "Hi"] for p in cn_numbers(40)])  # fmt: skip

    async def scenario(client: Client) -> tuple[str, str, dict[str, Any], str]:
        check = await check_of(client, campaign.name, campaign.read_bytes(), max_cost="0.21",
                               tps="10")  # fmt: skip
        confirm_page, _ = await confirmed(client, check)
        check_page = await (await client.get(check)).text()
        where = await send_confirmed(client, check)
        stopped = await finished(client, where)
        return check_page, confirm_page, stopped, await (await client.get(where)).text()

    check_page, confirm_page, stopped, run_page = run(WebConfig(settings), scenario)
    assert "cost ceiling (--max-cost) 0.2100 USD headroom 0.0100 USD" in page_text(check_page)
    assert "cost ceiling 0.2100 USD: the send stops before its cost would pass it (headroom " \
        "0.0100 USD)" in page_text(confirm_page)  # fmt: skip
    assert stopped["state"] == "stopped"
    assert stopped["stop_reason"].startswith("cost ceiling 0.21 USD reached")
    assert f"Stopped: {stopped['stop_reason']}" in page_text(run_page)
    assert f'action="/runs/{stopped["run_id"]}/resume"' in run_page
    assert "skip_canary" not in run_page


def test_rows_the_send_window_closed_on_end_expired_on_the_run_page(
    tmp_path: Path, sandboxes: list[SandboxHandle]
) -> None:
    clock = FakeClock(AT_3_IN_SHANGHAI)
    rows = [[p, "Hello"] for p in [CN[0], US[0]]]
    campaign = write_csv(tmp_path / "late.csv", ["phone", "content"], rows)

    async def scenario(client: Client) -> tuple[str, dict[str, Any], str]:
        window = {"quiet_hours": "21:00-08:00", "send_until": "2026-11-30 23:00 UTC"}
        check = await check_of(client, campaign.name, campaign.read_bytes(), **window)
        check_page = await (await client.get(check)).text()
        where = await send_confirmed(client, check)
        ended = await finished(client, where)
        return check_page, ended, await (await client.get(where)).text()

    check_page, ended, run_page = run(replace(config(tmp_path), clock=clock), scenario)
    assert "1 messages would end expired: they cannot go before --send-until 2026-11-30 23:00 " \
           "UTC" in page_text(check_page)  # fmt: skip
    assert ended["counts"]["expired"] == 1
    assert sum(n for s, n in ended["counts"].items() if s in GONE) == 1
    assert '<li class="tile status-expired"><span class="big">1</span> expired</li>' in run_page
    assert [m.phone for m in sandboxes[-1].sandbox.accepted] == [US[0]]
