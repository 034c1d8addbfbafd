"""The life of a run shared by send, resume and retry: its state db, its input copy, one
dispatch, and the report written from the state db afterwards."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from batch_sms.checks import canary, gsmsafe
from batch_sms.checks.costs import run_costs
from batch_sms.checks.preflight import Preflight
from batch_sms.checks.validate import NO_PLACEHOLDER
from batch_sms.commands import ceiling, hints, schedule
from batch_sms.commands.canary import CanaryPhase, refuse_without_route
from batch_sms.commands.outcome import SYSTEM_CLOCK, Clock, RunOutcome, Ui
from batch_sms.commands.tariff import with_tariff
from batch_sms.config import Settings
from batch_sms.errors import StateError, UsageError
from batch_sms.input import loader, reading
from batch_sms.journal import Journal, RunInfo, adopt_legacy
from batch_sms.models import ACCEPTED, NOT_SENDABLE, RETRY_DEFAULT, CostEstimate, Status
from batch_sms.provider import nxcloud
from batch_sms.report import workbook
from batch_sms.report.workbook import ReportFiles, ResultRow

if TYPE_CHECKING:
    from batch_sms.commands.sending import Provider

__all__ = [
    "adopt_old_state",
    "copy_input",
    "dispatch_and_report",
    "drop_already_sent",
    "exit_code",
    "file_hash",
    "keep_input",
    "new_run_id",
    "next_steps",
    "open_journal",
    "refuse_resend",
    "run_lock",
    "run_rows",
    "write_run_report",
]


def exit_code(state: str, counts: Mapping[str, int]) -> int:
    """The exit code of a run (send, resume, retry and report agree): 0 when every sendable row
    was accepted by the provider, 1 when some were not (rows left `scheduled` for a later
    window among them: the run is not done yet), 3 stopped by the provider, 130 by the user."""
    if state == "stopped":
        return 3
    if state != "finished":
        return 130
    missing = sum(n for s, n in counts.items() if s not in ACCEPTED | NOT_SENDABLE)
    return 0 if missing == 0 else 1


def next_steps(
    run_id: str,
    state: str,
    files: ReportFiles,
    settings: Settings,
    journal: Journal,
    now: float | None = None,
) -> list[str]:
    """What to do next about a run, each step a command that works as printed (rows handed to a
    retry keep their status in the report, but no retry of this run would take them)."""
    counts = files.counts
    resume_cmd = hints.command("resume", settings, run_id)
    if state != "finished":
        if journal.get_run(run_id).canary == canary.FAILED:
            return [f"to send the rest all the same: {resume_cmd} --skip-canary"]
        return [f"continue with: {resume_cmd}"]
    steps: list[str] = []
    if files.failed is not None:
        steps.append(f"the rows to fix or resend are in {files.failed}")
    if counts.get(Status.UNKNOWN):
        steps.append(
            f"some messages' fate is unknown: settle them with {resume_cmd} (it reads the "
            "provider's records before sending anything again)"
        )
    if journal.count_own(run_id, RETRY_DEFAULT):
        steps.append(f"send the failed ones again with: {hints.command('retry', settings, run_id)}")
    undelivered = journal.count_own(run_id, [Status.UNDELIVERED])
    if counts.get(Status.UNDELIVERED) and undelivered:
        again = hints.command("retry", settings, run_id, "--status", "undelivered")
        steps.append(
            f"{undelivered:,} messages were accepted but not delivered (the receipt says why); "
            f"to send them again: {again}"
        )
    return steps + schedule.scheduled_steps(
        journal, run_id, settings, time.time() if now is None else now
    )


def new_run_id(now: float | None = None) -> str:
    """A sortable, unique run id made only of [0-9a-z-] (it goes into sysMessageId)."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return f"{stamp:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_input(source: Path, folder: Path) -> Path:
    """Keep the run's own copy of its input (the report is built from it)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / f"input{source.suffix.lower()}").resolve()  # resumable from any cwd
    shutil.copyfile(source, target)
    return target


def keep_input(data: bytes, folder: Path) -> Path:
    """Keep the CSV of an input given in memory as the run's copy (`copy_input`'s counterpart)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / "input.csv").resolve()
    target.write_bytes(data)
    return target


