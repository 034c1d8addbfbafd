"""What the plan says before anything is sent: caps, UCS-2 texts, why nothing can go, dry runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import DATA, last_json, run_cli

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
        "(or give --gsm-safe) to send 160 characters per message; 1 use characters GSM-7 lacks, "
        "such as 你 好 (U+4F60, U+597D)"
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
