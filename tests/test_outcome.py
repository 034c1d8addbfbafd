"""What a command reports back: the `--json` object, with no key for what did not happen."""

from __future__ import annotations

from pathlib import Path

from batch_sms.commands.outcome import RunOutcome
from batch_sms.report.workbook import ReportFiles


def test_a_command_that_made_no_run_says_so_with_null() -> None:
    outcome = RunOutcome("send", "", "cancelled", None, {"ready": 2}, 1)
    assert outcome.as_json() == {
        "command": "send",
        "run_id": None,
        "status": "cancelled",
        "report": None,
        "counts": {"ready": 2},
        "exit_code": 1,
    }


def test_a_run_names_its_files_parent_stop_and_next_steps(tmp_path: Path) -> None:
    report = tmp_path / "r1" / "report.xlsx"
    files = ReportFiles(report, None, tmp_path / "r1" / "failed.csv", 2, {"sent": 1, "failed": 1})
    outcome = RunOutcome(
        "retry", "r1", "stopped", report, files.counts, 3, parent="r0",
        next_steps=["continue with: batch-sms resume r1"], stop_reason="balance", files=files,
    )  # fmt: skip
    assert outcome.as_json() == {
        "command": "retry",
        "run_id": "r1",
        "status": "stopped",
        "report": str(report),
        "counts": {"sent": 1, "failed": 1},
        "exit_code": 3,
        "parent": "r0",
        "stop_reason": "balance",
        "failed": str(tmp_path / "r1" / "failed.csv"),
        "results_csv": None,
        "next": ["continue with: batch-sms resume r1"],
    }
