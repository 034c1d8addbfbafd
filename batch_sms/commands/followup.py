"""The use cases on an existing run: resume, retry, report, runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch_sms import config
from batch_sms.commands import canary, ceiling, hints, schedule, tariff
from batch_sms.commands.outcome import SYSTEM_CLOCK, Clock, RunOutcome, Ui
from batch_sms.commands.refresh import refresh_receipts
from batch_sms.commands.runner import (
    copy_input,
    dispatch_and_report,
    exit_code,
    new_run_id,
    next_steps,
    open_journal,
    run_lock,
    write_run_report,
)
from batch_sms.config import Settings
from batch_sms.errors import RUNS_HINT, StateError, UsageError
from batch_sms.input import reading
from batch_sms.journal import Journal, Result, RetryCopy, RunInfo
from batch_sms.models import RETRYABLE, Status, base_messageid
from batch_sms.provider import reconcile
from batch_sms.report.results import crash_note

if TYPE_CHECKING:
    from batch_sms.commands.sending import Provider

__all__ = [
    "list_runs", "other_runs_hint", "parse_statuses", "require_run", "resume", "retry",
    "rewrite_report",
]  # fmt: skip


def _run_settings(run: RunInfo, base: Settings, given: Sequence[str]) -> Settings:
    """The run's own settings, with the secrets and output paths of `base` and the options
    the user gave on this command line (`given`) on top."""
    merged = config.from_public(run.settings, base)
    merged = config.override(merged, **{name: getattr(base, name) for name in given})
    return tariff.with_tariff(merged)  # a sandbox run without prices: the simulator's tariff


def resume(
    run_id: str,
    base: Settings,
    ui: Ui,
    *,
    resend_unknown: bool = False,
    settle: float = reconcile.SETTLE,
    given: Sequence[str] = (),
    skip_canary: bool = False,
    clock: Clock = SYSTEM_CLOCK,
) -> RunOutcome:
    """Continue a stopped or interrupted run (`skip_canary`: without the canary it has not
    passed), or send its scheduled rows whose window is open on `clock`."""
    with open_journal(base, run_id) as journal:
        run = journal.get_run(run_id)
        with run_lock(run, base.state_path):
            settings = _run_settings(run, base, given)
            canary.before_resume(journal, run, settings, skip_canary)
            return _resume(journal, run, base, ui, resend_unknown, settle, given, clock)


def _resume(
    journal: Journal,
    run: RunInfo,
    base: Settings,
    ui: Ui,
    resend_unknown: bool,
    settle: float,
    given: Sequence[str],
    clock: Clock,
) -> RunOutcome:
    """Resume a run this process holds."""
    run_id = run.id
    if run.state == "running":
        ui.note(f"run {run_id} was still marked running: it was interrupted; continuing it")
    settings = schedule.pinned(_run_settings(run, base, given))
    schedule.window(settings)  # a bad window given on this command line stops here
    ceiling.refuse_over_ceiling(journal, run_id, settings)  # before the provider is asked
    resume_cmd = hints.command("resume", settings, run_id)
    unknown = journal.inflight_to_unknown(run_id, crash_note(resume_cmd))
    if unknown:
        ui.note(f"{unknown} messages were in flight when the run stopped: their fate is unknown")
    from batch_sms.commands import sending  # aiohttp and the sandbox server: only to send

    with sending.connect(settings) as provider:
        if resend_unknown:
            count = journal.set_status(run_id, [Status.UNKNOWN], Status.PENDING)
            if count:
                ui.note(
                    f"--resend-unknown: {count} messages whose fate is unknown will be sent "
                    "again; their recipients may get them twice"
                )
        else:
            _settle_unknown(journal, run_id, provider, ui, settle, resume_cmd)
        _skip_already_sent(journal, run_id, settings, ui)
        _say_handed_off(journal, run_id, settings, ui)
        return dispatch_and_report(journal, run, settings, ui, "resume", provider, clock)


def _say_handed_off(journal: Journal, run_id: str, settings: Settings, ui: Ui) -> None:
    """A resume never sends the messages a retry took over: say where they went."""
    for retry_id, count in journal.handed_off(run_id).items():
        ui.note(
            f"{count:,} messages of this run were handed to retry run {retry_id} and are not "
            f"sent by this resume; to continue that run: "
            f"{hints.command('resume', settings, retry_id)}"
        )


def _skip_already_sent(journal: Journal, run_id: str, settings: Settings, ui: Ui) -> None:
    """Rows whose text reached their number in another run meanwhile become duplicates."""
    if settings.allow_duplicates:
        return
    count = journal.mark_already_accepted(run_id)
    if count:
        ui.note(f"{count} messages were already sent by another run meanwhile: not sent again")


def _settle_unknown(
    journal: Journal, run_id: str, provider: Provider, ui: Ui, settle: float, resume_cmd: str
) -> None:
    """Ask the provider's records which unknown messages arrived (see reconcile.py)."""
    unresolved = [reconcile.Unresolved(*row) for row in journal.unresolved(run_id)]
    if not unresolved:
        return
    now = time.time()
    records = provider.records(reconcile.days_to_ask(unresolved, now))
    if records is None:
        ui.note(
            f"{len(unresolved)} messages stay 'unknown': the provider's records could not be read"
        )
        return
    claimed = journal.known_messageids(base_messageid(r.messageid) for r in records)
    claimed |= journal.known_messageids(r.messageid for r in records)
    # Other runs' unresolved messages count only from the first day whose records we read.
    first_day = min(reconcile.days_to_ask(unresolved, now))
    since = datetime.strptime(first_day, "%Y%m%d").replace(tzinfo=UTC).timestamp()
    elsewhere = journal.pending_elsewhere({m.phone for m in unresolved}, run_id, since)
    verdict = reconcile.reconcile(
        unresolved, records, claimed, now=now, settle=settle, elsewhere=elsewhere
    )
    results = [
        Result(m.id, Status.SENT, "0", "accepted (found in the provider's records)",
               record.messageid, m.attempts, sent_at=m.inflight_at)
        for m, record in verdict.arrived
    ] + [Result(m.id, Status.PENDING, attempts=m.attempts) for m in verdict.never]  # fmt: skip
    journal.record(results)
    # Each message left unknown says why, and what can decide it: "again later" only where a
    # later resume can; otherwise only the user, with --resend-unknown.
    later = f"{resume_cmd} again later decides it"
    never = f"no later resume can decide it; to send it anyway: {resume_cmd} --resend-unknown"
    journal.set_errors([
        (m.id, f"fate unknown: {why}; {later if can else never}")
        for m in verdict.undecided
        for why, can in [verdict.why[m.id]]
    ])  # fmt: skip
    tail = ""
    if any(can for _, can in verdict.why.values()):
        tail = f" (sms_error says why; {resume_cmd} again later decides those it can)"
    elif verdict.undecided:
        tail = f" (sms_error says why; only {resume_cmd} --resend-unknown sends them)"
    ui.note(
        f"checked {len(unresolved)} unknown messages against the provider's records: "
        f"{len(verdict.arrived)} had arrived, {len(verdict.never)} never did (sent now), "
        f"{len(verdict.undecided)} still unknown{tail}"
    )


