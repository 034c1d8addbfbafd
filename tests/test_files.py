"""report.files: each file of a report written under a temporary name, then moved into place."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import COLUMNS, read_csv

from batch_sms.errors import UsageError
from batch_sms.models import RESULT_COLUMNS, Status
from batch_sms.report.files import Copies, Layout, install
from batch_sms.report.results import ResultRow
from batch_sms.report.summary import Tally


def _row(number: int, status: Status, **fields: object) -> ResultRow:
    return ResultRow(number, (f"+86138{number:08d}", "x", "y"), status, **fields)  # type: ignore[arg-type]


def _copies(layout: Layout, rows: list[ResultRow]) -> tuple[Copies, Tally]:
    copies, tally = Copies(layout), Tally()
    for row in rows:
        tally.add(row)
        sms: list[str | float | None] = [row.status.value, *[""] * (len(RESULT_COLUMNS) - 1)]
        copies.add(row, list(row.cells), sms)
    copies.close()
    return copies, tally


def test_files_appear_only_when_all_are_written_and_stale_ones_go(tmp_path: Path) -> None:
    layout = Layout(tmp_path, COLUMNS, "csv")
    (tmp_path / "failed.xlsx").write_bytes(b"an older run's file of the other format")
    rows = [_row(2, Status.SENT), _row(3, Status.FAILED), _row(4, Status.FAILED, handed_over=True)]
    copies, tally = _copies(layout, rows)
    assert not (tmp_path / "results.csv").exists()  # still under its temporary name
    layout.temp["report"].write_bytes(b"xlsx")  # what the Book saves
    files = install(layout, tally, copies.wrote_failed, max_sheet_rows=100, again="")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "failed.csv",
        "report.xlsx",
        "results.csv",
    ]
    assert files.counts == {"sent": 1, "failed": 2}
    # Only the row this run still owns goes to failed.csv: row 4 was handed to a retry.
    assert [r[0] for r in read_csv(tmp_path / "failed.csv")[1:]] == ["+8613800000003"]


def test_an_xlsx_inputs_results_csv_is_kept_only_when_the_sheet_overflows(tmp_path: Path) -> None:
    for max_rows, kept in ((2, False), (1, True)):
        layout = Layout(tmp_path, COLUMNS, "xlsx")
        copies, tally = _copies(layout, [_row(2, Status.SENT), _row(3, Status.SENT)])
        layout.temp["report"].write_bytes(b"xlsx")
        files = install(layout, tally, copies.wrote_failed, max_sheet_rows=max_rows, again="")
        assert (files.results_csv is not None) == kept
        assert (tmp_path / "results.csv").exists() == kept
        assert files.failed is None
        assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_a_locked_file_says_which_and_how_to_write_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = Layout(tmp_path, COLUMNS, "csv")
    copies, tally = _copies(layout, [_row(2, Status.SENT)])
    layout.temp["report"].write_bytes(b"xlsx")

    def locked(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("batch_sms.report.files.os.replace", locked)
    with pytest.raises(UsageError, match=r"cannot replace .*report\.xlsx") as caught:
        install(layout, tally, copies.wrote_failed, 100, "batch-sms report R1")
    assert "run: batch-sms report R1" in caught.value.hint
    assert not layout.temp["report"].exists()
