"""Options are checked before any file is read or any row is looked at (exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import run_cli

DATA = Path(__file__).parent / "data"


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
    result = run_cli(["send", str(path), "--sandbox", "--yes", "--default-region", "CN",
                      "--out", str(tmp_path / "rep"), option, value])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"Error: {error}"
    assert not (tmp_path / "rep").exists()


def test_only_the_word_unlimited_lifts_the_rate_limit(tmp_path: Path) -> None:
    path = shutil.copy(DATA / "national_numbers.csv", tmp_path)
    result = run_cli(["send", str(path), "--sandbox", "--yes", "--default-region", "CN",
                      "--out", str(tmp_path / "rep"), "--tps", "unlimited"])
    assert result.exit_code == 0, result.output
