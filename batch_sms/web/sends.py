"""Sends started in the browser: each runs in the web process's own task, not in the request that
started it, so closing the tab changes nothing; any page can show it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batch_sms.web import engine

__all__ = ["SendJob", "WebUi", "start", "start_check"]

FINAL_FILES = ("report", "results", "failed")


class WebUi:
    """The Ui of a send started in the browser: it goes ahead only with the plan the user
    confirmed, and keeps the latest progress and notes for the run page."""

    def __init__(self, confirmed: tuple[int, int] | None = None) -> None:
        self.confirmed = confirmed
        self.latest: Any = None  # the dispatch's last Progress
        self.notes: list[str] = []
        self.changed = ""  # why the confirmation no longer held
        self.stop: Callable[[], None] | None = None  # set as the dispatch starts

    def confirm(self, plan: Any) -> bool:
        """True only when the plan is still the one confirmed (the state db may have changed)."""
        now = engine.plan_key(plan)
        if self.confirmed is not None and now != self.confirmed:
            self.changed = (
                f"the plan changed since the check: {now[0]:,} messages ({now[1]:,} segments) "
                f"now, {self.confirmed[0]:,} ({self.confirmed[1]:,}) confirmed; nothing was sent"
            )
            return False
        return True

    def progress(self, update: Any) -> None:
        """Keep the latest progress."""
        self.latest = update

    def note(self, text: str) -> None:
        """Keep the latest notes."""
        self.notes = [*self.notes[-19:], text]

    def stop_with(self, stop: Callable[[], None]) -> None:
        """Keep what stops the dispatch as a first Ctrl-C does, for the run page's Stop button."""
        self.stop = stop


@dataclass
class SendJob:
    """One send (of a check, or a resume or retry of a run): its Ui, and its outcome once done."""

    id: str
    name: str  # what its page is titled: the file's name, or what is resumed
    ui: WebUi
    expected: int = 0  # the messages it means to send, before its progress tells
    stored: Path | None = None  # the stored upload, named `name` in what the page shows
    started: float = field(default_factory=time.time)
    outcome: engine.Outcome | None = None
    error: str = ""
    hint: str = ""
    task: asyncio.Task[None] | None = None

    @property
    def state(self) -> str:
        """sending, error, or the outcome's status (finished, stopped, cancelled, …)."""
        if self.error:
            return "error"
        return "sending" if self.outcome is None else self.outcome.status

    def chart(self) -> list[tuple[str, int, float]]:
        """(status, rows, bar width in %) of a send that ended, for its summary chart."""
        if self.outcome is None:
            return []
        counts = [(s, n) for s, n in self.outcome.counts.items() if n]
        top = max((n for _, n in counts), default=1)
        return [(s, n, round(100 * n / top, 1)) for s, n in counts]

    def snapshot(self) -> dict[str, Any]:
        """What the run page shows, as JSON."""
        latest = self.ui.latest
        outcome = self.outcome
        done = int(getattr(latest, "done", 0))
        total = int(getattr(latest, "total", 0) or self.expected)
        counts = dict(outcome.counts if outcome else getattr(latest, "counts", {}) or {})
        eta = getattr(latest, "eta", None)
        run_id = outcome.run_id if outcome else ""
        return {
            "state": self.state,
            "done": done,
            "total": total,
            "rate": round(float(getattr(latest, "rate", 0.0) or 0.0), 1),
            "eta": None if eta is None or outcome else round(float(eta)),
            "counts": {k: v for k, v in counts.items() if v},
            "notes": self.ui.notes[-10:],
            "run_id": run_id,
            "files": self._files(run_id),
            "error": self.error or self.ui.changed,
            "hint": self.hint,
            "next": outcome.next_steps if outcome else [],
        }

    def _files(self, run_id: str) -> list[dict[str, str]]:
        """The downloads of a finished run."""
        if not run_id or self.outcome is None or self.outcome.files is None:
            return []
        files = self.outcome.files
        present = {"report": files.report, "results": files.results_csv, "failed": files.failed}
        return [
            {"kind": kind, "name": path.name, "href": f"/runs/{run_id}/files/{kind}"}
            for kind in FINAL_FILES
            if (path := present[kind]) is not None
        ]


def start_check(check: engine.Check) -> SendJob:
    """Start sending a confirmed check (the job is named by the check's id)."""
    plan = check.outcome.plan
    assert plan is not None  # noqa: S101 (a check always has its plan)
    ui = WebUi(engine.plan_key(plan))
    job = SendJob(check.id, check.name, ui, plan.messages_ready, check.settings.input)
    return start(job, lambda: engine.send(check.settings, ui))


def start(job: SendJob, work: Callable[[], engine.Outcome]) -> SendJob:
    """Run `work` for `job` in a task of the running loop (the caller keeps the job)."""
    job.task = asyncio.get_running_loop().create_task(_run(job, work))
    return job


async def _run(job: SendJob, work: Callable[[], engine.Outcome]) -> None:
    """Send in a worker thread (the use case runs its own event loop); keep its outcome."""
    try:
        job.outcome = await asyncio.to_thread(work)
    except engine.BatchSmsError as error:
        stored = str(job.stored) if job.stored else None
        job.error = error.message.replace(stored, job.name) if stored else error.message
        job.hint = error.hint
