"""Sends started in the browser: each runs in the web process's own task, not in the request that
started it, so closing the tab changes nothing; any page can show it again."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from batch_sms.web import engine

__all__ = ["SendJob", "start"]

FINAL_FILES = ("report", "results", "failed")


@dataclass
class SendJob:
    """One send: the check it came from, its Ui, and its outcome once done."""

    check: engine.Check
    ui: engine.WebUi
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

    def snapshot(self) -> dict[str, Any]:
        """What the run page shows, as JSON."""
        latest = self.ui.latest
        outcome = self.outcome
        done = int(getattr(latest, "done", 0))
        total = int(getattr(latest, "total", 0) or self.check.outcome.plan.messages_ready)  # type: ignore[union-attr]
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


def start(check: engine.Check) -> SendJob:
    """Start sending a confirmed check in a task of the running loop (the caller keeps the job)."""
    job = SendJob(check, engine.WebUi(engine.plan_key(check.outcome.plan)))
    job.task = asyncio.get_running_loop().create_task(_run(job))
    return job


async def _run(job: SendJob) -> None:
    """Send in a worker thread (the use case runs its own event loop); keep its outcome."""
    try:
        job.outcome = await asyncio.to_thread(engine.send, job.check.settings, job.ui)
    except engine.BatchSmsError as error:
        job.error = error.message.replace(str(job.check.settings.input), job.check.name)
        job.hint = error.hint
