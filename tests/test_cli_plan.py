"""What the plan says before anything is sent: caps, UCS-2 texts, why nothing can go, dry runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import last_json, run_cli

from batch_sms.checks import plancheck
from batch_sms.models import Message, Status

DATA = Path(__file__).parent / "data"
NO_CREDENTIALS = {"NXCLOUD_ACCESS_KEY": None, "NXCLOUD_ACCESS_SECRET": None,
                  "NXCLOUD_APP_KEY": None}  # fmt: skip


def dry_run(tmp_path: Path, name: str, *extra: str) -> tuple[int, str]:
    """`send --dry-run` of a data file, without credentials; exit code and what it printed."""
    path = shutil.copy(DATA / name, tmp_path)
    result = run_cli(
        ["send", str(path), "--dry-run", "--out", str(tmp_path / "rep"), *extra], env=NO_CREDENTIALS
    )  # type: ignore[arg-type]
    return result.exit_code, result.stdout


def test_the_plan_warns_of_a_number_over_the_hourly_cap(tmp_path: Path) -> None:
    code, out = dry_run(tmp_path, "hourly_cap_repeats.csv")
    assert code == 0
    assert "Plan" in out  # a dry run prints the plan
    assert (
        "note: +8613800000001 gets 7 messages, more than --hourly-cap 5 per hour: the last "
        "can go at the earliest in 1 h ("
    ) in out
    assert "+8613800000002 gets" not in out
    _, out = dry_run(tmp_path, "hourly_cap_repeats.csv", "--hourly-cap", "2")
    assert (
        "+8613800000001 gets 7 messages, more than --hourly-cap 2 per hour: the last can go "
        "at the earliest in 3 h" in out
    )


def test_the_plan_names_the_characters_that_force_ucs2(tmp_path: Path) -> None:
    code, out = dry_run(tmp_path, "ucs2_culprits.csv")
    assert code == 0
    line = next(x for x in out.splitlines() if "UCS-2" in x)
    assert line == (
        "note: 3 messages go as UCS-2 (70 characters per message instead of 160): 2 of them only "
        "because of “ ” – (U+201C, U+201D, U+2013), which have plain look-alikes: replace them "
        "to send 160 characters per message; 1 use characters GSM-7 lacks, such as 你 好 "
        "(U+4F60, U+597D)"
    )


def test_a_dry_run_without_credentials_does_not_say_signed(tmp_path: Path) -> None:
    _, out = dry_run(tmp_path, "ucs2_culprits.csv")
    assert (
        "4 requests were built and signed with placeholder keys (not set: NXCLOUD_ACCESS_KEY, "
        "NXCLOUD_ACCESS_SECRET, NXCLOUD_APP_KEY); none was sent."
    ) in out.replace("\n", " ")


def test_a_send_with_nothing_ready_says_why(tmp_path: Path) -> None:
    path = shutil.copy(DATA / "nothing_ready.csv", tmp_path)
    result = run_cli(
        ["send", str(path), "--sandbox", "--yes", "--json", "--out", str(tmp_path / "rep")]
    )
    assert result.exit_code == 1
    steps = last_json(result)["next"]
    why = [s for s in steps if s.startswith("not sendable: ")]
    assert len(why) == 4  # one reason per row here, each with its row
    assert {s.rsplit("(rows ", 1)[1] for s in why} == {"2)", "3)", "4)", "5)"}
    assert all(" invalid: " in s for s in why)


def test_reasons_are_grouped_with_example_rows() -> None:
    def bad(row: int, why: str) -> Message:
        return Message(row, 0, "x", "", "t", 0, "GSM-7", None, Status.INVALID, why)

    lines = plancheck.why_nothing_ready(
        [bad(r, "no phone") for r in range(2, 7)] + [bad(9, "empty text")]
    )
    assert lines == ["5 invalid: no phone (rows 2, 3, 4, …)", "1 invalid: empty text (rows 9)"]


def test_reasons_group_by_kind_not_by_the_number_in_them() -> None:
    def bad(row: int, phone: str) -> Message:
        why = f'phone "{phone}" is not a valid number'
        return Message(row, 0, phone, "", "t", 0, "GSM-7", None, Status.INVALID, why)

    lines = plancheck.why_nothing_ready([bad(2, "12345"), bad(3, "+86138000000")])
    assert lines == ["2 invalid: Phone is not a valid number [phone_invalid] (rows 2, 3)"]


def test_an_unknown_balance_says_why(capsys: object) -> None:
    from batch_sms.checks.preflight import Plan
    from batch_sms.console import Screen
    from batch_sms.models import CostEstimate
    from batch_sms.provider import nxcloud

    def shown(balance: nxcloud.Balance) -> str:
        cost = CostEstimate((), 1, 1, 0.01, ())
        plan = Plan(1, {"ready": 1}, 1, 1, cost, 10.0, "USD", balance=balance)
        Screen().show_plan(plan)
        return " ".join(capsys.readouterr().out.split())  # type: ignore[attr-defined]

    connect = nxcloud.Balance("connect", result=nxcloud.describe("connect"))
    assert f"unknown: {nxcloud.describe('connect')} (code connect)" in " ".join(
        shown(connect).replace("│", " ").split()
    )
    assert "unknown (the provider's answer holds no balance)" in " ".join(
        shown(nxcloud.Balance("0")).replace("│", " ").split()
    )
    assert "12.50" in shown(nxcloud.Balance("0", 12.5))