def _input_read(run: RunInfo) -> dict[str, object]:
    """The record of how a run's input was read, if it has one (runs made before don't)."""
    read = run.settings.get(reading.RECORD_KEY)
    return {reading.RECORD_KEY: read} if read else {}


def retry(
    run_id: str,
    base: Settings,
    ui: Ui,
    *,
    statuses: Sequence[Status],
    resend_unknown: bool = False,
    given: Sequence[str] = (),
    clock: Clock = SYSTEM_CLOCK,
) -> RunOutcome:
    """A new run from the rows of RUN_ID that did not succeed (within the send window on
    `clock`)."""
    if Status.UNKNOWN in statuses and not resend_unknown:
        raise UsageError(
            "--status unknown: those messages may have arrived; sending them again may deliver "
            "them twice",
            f"settle them first with: {hints.command('resume', base, run_id)} (it reads the "
            "provider's records); or add --resend-unknown to send them anyway",
        )
    with open_journal(base, run_id) as journal:
        parent = journal.get_run(run_id)
        with run_lock(parent, base.state_path):
            return _retry(journal, parent, base, ui, statuses, given, clock)


def _retry(
    journal: Journal,
    parent: RunInfo,
    base: Settings,
    ui: Ui,
    statuses: Sequence[Status],
    given: Sequence[str],
    clock: Clock,
) -> RunOutcome:
    """Make and send the retry run while this process holds the parent."""
    settings = schedule.pinned(_run_settings(parent, base, given))
    schedule.window(settings)  # a bad window given on this command line stops here
    if not journal.retry_would_send(parent.id, statuses):
        return _nothing_to_retry(journal, parent, settings, statuses)
    new_id = new_run_id()
    run = RunInfo(
        id=new_id,
        created_at=time.time(),
        parent=parent.id,
        input_name=parent.input_name,
        input_copy=str(_link_input(parent, settings.out / new_id)),
        input_sha256=parent.input_sha256,
        input_format=parent.input_format,
        sheet=parent.sheet,
        # The retry sends the parent's rows as the parent read them.
        settings={**settings.public(), **_input_read(parent)},
    )
    with run_lock(run, settings.state_path):
        journal.create_run(run)
        copied = journal.copy_for_retry(parent.id, new_id, statuses)
        ui.note(f"retry {new_id} of {parent.id}: {_copied_text(copied)}")
        _skip_already_sent(journal, new_id, settings, ui)
        ceiling.refuse_over_ceiling(journal, new_id, settings)  # before the provider is asked
        from batch_sms.commands import sending  # aiohttp and the sandbox server: only to send

        with sending.connect(settings) as provider:
            return dispatch_and_report(journal, run, settings, ui, "retry", provider, clock)


