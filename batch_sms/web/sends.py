"""Sends started in the browser: each runs in the web process's own task, not in the request that
started it, so closing the tab changes nothing; any page can show it again."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from batch_sms.config import Settings
from batch_sms.web import engine

__all__ = ["WATCH_SECONDS", "SendJob", "WebUi", "start", "start_check"]

FINAL_FILES = ("report", "results", "failed")
WATCH_SECONDS = 600.0  # how long after a send ends its page goes on reading the receipts


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
    settings: Settings | None = None  # what it reads the state db with
    run_id: str = ""  # its run, once the state db holds it (a resume knows it from the start)
    parent: str | None = None  # the run a retry copies
    clock: Callable[[], float] = time.time
    windows: Callable[[], float] = time.time  # what its send window goes by (the app's clock)
    started: float = 0.0
    ended: float | None = None
    outcome: engine.Outcome | None = None
    live: dict[str, int] | None = None  # the run's counts as receipts came after the end
    errors: list[dict[str, str]] = field(default_factory=list)  # its newest non-accept answers
    cost: list[tuple[str, str]] = field(default_factory=list)  # estimated and billed, once ended
    held: str = ""  # after the end: its messages waiting for a send window, and until when
    canary_stop: bool = False  # after the end: stopped by its canary (resume must skip it)
    error: str = ""
    hint: str = ""
    task: asyncio.Task[None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _errors_final: bool = field(default=False, repr=False)
    _end_read: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()

    @property
    def state(self) -> str:
        """sending, error, or the outcome's status (finished, stopped, cancelled, …)."""
        if self.error:
            return "error"
        return "sending" if self.outcome is None else self.outcome.status

    def current_run(self) -> str:
        """The id of its run, once known ("" before)."""
        return self.outcome.run_id if self.outcome and self.outcome.run_id else self.run_id

    def counts(self) -> dict[str, int]:
        """Rows by status now: the progress's while sending, then the run's."""
        if self.live is not None:
            return dict(self.live)
        if self.outcome is not None:
            return dict(self.outcome.counts)
        return dict(getattr(self.ui.latest, "counts", {}) or {})

    def watching(self) -> bool:
        """True while the run of an ended send has messages waiting for their receipts, for at
        most WATCH_SECONDS after the end."""
        if self.outcome is None or not self.outcome.run_id or self.ended is None:
            return False
        return self.counts().get("sent", 0) > 0 and self.clock() - self.ended < WATCH_SECONDS

    def refresh(self) -> None:
        """Read the state db (blocking: call it in a worker thread): the run this send made,
        and after the end the receipts that arrived; once none is awaited any more, the run's
        files are written again with them."""
        if self.settings is None:
            return
        with self._lock:
            if not self.run_id and not self.error:
                self.run_id = self.outcome.run_id if self.outcome else engine.made_run(
                    self.settings, self.started, self.stored, self.parent)  # fmt: skip
            if self.run_id and not self._errors_final:
                self.errors = engine.latest_errors(self.settings, self.run_id)
                self._errors_final = self.outcome is not None  # answers end with the send
            if self.run_id and self.outcome is not None and not self._end_read:
                self._end_read = True
                # When the run cannot be read, the page shows what the outcome says.
                with contextlib.suppress(engine.BatchSmsError):
                    self.held, self.canary_stop = engine.run_end(
                        self.settings, self.run_id, self.windows()
                    )
            if self.outcome is not None and self.run_id and (not self.cost or self.watching()):
                self.cost = engine.cost_of(self.settings, self.run_id)  # receipts bill later
            if not self.watching():
                return
            self.live = engine.run_counts(self.settings, self.run_id)
            if self.live.get("sent", 0) == 0 and self.outcome is not None:
                try:
                    again = engine.rewrite_report(self.settings, self.run_id)
                except engine.BatchSmsError as error:  # the counts stand; the files as they were
                    self.ui.note(f"the run's files were not written again: {error.message}")
                    return
                self.outcome = replace(
                    self.outcome, counts=again.counts, report=again.report, files=again.files
                )
                self.live = None

    def chart(self) -> list[tuple[str, int, float]]:
        """(status, rows, bar width in %) of a send that ended, in the status order, for its
        summary chart."""
        if self.outcome is None:
            return []
        now = self.counts()
        counts = [(s, now[s]) for s in engine.STATUSES if now.get(s)]
        top = max((n for _, n in counts), default=1)
        return [(s, n, round(100 * n / top, 1)) for s, n in counts]

    def snapshot(self) -> dict[str, Any]:
        """What the run page shows, as JSON; `watch` says whether to ask again."""
        latest = self.ui.latest
        outcome = self.outcome
        done = int(getattr(latest, "done", 0))
        total = int(getattr(latest, "total", 0) or self.expected)
        eta = getattr(latest, "eta", None)
        run_id = self.current_run()
        return {
            "state": self.state,
            "watch": self.state == "sending" or self.watching(),
            "done": done,
            "total": total,
            "rate": round(float(getattr(latest, "rate", 0.0) or 0.0), 1),
            "eta": None if eta is None or outcome else round(float(eta)),
            "counts": {k: v for k, v in self.counts().items() if v},
            "notes": [self._shown(n) for n in self.ui.notes[-10:]],
            "errors": self.errors,
            "cost": [list(fact) for fact in self.cost],
            "run_id": run_id,
            "files": self._files(run_id),
            "error": self.error or self.ui.changed,
            "stop_reason": outcome.stop_reason if outcome else "",
            "held": self.held,
            "canary_failed": self.canary_stop,
            "hint": self.hint,
            "next": [self._shown(n) for n in outcome.next_steps] if outcome else [],
        }

    def _shown(self, text: str) -> str:
        """A note with the output folder named as the settings name it (the run's files are
        recorded under its full path)."""
        if self.settings is None or self.settings.out.is_absolute():
            return text
        return text.replace(str(self.settings.out.resolve()), str(self.settings.out))

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


def start_check(check: engine.Check, clock: engine.Clock = engine.SYSTEM_CLOCK) -> SendJob:
    """Start sending a confirmed check (the job is named by the check's id); `clock` is what
    its send window goes by."""
    plan = check.outcome.plan
    assert plan is not None  # noqa: S101 (a check always has its plan)
    ui = WebUi(engine.plan_key(plan))
    job = SendJob(check.id, check.name, ui, plan.messages_ready, check.settings.input,
                  check.settings, windows=clock)  # fmt: skip
    return start(job, lambda: engine.send(check.settings, ui, clock))


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
    finally:
        job.ended = job.clock()
