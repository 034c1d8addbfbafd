"""Quiet hours and the send window through the use cases, on an injected clock against a real
sandbox: held rows end scheduled with when and why, resume sends them inside their window, each
accepted once; --wait, --send-until, retry keeping the window, and the plan's line."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    DATA,
    FakeClock,
    SandboxMaker,
    accepted_counts,
    env_for,
    last_json,
    read_results,
    run_cli,
    write_csv,
)
from openpyxl import load_workbook

from batch_sms.checks.preflight import Plan
from batch_sms.commands import campaign, schedule
from batch_sms.config import Settings, load_settings
from batch_sms.errors import UsageError
from batch_sms.models import STATUS_RGB, Status
from batch_sms.sandbox.server import SandboxHandle

CN1, CN2 = "8613800138000", "8613900139000"
US1, US2 = "12015550123", "12125550198"
# 03:00 in Shanghai is 14:00 in New York (19:00 UTC); Shanghai's quiet hours end at 00:00 UTC.
AT_3_IN_SHANGHAI = datetime(2026, 11, 30, 19, 0, tzinfo=UTC).timestamp()
AT_8_IN_SHANGHAI = datetime(2026, 12, 1, 0, 0, tzinfo=UTC).timestamp()
HELD = "2026-12-01 00:00 UTC (2026-12-01 08:00 Asia/Shanghai)"


class Ui:
    """Confirms, and keeps the plans and notes it was shown."""

    def __init__(self) -> None:
        self.plans: list[Plan] = []
        self.notes: list[str] = []

    def confirm(self, plan: Plan) -> bool:
        self.plans.append(plan)
        return True

    def progress(self, update: Any) -> None:
        """Not looked at here."""

    def note(self, text: str) -> None:
        self.notes.append(text)

    def stop_with(self, stop: Callable[[], None]) -> None:
        """Nothing here stops a send early."""


def settings(tmp_path: Path, handle: SandboxHandle, **options: Any) -> Settings:
    """A list of Chinese and US mobiles, sent to `handle` with the state under tmp_path."""
    path = write_csv(
        tmp_path / "list.csv",
        ("phone", "name"),
        [(f"+{CN1}", "Li"), (f"+{US1}", "Ann"), (f"+{CN2}", "Wang"), (f"+{US2}", "Bob")],
    )
    given = {"input": path, "out": tmp_path / "rep", "state": tmp_path / "state.db",
             "template": "Hi {{ name }}", "base_url": handle.url, "yes": True,
             "quiet_hours": "21:00-08:00", **options}  # fmt: skip
    return load_settings(given, environ=env_for(handle), cwd=tmp_path)


def statuses(report: Path | None) -> dict[str, str]:
    """sms_status by phone cell."""
    assert report is not None
    return {row["phone"]: row["sms_status"] for row in read_results(report)}


def test_must_show_us_rows_go_chinese_rows_scheduled_for_8_then_resume_sends_them(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(hourly_cap=None)
    ui = Ui()
    sent = campaign.send(settings(tmp_path, handle), ui, clock=FakeClock(AT_3_IN_SHANGHAI))
    # The plan said how many are held and when the first may go.
    assert f"2 messages are held now; the first may go from {HELD}" in "\n".join(ui.plans[0].notes)
    assert (sent.status, sent.exit_code) == ("finished", 1)  # not done: rows wait for 08:00
    assert sent.counts == {"sent": 2, "scheduled": 2}
    assert statuses(sent.report) == {
        f"+{CN1}": "scheduled", f"+{US1}": "sent", f"+{CN2}": "scheduled", f"+{US2}": "sent",
    }  # fmt: skip
    errors = [r["sms_error"] for r in read_results(sent.report) if r["sms_status"] == "scheduled"]
    assert errors == [f"quiet hours 21:00-08:00: may go from {HELD}"] * 2
    assert sorted(p for p, _ in accepted_counts(handle)) == [US1, US2]
    resume = (
        f"batch-sms resume {sent.run_id} --out {tmp_path / 'rep'} --state {tmp_path / 'state.db'}"
    )
    step = next(s for s in sent.next_steps if "scheduled" in s)
    assert "the first may go from 2026-12-01 00:00:00 UTC (in 5h 00m 00s)" in step
    assert resume in step

    base = Settings(out=tmp_path / "rep", state=tmp_path / "state.db", yes=True,
                    base_url=handle.url, credentials=handle.credentials)  # fmt: skip
    # 07:00 in Shanghai: still quiet; resume holds them again and sends nothing.
    early = campaign.resume(sent.run_id, base, Ui(), clock=FakeClock(AT_8_IN_SHANGHAI - 3600))
    assert (early.exit_code, early.counts) == (1, {"sent": 2, "scheduled": 2})
    assert len(handle.sandbox.accepted) == 2

    # 08:05 in Shanghai: inside the window; the Chinese rows go, each once.
    later = campaign.resume(sent.run_id, base, Ui(), clock=FakeClock(AT_8_IN_SHANGHAI + 300))
    assert (later.status, later.exit_code, later.counts) == ("finished", 0, {"sent": 4})
    assert set(statuses(later.report).values()) == {"sent"}
    assert accepted_counts(handle) == {(p, t): 1 for p, t in accepted_counts(handle)}
    assert sorted(p for p, _ in accepted_counts(handle)) == sorted([CN1, CN2, US1, US2])


def test_wait_keeps_running_until_the_window_opens(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(hourly_cap=None)
    ui, clock = Ui(), FakeClock(AT_3_IN_SHANGHAI)
    outcome = campaign.send(settings(tmp_path, handle, wait=True), ui, clock=clock)
    assert (outcome.exit_code, outcome.counts) == (0, {"sent": 4})
    assert clock.now == AT_8_IN_SHANGHAI  # it waited on the injected clock, to the minute
    waits = [n for n in ui.notes if n.startswith("waiting for the next window")]
    assert waits == [
        "waiting for the next window: 2026-12-01 00:00:00 UTC (in 5h 00m 00s); Ctrl-C stops, "
        f"batch-sms resume {outcome.run_id} --out {tmp_path / 'rep'} --state "
        f"{tmp_path / 'state.db'} continues"
    ]
    assert sorted(accepted_counts(handle).values()) == [1, 1, 1, 1]
    assert not [s for s in outcome.next_steps if "scheduled" in s]


def test_send_until_expires_rows_that_cannot_go_in_time(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(hourly_cap=None)
    given = settings(tmp_path, handle, send_until="2026-11-30 23:00 UTC")
    ui = Ui()
    outcome = campaign.send(given, ui, clock=FakeClock(AT_3_IN_SHANGHAI))
    assert "2 messages would end expired" in "\n".join(ui.plans[0].notes)
    assert (outcome.exit_code, outcome.counts) == (1, {"sent": 2, "expired": 2})
    assert outcome.files is not None
    assert outcome.files.failed is not None
    assert outcome.files.failed.read_text(encoding="utf-8").count("+86") == 2  # to send again
    # The report: coloured status cells, and the statuses on the Summary sheet.
    book = load_workbook(outcome.files.report)
    cells = {row[2].value: row[2].fill.fgColor.rgb for row in book["Results"].iter_rows(min_row=2)}
    assert cells == {"sent": "00" + STATUS_RGB[Status.SENT],
                     "expired": "00" + STATUS_RGB[Status.EXPIRED]}  # fmt: skip
    summary = [
        [c for c in row if c is not None] for row in book["Summary"].iter_rows(values_only=True)
    ]
    assert ["expired", 2, 0.5] in summary
    assert sorted(p for p, _ in accepted_counts(handle)) == [US1, US2]
    # Never sent late: a resume inside the Shanghai window leaves them expired.
    base = Settings(out=tmp_path / "rep", state=tmp_path / "state.db", yes=True,
                    base_url=handle.url, credentials=handle.credentials)  # fmt: skip
    late = campaign.resume(outcome.run_id, base, Ui(), clock=FakeClock(AT_8_IN_SHANGHAI + 60))
    assert late.counts == {"sent": 2, "expired": 2}
    assert len(handle.sandbox.accepted) == 2


def test_retry_keeps_the_window_of_its_run(tmp_path: Path, make_sandbox: SandboxMaker) -> None:
    handle = make_sandbox(hourly_cap=None)
    first = campaign.send(settings(tmp_path, handle), Ui(), clock=FakeClock(AT_3_IN_SHANGHAI))
    base = Settings(out=tmp_path / "rep", state=tmp_path / "state.db", yes=True,
                    base_url=handle.url, credentials=handle.credentials)  # fmt: skip
    again = campaign.retry(
        first.run_id, base, Ui(), statuses=[Status.SCHEDULED],
        clock=FakeClock(AT_3_IN_SHANGHAI + 600),
    )  # fmt: skip
    assert again.counts == {"scheduled": 2}  # still 03:10 in Shanghai: held again
    assert len(handle.sandbox.accepted) == 2
    # A window given on the command line overrides the run's own.
    opened = campaign.retry(
        again.run_id, replace(base, quiet_hours="01:00-02:00"), Ui(),
        statuses=[Status.SCHEDULED], given=["quiet_hours"],
        clock=FakeClock(AT_3_IN_SHANGHAI + 600),
    )  # fmt: skip
    assert opened.counts == {"sent": 2}
    assert sorted(accepted_counts(handle).values()) == [1, 1, 1, 1]


def test_validate_shows_the_held_messages_in_its_plan(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    given = settings(tmp_path, make_sandbox(), default_timezone="Asia/Tokyo")
    outcome = campaign.validate(given, clock=FakeClock(AT_3_IN_SHANGHAI))
    assert outcome.plan is not None
    assert outcome.plan.notes[-1] == (
        "quiet hours 21:00-08:00 (recipient's time): 2 messages are held now; the first may go "
        f"from {HELD}"
    )
    assert outcome.counts == {"ready": 4}


def test_bad_window_values_stop_before_anything_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.csv"
    for options, what in [
        ({"quiet_hours": "9pm-8am"}, "--quiet-hours"),
        ({"default_timezone": "Mars/Base"}, "--default-timezone"),
        ({"not_before": "soon"}, "--not-before"),
        ({"recipient_time": True}, "--recipient-time"),
        ({"not_before": "2026-12-02 09:00 UTC", "send_until": "2026-12-01 09:00 UTC"},
         "--send-until"),
    ]:  # fmt: skip
        with pytest.raises(UsageError, match=what):
            campaign.validate(Settings(input=missing, out=tmp_path, **options))


def test_no_window_makes_no_gate_and_no_plan_line() -> None:
    assert schedule.gates(Settings()) == ()
    assert schedule.plan_lines(Settings(), [], AT_3_IN_SHANGHAI) == []
    assert len(schedule.gates(Settings(quiet_hours="21:00-08:00"))) == 1


# --- the command line -----------------------------------------------------------------------


def cli_list(tmp_path: Path) -> list[str]:
    """The list and the folders of a CLI run under tmp_path."""
    path = write_csv(tmp_path / "cli.csv", ("phone", "name"), [(f"+{CN1}", "Li"), (f"+{US1}", "A")])
    out, state = tmp_path / "rep", tmp_path / "state.db"
    return [str(path), "--template", "Hi {{ name }}", "--out", str(out), "--state", str(state)]


def test_cli_refuses_a_bad_quiet_hours_value(tmp_path: Path) -> None:
    result = run_cli(["validate", *cli_list(tmp_path), "--quiet-hours", "9pm-8am"])
    assert result.exit_code == 2
    assert "--quiet-hours: '9pm-8am' is not a time range" in result.output


def test_cli_send_holds_until_not_before_and_resume_keeps_the_window(tmp_path: Path) -> None:
    later = "2099-01-01 09:00 UTC"
    args = [*cli_list(tmp_path), "--sandbox", "--yes", "--json"]
    sent = run_cli(["send", *args, "--quiet-hours", "21:00-08:00", "--not-before", later])
    assert sent.exit_code == 1
    outcome = last_json(sent)
    assert outcome["counts"] == {"scheduled": 2}
    assert "2 messages are held now; the first may go from 2099-01-01 09:00 UTC" in sent.output
    assert any("scheduled" in step and "batch-sms resume" in step for step in outcome["next"])
    state = ["--out", str(tmp_path / "rep"), "--state", str(tmp_path / "state.db"), "--sandbox"]
    resumed = run_cli(["resume", outcome["run_id"], *state, "--yes", "--json"])
    assert (resumed.exit_code, last_json(resumed)["counts"]) == (1, {"scheduled": 2})
    listed = run_cli(["runs", *state, "--json"])
    assert last_json(listed)["runs"][0]["counts"] == {"scheduled": 2}


def test_cli_reads_the_window_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "batch-sms.toml"
    config.write_text(
        'quiet_hours = "21:00-08:00"\ndefault_timezone = "Asia/Tokyo"\n'
        'not_before = "2099-01-01 09:00 UTC"\n',
        encoding="utf-8",
    )
    result = run_cli(["validate", *cli_list(tmp_path), "--config", str(config)])
    assert result.exit_code == 0
    assert "2 messages are held now" in result.output


def test_a_time_without_zone_is_kept_with_the_machines_offset(
    tmp_path: Path, make_sandbox: SandboxMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        handle = make_sandbox(hourly_cap=None)
        given = settings(tmp_path, handle, not_before="2026-12-01 09:00")
        sent = campaign.send(given, Ui(), clock=FakeClock(AT_3_IN_SHANGHAI))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert sent.counts == {"scheduled": 4}
    listed = run_cli(["runs", "--state", str(tmp_path / "state.db"), "--json"])
    assert last_json(listed)["runs"][0]["counts"] == {"scheduled": 4}
    rows = read_results(sent.report) if sent.report else []
    assert rows[0]["sms_error"].startswith("--not-before 2026-12-01 09:00 -05:00")


def _canary_settings(tmp_path: Path, name: str, **options: Any) -> Settings:
    """A --sandbox run of tests/data/`name` with a canary (its receipts come from the simulator)
    and quiet hours."""
    path = shutil.copy(DATA / name, tmp_path)
    given = {"input": path, "out": tmp_path / "rep", "state": tmp_path / "state.db",
             "template": "Hi {{ name }}", "sandbox": True, "yes": True, "tps": "unlimited",
             "quiet_hours": "21:00-08:00", "canary_wait": 3, **options}  # fmt: skip
    return load_settings(given, environ={}, cwd=tmp_path)


def test_a_canary_goes_to_numbers_outside_their_quiet_hours(tmp_path: Path) -> None:
    given = _canary_settings(tmp_path, "canary_quiet_hours.csv", canary=2)  # CN, US, CN, US
    ui = Ui()
    sent = campaign.send(given, ui, clock=FakeClock(AT_3_IN_SHANGHAI))
    # Both US numbers (14:00 in New York) made the canary, not a Chinese one held until 08:00.
    decided = next(n for n in ui.notes if n.startswith("canary of 2"))
    assert decided.startswith("canary of 2: delivered 2, undelivered 0, no receipt 0:")
    assert (sent.exit_code, sent.counts) == (1, {"delivered": 2, "scheduled": 2})


def test_a_canary_held_by_quiet_hours_waits_for_its_window_instead_of_failing(
    tmp_path: Path,
) -> None:
    given = _canary_settings(tmp_path, "canary_all_in_quiet_hours.csv", canary=1)
    ui = Ui()
    held = campaign.send(given, ui, clock=FakeClock(AT_3_IN_SHANGHAI))
    # Nothing could go at 03:00 in Shanghai: the canary waits, and the run with it. The run is
    # stopped (resumable), not finished: its other row is no failure to send again.
    assert (held.status, held.exit_code) == ("stopped", 3)
    assert held.counts == {"scheduled": 1, "pending": 1}
    assert not [n for n in ui.notes if n.startswith("canary of")]  # no verdict without receipts
    assert held.stop_reason == (
        "canary: 1 of its 1 messages wait for their send window (quiet hours or --not-before), "
        f"the first may go from {utc(AT_8_IN_SHANGHAI)}; the rest of the run goes only after "
        "the canary"
    )
    resume = f"batch-sms resume {held.run_id} --out {tmp_path / 'rep'} --state " + str(
        tmp_path / "state.db"
    )
    assert held.next_steps == [f"continue with: {resume} --sandbox"]

    base = Settings(out=tmp_path / "rep", state=tmp_path / "state.db", yes=True)
    later = campaign.resume(held.run_id, base, Ui(), clock=FakeClock(AT_8_IN_SHANGHAI + 300))
    assert (later.status, later.exit_code, later.counts) == ("finished", 0, {"delivered": 2})


def test_with_wait_a_held_canary_goes_when_its_window_opens_then_the_rest(
    tmp_path: Path,
) -> None:
    given = _canary_settings(tmp_path, "canary_all_in_quiet_hours.csv", canary=1, wait=True)
    ui, clock = Ui(), FakeClock(AT_3_IN_SHANGHAI)
    outcome = campaign.send(given, ui, clock=clock)
    assert (outcome.exit_code, outcome.counts) == (0, {"delivered": 2})
    assert clock.now == AT_8_IN_SHANGHAI  # it waited on the injected clock, to the minute
    decided = [n for n in ui.notes if n.startswith("canary of 1")]
    assert decided == [
        "canary of 1: delivered 1, undelivered 0, no receipt 0: 100% of the receipts say "
        "delivered; sending the rest"
    ]


def utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