def _nothing_to_retry(
    journal: Journal, parent: RunInfo, settings: Settings, statuses: Sequence[Status]
) -> RunOutcome:
    """No run is made when a retry would take no row: say where the rows are instead.

    Exit 0: nothing was left to do by this command (the rows that need attention, if any, were
    handed to another run, whose own exit code and hints speak for them)."""
    wanted = ",".join(statuses)
    own = journal.count_own(parent.id, statuses)
    steps = [
        f"nothing to retry: the {own:,} {wanted} messages of run {parent.id} already reached "
        "their numbers with the same text in this run or its retries"
        if own
        else f"nothing to retry: run {parent.id} has no {wanted} rows of its own"
    ]
    for retry_id, count in journal.handed_off(parent.id).items():
        steps.append(
            f"{count:,} messages were handed to retry run {retry_id}; to see them: "
            f"{hints.command('report', settings, retry_id)}"
        )
    counts = journal.counts(parent.id)
    steps.append("its messages by status: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return RunOutcome("retry", "", "nothing-to-retry", None, {}, 0, parent=parent.id,
                   next_steps=steps)  # fmt: skip


def _copied_text(copied: RetryCopy) -> str:
    """Describe what copy_for_retry took over."""
    text = f"{copied.copied} messages to send"
    if copied.skipped:
        text += f"; {copied.skipped} skipped because the same text already reached that number"
    return text


def _link_input(parent: RunInfo, folder: Path) -> Path:
    """A retry reads the same input copy as its parent; keep one beside its own report too."""
    return copy_input(Path(parent.input_copy), folder)


def rewrite_report(
    run_id: str,
    base: Settings,
    ui: Ui | None = None,
    *,
    refresh: float | None = None,
    clock: Callable[[], float] = time.time,
) -> RunOutcome:
    """Write the report again from the state db (idempotent; picks up new receipts).

    With `refresh` (seconds of grace), first ask the provider's records about the `sent`
    messages accepted longer ago than that and still without a receipt (refresh.py)."""
    with open_journal(base, run_id) as journal:
        run = journal.get_run(run_id)
        if refresh is not None:
            if ui is None:
                raise ValueError("a refresh needs a ui for its notes")
            settings = _run_settings(run, base, ())
            refresh_receipts(journal, run, settings, ui, grace=refresh, clock=clock)
        files = write_run_report(journal, run, base)
        return RunOutcome(
            "report",
            run_id,
            run.state,
            files.report,
            files.counts,
            exit_code(run.state, files.counts),
            parent=run.parent,
            next_steps=next_steps(run_id, run.state, files, base, journal),
            files=files,
        )


def list_runs(base: Settings) -> list[dict[str, Any]]:
    """The runs in the state db, newest first."""
    if not base.state_path.exists():
        return []
    with open_journal(base) as journal:
        out = []
        for run, counts in journal.list_runs():
            out.append(
                {
                    "run_id": run.id,
                    "created": datetime.fromtimestamp(run.created_at, UTC).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                    "input": run.input_name,
                    "status": run.state,
                    "counts": counts,
                    "parent": run.parent,
                }
            )
        return out


def other_runs_hint(base: Settings) -> str:
    """Where the runs not listed are: sandbox runs keep their own state db, and the other way
    round; "" when that db does not exist (or `--state` names one db for both)."""
    other = replace(base, sandbox=not base.sandbox)
    if other.state_path == base.state_path or not other.state_path.exists():
        return ""
    kind = "made with --sandbox" if other.sandbox else "sent to the provider"
    return f"the runs {kind} are listed by: {hints.command('runs', other)}"


def parse_statuses(text: str) -> list[Status]:
    """`--status failed,capped` → statuses that retry may take."""
    out = []
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        try:
            status = Status(part)
        except ValueError:
            status = None
        if status not in RETRYABLE:
            names = ", ".join(sorted(str(s) for s in RETRYABLE))
            raise UsageError(f"--status {part!r}: retry takes {names}")
        out.append(status)
    if not out:
        raise UsageError("--status needs at least one status")
    return out


def require_run(value: str | None, settings: Settings | None = None) -> str:
    """A run id argument, checked for shape (the hint lists the runs of the settings' db)."""
    if not value or not all(c.isalnum() or c == "-" for c in value):
        raise StateError(
            f"{value!r} is not a run id", RUNS_HINT if settings is None else hints.runs(settings)
        )
    return value
