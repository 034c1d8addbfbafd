"""batch_sms.web.sends: a send's job, its Ui, the run it made (known while it sends), and its
counts after the end, which receipts arriving later move on (for a bounded time)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import FakeClock, cn_numbers, write_csv
from webclient import (
    Client,
    finished,
    results_sheet,
    run,
    sandbox_config,
    send_file,
    sending,
    web_settings,
)

from batch_sms.errors import StateError
from batch_sms.provider.receipts import running_receiver
from batch_sms.sandbox.server import SandboxHandle
from batch_sms.web import sends
from batch_sms.web.state import STATE


def outcome(counts: dict[str, int], run_id: str = "r1", status: str = "finished") -> Any:
    """A use case's outcome with these counts (no files)."""
    return SimpleNamespace(run_id=run_id, status=status, counts=counts, files=None,
                           next_steps=[], plan=None, stop_reason="")  # fmt: skip


def test_web_ui_goes_ahead_only_with_the_plan_confirmed() -> None:
    ui = sends.WebUi(confirmed=(25, 27))
    assert ui.confirm(SimpleNamespace(messages_ready=25, segments_ready=27))
    assert not ui.confirm(SimpleNamespace(messages_ready=24, segments_ready=26))
    assert "24 messages (26 segments) now, 25 (27) confirmed; nothing was sent" in ui.changed
    assert sends.WebUi().confirm(SimpleNamespace(messages_ready=1, segments_ready=1))


def test_web_ui_keeps_the_latest_twenty_notes_and_the_stop() -> None:
    ui = sends.WebUi()
    for i in range(25):
        ui.note(f"note {i}")
    assert ui.notes == [f"note {i}" for i in range(5, 25)]
    pressed: list[bool] = []
    ui.stop_with(lambda: pressed.append(True))
    assert ui.stop is not None
    ui.stop()
    assert pressed == [True]


def test_snapshot_while_sending_then_ended() -> None:
    ui = sends.WebUi()
    job = sends.SendJob("j1", "list.csv", ui, expected=10, run_id="r1")
    ui.progress(SimpleNamespace(done=4, total=10, counts={"sent": 4, "pending": 6}, rate=2.04,
                                eta=3.2))  # fmt: skip
    now = job.snapshot()
    assert (now["state"], now["watch"], now["run_id"]) == ("sending", True, "r1")
    assert (now["done"], now["total"], now["rate"], now["eta"]) == (4, 10, 2.0, 3)
    assert now["counts"] == {"sent": 4, "pending": 6}
    job.outcome = outcome({"delivered": 10, "invalid": 0})
    now = job.snapshot()
    assert (now["state"], now["watch"], now["eta"]) == ("finished", False, None)
    assert now["counts"] == {"delivered": 10}


def test_chart_bars_in_the_status_order_scaled_to_the_largest() -> None:
    job = sends.SendJob("j1", "list.csv", sends.WebUi())
    assert job.chart() == []
    job.outcome = outcome({"delivered": 20, "invalid": 5, "duplicate": 0})
    assert job.chart() == [("invalid", 5, 25.0), ("delivered", 20, 100.0)]


def test_receipts_are_watched_for_a_bounded_time_after_the_end() -> None:
    clock = FakeClock(1000.0)
    job = sends.SendJob("j1", "list.csv", sends.WebUi(), clock=clock)
    assert job.started == 1000.0
    job.outcome, job.ended = outcome({"sent": 3}), clock()
    assert job.watching()
    assert job.snapshot()["watch"] is True
    clock.advance(sends.WATCH_SECONDS - 1)
    assert job.watching()
    clock.advance(1)
    assert not job.watching()
    job.outcome, job.ended = outcome({"delivered": 3}), clock()
    assert not job.watching()  # nothing awaits a receipt
    job.outcome = outcome({"sent": 3}, run_id="", status="cancelled")
    assert not job.watching()  # no run


def test_an_error_ends_the_job_with_the_users_file_name(tmp_path: Path) -> None:
    stored = tmp_path / "0a1b.csv"

    def work() -> Any:
        raise sends.engine.InputError(f"{stored}: row 3 has no phone", "fix it")

    async def scenario() -> sends.SendJob:
        job = sends.start(sends.SendJob("j1", "list.csv", sends.WebUi(), stored=stored), work)
        assert job.task is not None
        await job.task
        return job

    job = asyncio.run(scenario())
    assert (job.state, job.error, job.hint) == ("error", "list.csv: row 3 has no phone", "fix it")
    assert job.ended is not None
    assert job.snapshot()["watch"] is False