def drop_already_sent(checked: Preflight, settings: Settings) -> Preflight:
    """Mark as duplicates the messages whose very text already reached that number in an earlier
    run of the state db: sending them again is what this tool promises never to do by accident."""
    if settings.allow_duplicates or not settings.state_path.exists():
        return checked
    ready = [m for m in checked.messages if m.status is Status.READY]
    with open_journal(settings) as journal:
        earlier = journal.already_accepted((m.phone, m.content) for m in ready)
        maybe = journal.unsettled((m.phone, m.content) for m in ready)
    if not earlier and not maybe:
        return checked
    messages = []
    for message in checked.messages:
        pair = (message.phone, message.content)
        if message.status is Status.READY and pair in earlier:
            run_id, row = earlier[pair]
            why = f"same text already sent to this number in run {run_id} (row {row})"
            message = replace(message, status=Status.DUPLICATE, error=why)
        elif message.status is Status.READY and pair in maybe:
            run_id, row = maybe[pair]
            why = (
                f"same text may already have reached this number in run {run_id} (row {row}, "
                f"its fate is unknown); settle it with: {hints.command('resume', settings, run_id)}"
            )
            message = replace(message, status=Status.DUPLICATE, error=why)
        messages.append(message)
    return replace(checked, messages=messages)


@contextmanager
def run_lock(run: RunInfo, state: Path) -> Iterator[None]:
    """Hold the run for this process: two processes sending one run would send rows twice.

    The lock is an flock on a file beside the state db (whatever directory each process runs
    from), so the kernel drops it when the holder dies, even by kill -9, and a crashed run can
    be resumed at once."""
    path = state.parent / ".locks" / f"{run.id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StateError(
                f"run {run.id} is being sent right now by {holder}",
                "wait for it to finish, or stop it (Ctrl-C) and resume it then",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"batch-sms process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refuse_resend(settings: Settings, input_path: Path, digest: str) -> None:
    """Sending the very same file again is almost always an accident: say what to do instead."""
    if settings.allow_duplicates or not settings.state_path.exists():
        return
    with open_journal(settings) as journal:
        earlier = journal.runs_with_input(digest)
    if earlier:
        first = earlier[0]
        when = datetime.fromtimestamp(first.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise UsageError(
            f"{input_path}: this file was already sent as run {first.id} ({when})",
            f"to continue that run: {hints.command('resume', settings, first.id)}; to send its "
            f"failures again: {hints.command('retry', settings, first.id)}; to send every row "
            "again on purpose: --allow-duplicates",
        )


def adopt_old_state(settings: Settings) -> str:
    """Take over a state db an earlier version left in `--out`; a note for the user, or ""."""
    old = settings.legacy_state_path
    return "" if old is None else adopt_legacy(old, settings.state_path)


@contextmanager
def open_journal(settings: Settings, run_id: str | None = None) -> Iterator[Journal]:
    """The state db; a command about an existing run refuses a db that does not exist yet or
    does not hold the run, with a hint that lists the runs of this very db."""
    if run_id is not None and not settings.state_path.exists():
        raise _unknown_run(run_id, settings)
    journal = Journal(settings.state_path)
    try:
        if run_id is not None and not journal.has_run(run_id):
            raise _unknown_run(run_id, settings)
        yield journal
    finally:
        journal.close()


def _unknown_run(run_id: str, settings: Settings) -> StateError:
    """The error for a run the state db of these settings does not hold."""
    return StateError(f"unknown run {run_id!r} in {settings.state_path}", hints.runs(settings))


def dispatch_and_report(
    journal: Journal,
    run: RunInfo,
    settings: Settings,
    ui: Ui,
    command: str,
    provider: Provider,
    clock: Clock = SYSTEM_CLOCK,
) -> RunOutcome:
    """Send what the run has pending (its canary first, when one is due; within its send
    window on `clock`), then write its report and pick the exit code."""
    if settings.short_link:  # a resume or retry may add a link the rows were not checked for
        lacking = journal.invalidate_lacking(run.id, nxcloud.LINK_PLACEHOLDER, NO_PLACEHOLDER)
        if lacking:
            ui.note(f"{lacking:,} messages are invalid and not sent: {NO_PLACEHOLDER}")
    phase = None
    if canary.due(settings, journal.get_run(run.id).canary):
        refuse_without_route(settings)
        # Its receipts come in real time; which of its messages may go now is the window's
        # question, asked on the run's clock.
        window = schedule.window(settings) or None
        phase = CanaryPhase(journal, run.id, settings, ui.note, window=window, now=clock)
    gates = schedule.gates(settings)
    journal.set_run_state(run.id, "running", started_at=run.started_at or time.time())
    result = provider.dispatch(
        journal, run.id, settings, ui.progress, ui.note, ui.stop_with, canary=phase,
        gates=(*gates, *ceiling.gates(journal, run.id, settings)), clock=clock,
    )  # fmt: skip
    if result.stopped_by is not None or result.halted:
        state, reason = "stopped", result.stop_reason
    elif result.interrupted:
        state, reason = "interrupted", "interrupted by the user"
    else:
        state, reason = "finished", ""
    journal.set_run_state(run.id, state, stop_reason=reason, finished_at=time.time())
    files = write_run_report(journal, journal.get_run(run.id), settings)
    steps = next_steps(run.id, state, files, settings, journal, clock())
    return RunOutcome(
        command,
        run.id,
        state,
        files.report,
        files.counts,
        exit_code(state, files.counts),
        parent=run.parent,
        next_steps=steps,
        stop_reason=reason,
        files=files,
    )


def run_rows(
    journal: Journal, run: RunInfo, settings: Settings
) -> tuple[tuple[str, ...], Iterator[ResultRow]]:
    """The Results sheet of a run: its input's columns, and its rows as they stand in the state
    db (read from the run's input copy one row at a time: a CSV's rows are never all in memory)."""
    table, rows = loader.stream(
        Path(run.input_copy),
        run.sheet,
        encoding=run.settings.get("encoding"),
        header_row=run.settings.get("header_row"),
    )
    records = journal.report_rows(run.id)
    in_flight = workbook.crash_note(hints.command("resume", settings, run.id))
    return table.columns, workbook.result_rows(rows, records, nxcloud.describe, in_flight)


def write_run_report(journal: Journal, run: RunInfo, settings: Settings) -> ReportFiles:
    """The report as a pure function of the run's input copy and the state db."""
    columns, rows = run_rows(journal, run, settings)
    settings = with_tariff(settings, bool(run.settings.get("sandbox")))
    summary = workbook.SummaryInfo(
        run.id,
        "Retry report" if run.parent else "Campaign report",
        settings=run.settings,
        parent=run.parent,
        input_name=run.input_name,
        input_read=run.settings.get(reading.RECORD_KEY) or {},
        started_at=run.started_at,
        finished_at=run.finished_at,
        cost=run_cost(journal, run.id, settings),
        currency=settings.prices.currency,
        describe=nxcloud.describe,
        gsm_safe=gsmsafe.GsmSaving.from_record(run.settings.get(gsmsafe.RECORD_KEY)),
        unrecorded=journal.unrecorded(run.id),
    )
    return workbook.write_report(
        Path(run.input_copy).parent,
        columns,
        rows,
        summary,
        run.input_format,
        again=hints.command("report", settings, run.id),
    )


def run_cost(journal: Journal, run_id: str, settings: Settings) -> CostEstimate:
    """The estimated cost of the run's sendable messages at the configured prices, beside what
    the receipts billed."""
    prices = settings.prices
    return run_costs(journal.cost_tally(run_id), dict(prices.by_country), prices.default)
