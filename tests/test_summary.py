"""The Summary's lines: run details, cost, reasons, settings without secrets, and their order."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
from helpers import COLUMNS, rows_of, sheet_values, summary_pairs

from batch_sms.checks.validate import CostEstimate, CountryCost
from batch_sms.models import Status
from batch_sms.report.summary import SummaryInfo
from batch_sms.report.workbook import write_report


def test_summary_run_details_and_cost(tmp_path: Path) -> None:
    cost = CostEstimate(
        (CountryCost("86", 3, 6, 0.05, 0.3), CountryCost("60", 1, 1, None, None)),
        4,
        7,
        0.3,
        ("60",),
    )
    info = SummaryInfo(
        run_id="child", parent="parent-run", input_name="list.csv", started_at=0.0,
        finished_at=100.0, cost=cost, currency="USD", title="Retry report",
    )  # fmt: skip
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT, Status.SENT), info, "csv")
    pairs = summary_pairs(tmp_path / "report.xlsx")
    assert pairs["Retry report"] is None
    assert pairs["Retry of run"] == "parent-run"
    assert pairs["Started (UTC)"] == "1970-01-01 00:00:00"
    assert pairs["Finished (UTC)"] == "1970-01-01 00:01:40"
    assert pairs["Achieved rate"] == "0.02 accepted messages per second"  # 2 in 100 s
    assert pairs["Estimated cost (USD)"] is None
    assert pairs["86"] == 3
    assert pairs["60"] == 1
    assert "60" in str(pairs["Note"])
    assert "Rows to fix or send again" not in pairs


def test_summary_reads_outcome_first_and_points_at_results_rows(tmp_path: Path) -> None:
    # A retry's rows keep their input numbers (18, 40, 41): the Summary's examples must be the
    # Results sheet's rows (2, 3, 4), where a reader can find them.
    rows = [
        replace(row, number=number)
        for row, number in zip(
            rows_of(Status.FAILED, Status.SENT, Status.FAILED), (18, 40, 41), strict=True
        )
    ]
    info = SummaryInfo(run_id="r", settings={"tps": 10}, cost=None)
    write_report(tmp_path, COLUMNS, rows, info, "csv")
    values = sheet_values(openpyxl.load_workbook(tmp_path / "report.xlsx")["Summary"])
    firsts = [r[0] for r in values]
    order = ["Rows by status", "Top error reasons", "Provider codes", "Messages", "Settings"]
    assert [firsts.index(name) for name in order] == sorted(firsts.index(name) for name in order)
    reasons = firsts.index("Top error reasons")
    assert values[reasons + 1][:3] == ("Reason", "Rows", "Example rows (Results sheet)")
    assert values[reasons + 2][:3] == ("invalid number", 2, "2, 4")
    pairs = summary_pairs(tmp_path / "report.xlsx")
    # The sms_status and sms_error columns by letter, after the input's three columns.
    assert pairs["Finding rows"] == (
        "on the Results sheet, filter column D (sms_status); "
        "column O (sms_error) says why a row was not sent"
    )


def test_summary_cost_without_prices_and_settings_without_blanks(tmp_path: Path) -> None:
    cost = CostEstimate(
        (CountryCost("86", 2, 2, None, None), CountryCost("1", 1, 1, None, None)),
        3, 3, 0.0, ("86", "1"),
    )  # fmt: skip
    settings = {"sender": None, "template": "", "allow_duplicates": False, "sandbox": True}
    info = SummaryInfo(run_id="r", cost=cost, settings=settings)
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT), info, "csv")
    values = sheet_values(openpyxl.load_workbook(tmp_path / "report.xlsx")["Summary"])
    lines = {r[0]: r for r in values if r[0] is not None}
    assert lines["86"][:4] == ("86", 2, 2, "no price")
    assert lines["Total"][:4] == ("Total", 3, 3, "no price")  # not 0.00: there is no estimate
    assert {"sender", "template"}.isdisjoint(lines)
    assert (lines["allow_duplicates"][1], lines["sandbox"][1]) == ("no", "yes")


def test_settings_never_show_secrets(tmp_path: Path) -> None:
    info = SummaryInfo(
        run_id="r",
        settings={
            "tps": 20, "app_key": "AK-9f3e", "access_secret": "S3-77aa", "ApiToken": "T-0b1c",
            "password": "P-5d5d", "sender": "SHOP", "dr_url": "https://u:pw-1@host/dr?token=tk-2&x=1",
            "nested": {"accessKey": "K2-8c8c", "region": "CN"},
        },
    )  # fmt: skip
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT), info, "csv")
    pairs = summary_pairs(tmp_path / "report.xlsx")
    assert pairs["tps"] == "20"
    assert pairs["sender"] == "SHOP"
    assert pairs["dr_url"] == "https://u:***@host/dr?token=***&x=1"
    assert not {"app_key", "access_secret", "ApiToken", "password"} & set(pairs)
    assert pairs["nested"] == '{"region": "CN"}'
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        text = b"".join(book.read(name) for name in book.namelist())
    text += (tmp_path / "results.csv").read_bytes()
    for secret in (b"AK-9f3e", b"S3-77aa", b"T-0b1c", b"P-5d5d", b"pw-1", b"tk-2", b"K2-8c8c"):
        assert secret not in text


def test_summary_counts_messages_with_no_receipt_and_no_record(tmp_path: Path) -> None:
    info = SummaryInfo(run_id="r", unrecorded=3)
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT), info, "csv")
    pairs = summary_pairs(tmp_path / "report.xlsx")
    assert pairs["Receipts"] == "3 messages: no receipt and no record yet"
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT), replace(info, unrecorded=0), "csv")
    assert "Receipts" not in summary_pairs(tmp_path / "report.xlsx")


def test_a_runs_cost_shows_the_billed_cost_beside_an_estimate_without_prices(
    tmp_path: Path,
) -> None:
    """With no price configured the estimate says "no price"; the receipts' billed cost shows
    beside it, per country and in total, and a country without receipts says so."""
    cost = CostEstimate(
        (CountryCost("86", 2, 4, None, None, 0.04, 2), CountryCost("1", 1, 1, None, None)),
        3, 5, 0.0, ("86", "1"), billed=0.04, billed_messages=2, billed_currency="USD",
        of_run=True,
    )  # fmt: skip
    write_report(tmp_path, COLUMNS, rows_of(Status.SENT), SummaryInfo("r", cost=cost), "csv")
    values = sheet_values(openpyxl.load_workbook(tmp_path / "report.xlsx")["Summary"])
    lines = {r[0]: r for r in values if r[0] is not None}
    assert lines["Country code"][:5] == (
        "Country code", "Messages", "Segments", "Estimated", "Billed (USD)",
    )  # fmt: skip
    assert lines["86"][:5] == ("86", 2, 4, "no price", 0.04)
    assert lines["1"][:5] == ("1", 1, 1, "no price", "no receipt yet")
    assert lines["Total"][:5] == ("Total", 3, 5, "no price", 0.04)
    assert "2 messages have one so far" in str(lines["Billed"][1])
