"""Reading and checking input through the CLI: refusals exit 2 with the line and a working hint."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import DATA, last_json, run_cli


def test_validate_refuses_the_swallowing_file_with_exit_2(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    result = run_cli(["validate", str(DATA / "swallow.csv"), *where])
    assert result.exit_code == 2
    assert "swallow.csv: line 3: a quoted cell opened on this line" in result.output
    assert "Hint: a double quote" in result.output


def test_cli_validate_reads_cp1252_and_takes_encoding(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    result = run_cli(["validate", str(DATA / "cp1252_mueller.csv"), *where, "--encoding", "x-no"])
    assert result.exit_code == 2
    assert "'x-no' is not a text encoding" in result.output
    result = run_cli(["validate", str(DATA / "cp1252_francois.csv"), *where])
    assert "cp1252 was assumed" in result.output, result.output


def test_header_row_through_the_cli(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    data = str(DATA / "title_rows.csv")
    result = run_cli(["validate", data, *where, "--header-row", "4", "--json"])
    assert result.exit_code == 0, result.output
    result = run_cli(["validate", data, *where, "--header-row", "0"])
    assert result.exit_code == 2
    assert "--header-row 0: rows are numbered from 1" in result.output


def test_duplicate_headers_hint_gives_spellings_that_work(tmp_path: Path) -> None:
    where = ["--out", str(tmp_path), "--state", str(tmp_path / "state.sqlite3")]
    data = str(DATA / "duplicate_headers.csv")
    result = run_cli(["validate", data, *where])
    assert result.exit_code == 2
    assert (
        'Hint: give --phone-column the exact spelling of one: "phone" (column 1) or "Phone" '
        "(column 3)" in result.output
    )
    # The spelling the hint gives does pick that column.
    picked = run_cli(["validate", data, *where, "--phone-column", "Phone", "--template", "Hi"])
    assert picked.exit_code == 0, picked.output


@pytest.mark.parametrize(
    ("name", "options", "counts"),
    [
        pytest.param("mobile_and_phone.csv", ["--phone-column", "Phone"], {"invalid": 2},
                     id="landlines"),
        pytest.param("mobile_and_phone.csv", ["--phone-column", "Phone", "--allow-landlines"],
                     {"ready": 2}, id="allow-landlines"),
        pytest.param("excel_rounded.xlsx", [], {"ready": 3, "invalid": 2}, id="rounded"),
        pytest.param("excel_rounded.xlsx", ["--trust-numeric-phones"],
                     {"ready": 3, "invalid": 1, "duplicate": 1},  # row 4 has row 3's number
                     id="trust-numeric-phones"),
    ],
)  # fmt: skip
def test_phone_options_on_the_command_line(
    name: str, options: list[str], counts: dict[str, int], tmp_path: Path
) -> None:
    result = run_cli(["validate", str(DATA / name), "--default-region", "CN", "--json",
                      "--out", str(tmp_path), *options])  # fmt: skip
    assert last_json(result)["counts"] == counts


def test_unusable_opt_outs_exit_2_on_the_command_line(tmp_path: Path) -> None:
    result = run_cli(["validate", str(DATA / "optout_campaign.csv"), "--out", str(tmp_path),
                      "--suppress", str(DATA / "optout_national.csv")])  # fmt: skip
    assert result.exit_code == 2
    assert "row 3 '13812340903'" in result.output
    assert "--default-region" in result.output
