"""batch_sms.web.engine, the web app's one door to the use cases: reading an upload, the
template preview, a form's settings, the check the Check page shows, and a run's files, counts
and the run a send made."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import FakeClock
from webclient import ROOT, SAMPLE, web_settings

from batch_sms.cli import cli
from batch_sms.commands import tariff
from batch_sms.web import engine

DATA = ROOT / "tests" / "data"
CSV_SAMPLE = ROOT / "samples" / "campaign.csv"


def test_inspect_a_csv_detects_its_phone_and_content_columns() -> None:
    view = engine.inspect(CSV_SAMPLE, "may.csv")
    assert view.sheets == ()
    assert view.columns == ("name", "phone", "country", "code", "content")
    assert view.rows == 29
    assert (view.phone, view.content) == ("phone", "content")


def test_inspect_a_workbook_lists_its_sheets_and_reads_the_one_chosen() -> None:
    view = engine.inspect(DATA / "two_sheets.xlsx", "two.xlsx")
    assert view.sheets == ("Notes", "Contacts")
    assert (view.sheet, view.columns, view.content) == ("Contacts", ("phone", "name"), None)
    with pytest.raises(engine.InputError) as empty:
        engine.inspect(DATA / "two_sheets.xlsx", "two.xlsx", "Notes")
    assert empty.value.message == 'two.xlsx: sheet "Notes" is empty'


def test_inspect_names_the_users_file_not_the_stored_one(tmp_path: Path) -> None:
    stored = tmp_path / "0a1b2c.csv"
    stored.write_bytes(b"")
    with pytest.raises(engine.BatchSmsError) as error:
        engine.inspect(stored, "my list.csv")
    assert "my list.csv" in error.value.message
    assert str(stored) not in error.value.message + (error.value.hint or "")


def test_preview_marks_the_characters_that_force_ucs2() -> None:
    rows = engine.preview(DATA / "ucs2_culprits.csv", None, "{{ content }}!\n", rows=2)
    assert rows[0] == {"row": 2, "text": "“Sale” ends today!", "encoding": "UCS-2",
                       "units": 18, "segments": 1, "ucs2": ["“", "”"]}  # fmt: skip
    assert rows[1]["ucs2"] == ["–"]


def test_preview_of_a_template_naming_a_missing_column_is_an_input_error() -> None:
    with pytest.raises(engine.InputError, match="nme"):
        engine.preview(CSV_SAMPLE, None, "Hi {{ nme }}")


def test_form_settings_take_the_rate_as_the_form_gives_it(tmp_path: Path) -> None:
    base = web_settings(tmp_path)
    assert engine.form_settings(base, tps="unlimited").tps is None
    assert engine.form_settings(base, tps=" 7.5 ").tps == 7.5
    assert engine.form_settings(base, tps="").tps == base.tps
    assert engine.form_settings(base, sender="Shop").sender == "Shop"
    with pytest.raises(engine.InputError, match="TPS 'fast' is not a number"):
        engine.form_settings(base, tps="fast")


def test_form_settings_price_a_sandbox_check_as_its_send_will(tmp_path: Path) -> None:
    assert engine.form_settings(web_settings(tmp_path, sandbox=True)).prices == (
        tariff.SANDBOX_PRICES
    )
    assert engine.form_settings(web_settings(tmp_path)).prices != tariff.SANDBOX_PRICES


def test_check_lists_the_rows_not_sent_with_their_phone_cells_marked(tmp_path: Path) -> None:
    settings = engine.form_settings(web_settings(tmp_path, sandbox=True), input=SAMPLE)
    found = engine.check(settings, "u1", "campaign.xlsx")
    assert (found.upload_id, found.name) == ("u1", "campaign.xlsx")
    assert found.counts == (("ready", 25), ("invalid", 3), ("duplicate", 1))
    phone = found.columns.index("phone")
    assert [(p.row, p.status, p.marked) for p in found.problems] == [
        (25, "invalid", frozenset({phone})),
        (26, "duplicate", frozenset({phone})),
        (27, "invalid", frozenset({phone})),
        (28, "invalid", frozenset({phone})),
    ]
    assert found.problems[3].cells[phone] == "8.61509E+12"
    assert ("messages to send", "25") in found.facts
    assert found.report is not None
    assert found.report.is_file()
    assert engine.plan_key(found.outcome.plan) == (25, 27)


def test_check_marks_the_columns_a_template_could_not_fill(tmp_path: Path) -> None:
    campaign = tmp_path / "list.csv"
    campaign.write_text("phone,name\n+8613912345678,Ann\n+8613912345679,\n", encoding="utf-8")
    settings = engine.form_settings(web_settings(tmp_path, sandbox=True), input=campaign,
                                    template="Hi {{ name }}")  # fmt: skip
    found = engine.check(settings, "u1", "list.csv")
    [problem] = found.problems
    assert problem.row == 3
    assert "name" in problem.reason
    assert problem.marked == frozenset({1})


def cli_send(tmp_path: Path, campaign: Path) -> str:
    """Send a file on the sandbox with the CLI into tmp_path's state db; its run id."""
    result = CliRunner().invoke(cli, [
        "send", str(campaign), "--sandbox", "--yes", "--tps", "unlimited", "--out",
        str(tmp_path / "out"), "--state", str(tmp_path / "state.sqlite3"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    [folder] = [p for p in (tmp_path / "out").iterdir() if p.name[:1].isdigit()]
    return folder.name


def test_made_run_finds_the_run_a_send_of_an_upload_made(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, sandbox=True)
    campaign = shutil.copy(CSV_SAMPLE, tmp_path / "upload.csv")
    assert engine.made_run(settings, 0.0, campaign, None) == ""  # no state db yet
    before = time.time() - 1
    run_id = cli_send(tmp_path, campaign)
    assert engine.made_run(settings, before, campaign, None) == run_id
    assert engine.made_run(settings, time.time() + 60, campaign, None) == ""  # an older run
    assert engine.made_run(settings, before, CSV_SAMPLE.with_name("nope.csv"), None) == ""
    assert engine.made_run(settings, before, None, run_id) == ""  # no retry of it yet
    assert engine.run_counts(settings, run_id) == {"delivered": 25, "invalid": 3,
                                                   "duplicate": 1}  # fmt: skip


def test_run_file_serves_a_runs_own_files_by_kind_only(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, sandbox=True)
    run_id = cli_send(tmp_path, shutil.copy(CSV_SAMPLE, tmp_path / "upload.csv"))
    report = engine.run_file(settings, run_id, "report")
    assert report == tmp_path / "out" / run_id / "report.xlsx"
    for run, kind in ((run_id, "../state.sqlite3"), (run_id, "input"),
                      ("20260101-000000-abcd", "report")):  # fmt: skip
        with pytest.raises(LookupError):
            engine.run_file(settings, run, kind)


def test_rewrite_report_writes_the_runs_files_again(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, sandbox=True)
    run_id = cli_send(tmp_path, shutil.copy(CSV_SAMPLE, tmp_path / "upload.csv"))
    report = tmp_path / "out" / run_id / "report.xlsx"
    report.unlink()
    again = engine.rewrite_report(settings, run_id)
    assert again.report == report
    assert report.is_file()
    assert again.counts["delivered"] == 25


# 03:00 in Shanghai is 14:00 in New York (19:00 UTC).
AT_3_IN_SHANGHAI = datetime(2026, 11, 30, 19, 0, tzinfo=UTC).timestamp()


def test_check_says_what_the_window_holds_on_its_clock_and_why_a_send_would_refuse(
    tmp_path: Path,
) -> None:
    campaign = tmp_path / "list.csv"
    campaign.write_text("phone,content\n8613800138000,Hi\n12015550123,Hi\n", encoding="utf-8")
    settings = engine.form_settings(
        web_settings(tmp_path, quiet_hours="21:00-08:00", canary=1, max_cost=0.001),
        input=campaign,
    )
    found = engine.check(settings, "u1", "list.csv", clock=FakeClock(AT_3_IN_SHANGHAI))
    assert found.held == (
        "quiet hours 21:00-08:00 (recipient's time): 1 messages are held now; the first may go "
        "from 2026-12-01 00:00 UTC (2026-12-01 08:00 Asia/Shanghai)",
    )
    assert set(found.held) <= set(found.notes)  # the Check page lists it with the plan's notes
    assert found.canary == "canary: first 1 messages, wait up to 300 s, go on at >= 80% delivered"
    assert found.refusals == (
        "--max-cost 0.001: no price is configured for country codes +1, +86, so the cost cannot "
        "be held under the ceiling",
        "--canary 1: the canary waits for delivery receipts, but they have no route here: no "
        "--dr-url is given and this is not a --sandbox run",
    )


def test_check_of_a_sandbox_plan_under_its_ceiling_refuses_nothing(tmp_path: Path) -> None:
    settings = engine.form_settings(web_settings(tmp_path, sandbox=True, canary=2, max_cost=1),
                                    input=SAMPLE)  # fmt: skip
    found = engine.check(settings, "u1", "campaign.xlsx")
    assert found.refusals == ()
    assert ("  headroom", "0.7300 USD") in found.facts
    assert found.held == ()


def test_run_end_says_nothing_of_a_run_with_no_held_rows_and_no_canary(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, sandbox=True)
    run_id = cli_send(tmp_path, shutil.copy(CSV_SAMPLE, tmp_path / "upload.csv"))
    assert engine.run_end(settings, run_id, time.time()) == ("", False)
