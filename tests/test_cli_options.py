"""Options are checked before any file is read or any row is looked at (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import DATA, run_cli


@pytest.mark.parametrize("region", ["china", "XX", "C"])
def test_an_unknown_default_region_is_a_usage_error_naming_valid_codes(
    tmp_path: Path, region: str
) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    out = tmp_path / "rep"
    good = run_cli(["validate", str(path), "--default-region", "cn", "--out", str(out)])
    assert good.exit_code == 0, good.output  # the file is fine with a real region
    bad = run_cli(["validate", str(path), "--default-region", region, "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2
    assert bad.stderr.splitlines() == [
        f"Error: default-region {region!r} is not a region code",
        "Hint: give the two-letter ISO code of the country, e.g. --default-region CN (China), "
        "US, GB, DE, IN, BR",
    ]
    assert not (tmp_path / "b").exists()  # refused before any report was written


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("--tps", "0", "tps must be positive (or 'unlimited')"),
        ("--tps", "-2", "tps must be positive (or 'unlimited')"),
        ("--tps", "none", "--tps: 'none' is not a valid value for tps"),
        ("--hourly-cap", "-1", "hourly-cap must be at least 1"),
        ("--concurrency", "-3", "concurrency must be at least 1"),
        ("--max-attempts", "0", "max-attempts must be at least 1"),
        ("--timeout", "0", "timeout must be positive"),
        ("--max-segments", "0", "max-segments must be at least 1"),
    ],
)
def test_rate_options_that_cannot_work_are_refused_up_front(
    tmp_path: Path, option: str, value: str, error: str
) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    result = run_cli(
        [
            "send",
            str(path),
            "--sandbox",
            "--yes",
            "--default-region",
            "CN",
            "--out",
            str(tmp_path / "rep"),
            option,
            value,
        ]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"Error: {error}"
    assert not (tmp_path / "rep").exists()


def test_only_the_word_unlimited_lifts_the_rate_limit(tmp_path: Path) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    result = run_cli(
        [
            "send",
            str(path),
            "--sandbox",
            "--yes",
            "--default-region",
            "CN",
            "--out",
            str(tmp_path / "rep"),
            "--tps",
            "unlimited",
        ]
    )
    assert result.exit_code == 0, result.output


COMMANDS = [[], ["validate"], ["send"], ["resume"], ["retry"], ["report"], ["runs"],
            ["receipts"], ["receipts", "serve"], ["sandbox"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "batch-sms")
def test_help_is_not_cut_off_at_80_columns(command: list[str]) -> None:
    result = run_cli([*command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    body = result.stdout.split("\n", 1)[1]  # the usage line ends in "[ARGS]..." by design
    assert "..." not in body
    assert max(len(line) for line in body.splitlines()) <= 80


@pytest.mark.parametrize("command", ["resume", "retry"])
def test_resume_help_shows_no_default_the_runs_own_settings_replace(command: str) -> None:
    text = " ".join(run_cli([command, "--help"], env={"COLUMNS": "80"}).stdout.split())
    for default in ("[10]", "[5]", "[20]", "[30]", "[https://api2.nxcloud.com]"):
        assert default not in text
    assert "'unlimited' [the run's own]" in text
    send = " ".join(run_cli(["send", "--help"], env={"COLUMNS": "80"}).stdout.split())
    assert "'unlimited' [10]" in send


@pytest.mark.parametrize("command", ["validate", "runs"])
def test_json_prints_an_error_object_on_exit_2(tmp_path: Path, command: str) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    args = [str(path), "--default-region", "china"] if command == "validate" else ["--tps", "0"]
    if command == "runs":  # runs takes no rate option: a bad config value instead
        conf = tmp_path / "bad.toml"
        conf.write_text("tps = 0\n")
        args = ["--config", str(conf)]
    result = run_cli([command, *args, "--json", "--out", str(tmp_path / "rep")])
    assert result.exit_code == 2
    said = json.loads(result.stdout.strip().splitlines()[-1])
    assert said["status"] == "error"
    assert said["exit_code"] == 2
    assert said["error"].startswith(("default-region", "tps must be positive"))
    assert said["hint"]
    assert result.stderr.startswith("Error: ")  # the human lines still go to stderr


@pytest.mark.parametrize("args", [["send", "x.csv", "--hourly-cap", "many"], ["retry"], ["report"]])
def test_json_prints_an_error_object_for_clicks_own_usage_errors(args: list[str]) -> None:
    result = run_cli([*args, "--json"])
    assert result.exit_code == 2
    said = json.loads(result.stdout.strip().splitlines()[-1])
    assert (said["status"], said["exit_code"]) == ("error", 2)
    assert said["error"]
    assert "Error: " in result.stderr


def test_json_help_and_success_still_exit_0(tmp_path: Path) -> None:
    assert run_cli(["runs", "--help", "--json"]).exit_code == 0
    result = run_cli(["runs", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"] == []