def test_the_run_id_is_shown_while_the_send_goes_on(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    handle = make_sandbox(latency=0.05)

    async def scenario(client: Client) -> tuple[dict[str, Any], str, dict[str, Any]]:
        where = await sending(client, tmp_path)
        live = await (await client.get(f"{where}/progress")).json()
        page = await (await client.get(where)).text()
        job = client.server.app[STATE].sends[where.rsplit("/", 1)[1]]
        assert job.ui.stop is not None
        job.ui.stop()
        return live, page, await finished(client, where)

    live, page, ended = run(sandbox_config(tmp_path, handle), scenario)
    assert live["state"] == "sending"
    assert live["run_id"]
    assert live["run_id"] == ended["run_id"]
    assert f"run {live['run_id']}</span>" in page


def test_receipts_after_the_end_move_the_counts_on_without_a_new_send(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    """A provider pushing receipts a second after acceptance to a receipts server on the same
    state db: the send ends with its rows `sent`; its page's JSON then shows them delivered,
    and its report says so too."""
    handle = make_sandbox(dr_delay=1.0)
    rows = [[p, f"Offer {i}"] for i, p in enumerate(cn_numbers(3))]
    campaign = write_csv(tmp_path / "offers.csv", ["phone", "content"], rows)
    state = tmp_path / "state.sqlite3"

    async def scenario(client: Client) -> tuple[dict[str, Any], list[dict[str, Any]], bytes]:
        where = await send_file(client, campaign.name, campaign.read_bytes())
        ended = await finished(client, where)
        seen = [ended]
        deadline = asyncio.get_running_loop().time() + 30
        while seen[-1]["watch"]:
            assert asyncio.get_running_loop().time() < deadline, seen[-1]
            await asyncio.sleep(0.2)
            seen.append(await (await client.get(f"{where}/progress")).json())
        report = await client.get(seen[-1]["files"][0]["href"])
        assert report.status == 200
        return ended, seen, await report.read()

    with running_receiver(state) as receiver:
        config = sandbox_config(tmp_path, handle, dr_url=receiver.url)
        ended, seen, report = run(config, scenario)
    assert ended["state"] == "finished"
    assert ended["counts"] == {"sent": 3}  # the receipts come a second after acceptance
    assert ended["watch"] is True
    assert seen[-1]["counts"] == {"delivered": 3}
    # The summary's cost: no price is configured, and the receipts bill as they come.
    assert dict(ended["cost"])["billed so far"] == "no receipt has carried a price yet"
    assert dict(seen[-1]["cost"]) == {
        "estimated cost": "unknown (no price)",
        "billed so far": "0.0300 USD (3 messages with a price)",
    }
    assert seen[-1]["run_id"] == ended["run_id"]
    assert len(handle.sandbox.accepted) == 3  # no new send
    header, *body = results_sheet(report, tmp_path / "report.xlsx")
    column = header.index("sms_status")
    assert [r[column] for r in body] == ["delivered"] * 3  # the files were written again
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", ended["run_id"])


def test_notes_name_a_relative_output_folder_as_the_settings_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = web_settings(tmp_path)
    relative = replace(settings, out=Path("out"))
    ui = sends.WebUi()
    ui.note(f"the rows to fix or resend are in {tmp_path / 'out' / 'r1' / 'failed.xlsx'}")
    shown = sends.SendJob("j1", "list.csv", ui, settings=relative).snapshot()["notes"]
    assert shown == [f"the rows to fix or resend are in {Path('out', 'r1', 'failed.xlsx')}"]
    kept = sends.SendJob("j1", "list.csv", ui, settings=settings).snapshot()["notes"]
    assert kept == ui.notes  # an absolute output folder is shown as it is


def test_counts_stand_when_the_runs_files_cannot_be_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = web_settings(tmp_path)
    clock = FakeClock(1000.0)
    job = sends.SendJob("j1", "list.csv", sends.WebUi(), settings=settings, run_id="r1",
                        clock=clock)  # fmt: skip
    job.outcome, job.ended = outcome({"sent": 2}), clock()

    def refused(*_: object) -> Any:
        raise StateError("the run's input copy is gone")

    monkeypatch.setattr(sends.engine, "run_counts", lambda *_: {"delivered": 2})
    monkeypatch.setattr(sends.engine, "latest_errors", lambda *_: [])
    monkeypatch.setattr(sends.engine, "cost_of", lambda *_: [])
    monkeypatch.setattr(sends.engine, "rewrite_report", refused)
    job.refresh()
    now = job.snapshot()
    assert now["counts"] == {"delivered": 2}
    assert now["watch"] is False
    assert now["notes"] == ["the run's files were not written again: the run's input copy is gone"]


def test_the_run_page_lists_the_latest_errors_with_their_rows(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    """Rows the provider rejects (a forbidden word, code 4) show on the page and in its JSON
    with their row, code and reason; accepted rows do not."""
    handle = make_sandbox(forbidden=("casino",))
    texts = ["Offer 1", "casino night", "Offer 3", "Casino bonus"]
    rows = [[p, text] for p, text in zip(cn_numbers(4), texts, strict=True)]
    campaign = write_csv(tmp_path / "offers.csv", ["phone", "content"], rows)

    async def scenario(client: Client) -> tuple[dict[str, Any], str]:
        where = await send_file(client, campaign.name, campaign.read_bytes())
        ended = await finished(client, where)
        return ended, await (await client.get(where)).text()

    ended, page = run(sandbox_config(tmp_path, handle), scenario)
    assert ended["counts"]["failed"] == 2
    assert [(e["row"], e["code"]) for e in ended["errors"]] == [("5", "4"), ("3", "4")]
    assert "forbidden" in ended["errors"][0]["reason"]
    assert "Latest errors" in page
    assert re.search(r"<td>3</td><td>4</td><td>[^<]*forbidden", page)
    assert len(handle.sandbox.accepted) == 2
