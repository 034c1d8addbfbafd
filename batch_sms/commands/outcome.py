"""What a use case reports back (RunOutcome) and what it needs from its driver (Ui, Clock)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from batch_sms.checks.preflight import Plan, Preflight
from batch_sms.report.workbook import ReportFiles

__all__ = ["SYSTEM_CLOCK", "Clock", "RunOutcome", "SystemClock", "Ui"]


class Clock(Protocol):
    """The wall clock a run's windows and waits go by (a test's FakeClock fits)."""

    def __call__(self) -> float:
        """Now, as a POSIX time."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Let `seconds` pass on this clock."""
        ...


class SystemClock:
    """The machine's clock."""

    def __call__(self) -> float:
        """time.time()."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep."""
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


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
