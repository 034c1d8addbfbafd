"""What a use case reports back (RunOutcome) and what it needs from its driver (Ui)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from batch_sms.checks.preflight import Plan, Preflight
from batch_sms.report.workbook import ReportFiles

__all__ = ["RunOutcome", "Ui"]


class Ui(Protocol):
    """What a use case needs from whoever drives it (the CLI, or a test)."""

    def confirm(self, plan: Plan) -> bool:
        """Show the plan; True to go ahead."""

    def progress(self, update: Any) -> None:
        """Show dispatch progress."""

    def note(self, text: str) -> None:
        """Show a line of information."""

    def stop_with(self, stop: Callable[[], None]) -> None:
        """Take, as a dispatch starts, what stops it as a first Ctrl-C does (from any thread)."""


@dataclass
class RunOutcome:
    """What a command did, for printing and for the exit code."""

    command: str
    run_id: str  # "" when the command made no run
    status: str
    report: Path | None
    counts: dict[str, int]
    exit_code: int
    plan: Plan | None = None
    parent: str | None = None
    next_steps: list[str] = field(default_factory=list)
    stop_reason: str = ""
    files: ReportFiles | None = None
    checked: Preflight | None = None  # the verdicts a report made before sending came from

    def as_json(self) -> dict[str, Any]:
        """The `--json` object."""
        data: dict[str, Any] = {
            "command": self.command,
            "run_id": self.run_id or None,  # None: the command made no run
            "status": self.status,
            "report": str(self.report) if self.report else None,
            "counts": self.counts,
            "exit_code": self.exit_code,
        }
        if self.parent:
            data["parent"] = self.parent
        if self.stop_reason:
            data["stop_reason"] = self.stop_reason
        if self.files is not None:
            data["failed"] = str(self.files.failed) if self.files.failed else None
            data["results_csv"] = str(self.files.results_csv) if self.files.results_csv else None
        if self.next_steps:
            data["next"] = self.next_steps
        return data
