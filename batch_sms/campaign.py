"""The use cases: validate, send, resume, retry, report, runs. The one module cli.py calls."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from batch_sms import config, loader, nxcloud, reconcile, report, sending
from batch_sms.config import Settings
from batch_sms.errors import StateError, UsageError
from batch_sms.journal import Journal, Result, RetryCopy, RunInfo
from batch_sms.models import Message, Status
from batch_sms.preflight import Plan, Preflight, run_preflight
from batch_sms.report import ReportFiles
from batch_sms.sending import Provider, SendResult
from batch_sms.validate import CostEstimate, estimate_cost

__all__ = [
    "Outcome",
    "Ui",
    "list_runs",
    "resume",
    "retry",
    "rewrite_report",
    "send",
    "validate",
]

SUCCESS = {Status.SENT, Status.DELIVERED}
NOT_SENDABLE = {Status.INVALID, Status.DUPLICATE, Status.SUPPRESSED}
RATE_OPTIONS = ("tps", "hourly_cap", "concurrency", "max_attempts", "timeout")


class Ui(Protocol):
    """What a use case needs from whoever drives it (the CLI, or a test)."""

    def confirm(self, plan: Plan) -> bool:
        """Show the plan; True to go ahead."""

    def progress(self, update: Any) -> None:
        """Show dispatch progress."""

    def note(self, text: str) -> None:
        """Show a line of information."""


@dataclass
class Outcome:
    """What a command did, for printing and for the exit code."""

    command: str
    run_id: str
    status: str
    report: Path | None
    counts: dict[str, int]
    exit_code: int
    plan: Plan | None = None
    parent: str | None = None
    next_steps: list[str] = field(default_factory=list)
    stop_reason: str = ""
    files: ReportFiles | None = None
    sent: SendResult | None = None
    problems: list[tuple[int, str, str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `--json` object."""
        data: dict[str, Any] = {
            "command": self.command,
            "run_id": self.run_id,
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


def new_run_id(now: float | None = None) -> str:
    """A sortable, unique run id made only of [0-9a-z-] (it goes into sysMessageId)."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return f"{stamp:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _summary(run_id: str, title: str, settings: dict[str, Any], **kw: Any) -> report.SummaryInfo:
    return report.SummaryInfo(run_id=run_id, title=title, settings=settings, **kw)


def validate(settings: Settings) -> Outcome:
    """Pre-flight only: a report of every row; nothing is sent."""
    checked = run_preflight(settings)
    run_id = new_run_id()
    files = _preflight_report(checked, settings, run_id, "Validation report")
    ready = files.counts.get(Status.READY, 0) == files.rows
    return Outcome(
        command="validate",
        run_id=run_id,
        status="ready" if ready else "not-ready",
        report=files.report,
        counts=files.counts,
        exit_code=0 if ready else 1,
        plan=checked.plan(settings),
        files=files,
        next_steps=[] if ready else [f"fix the rows listed in {files.report}, then validate again"],
        problems=problems(checked),
    )


def problems(checked: Preflight) -> list[tuple[int, str, str, str]]:
    """(row, phone as written, status, why) of every recipient that will not be sent."""
    return [
        (m.row, m.raw_phone, str(m.status), m.error)
        for m in checked.messages
        if m.status is not Status.READY
    ]


def _preflight_report(
    checked: Preflight, settings: Settings, run_id: str, title: str
) -> ReportFiles:
    """The report of a pre-flight (validate, dry run): statuses before sending."""
    rows = report.validation_rows(checked.table.rows, checked.messages)
    summary = _summary(
        run_id,
        title,
        settings.public(),
        input_name=str(settings.input),
        cost=checked.plan(settings).cost,
        currency=settings.prices.currency,
    )
    return report.write_report(
        settings.out / run_id, checked.table.columns, rows, summary, checked.table.format
    )


def _copy_input(source: Path, folder: Path) -> tuple[Path, str]:
    """Keep the run's own copy of its input (the report is built from it) and its hash."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"input{source.suffix.lower()}"
    shutil.copyfile(source, target)
    digest = hashlib.sha256()
    with target.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return target, digest.hexdigest()


@contextmanager
def _journal(settings: Settings, run_id: str | None = None) -> Iterator[Journal]:
    """The state db; a command about an existing run refuses a db that does not exist yet."""
    if run_id is not None and not settings.state_path.exists():
        raise StateError(
            f"unknown run {run_id!r} in {settings.state_path}", "batch-sms runs lists them"
        )
    journal = Journal(settings.state_path)
    try:
        yield journal
    finally:
        journal.close()


def send(settings: Settings, ui: Ui) -> Outcome:
    """Pre-flight, plan, confirm, send, report."""
    checked = run_preflight(settings)
    plan = checked.plan(settings)
    run_id = new_run_id()
    if settings.dry_run:
        return _dry_run(checked, settings, run_id, plan)
    if plan.messages_ready == 0:
        files = _preflight_report(checked, settings, run_id, "Campaign report (nothing to send)")
        return Outcome(
            "send",
            run_id,
            "nothing-to-send",
            files.report,
            files.counts,
            1,
            plan,
            files=files,
            next_steps=[f"fix the rows listed in {files.report}"],
        )
    if not settings.sandbox and settings.credentials.missing():
        raise UsageError(
            "missing credentials: " + ", ".join(settings.credentials.missing()),
            "set them in the environment or in batch-sms.toml [credentials]; "
            "or try the built-in simulator with --sandbox",
        )
    with sending.connect(settings) as provider:
        plan = replace(plan, balance=provider.balance())
        if not ui.confirm(plan):
            return Outcome("send", run_id, "cancelled", None, plan.rows_by_status, 1, plan)
        return _start(checked, settings, ui, run_id, provider)


def _start(
    checked: Preflight, settings: Settings, ui: Ui, run_id: str, provider: Provider
) -> Outcome:
    """Record the new run and its messages, then send them."""
    folder = settings.out / run_id
    copy, digest = _copy_input(Path(checked.table.path), folder)
    run = RunInfo(
        id=run_id,
        created_at=time.time(),
        parent=None,
        input_name=str(settings.input),
        input_copy=str(copy),
        input_sha256=digest,
        input_format=checked.table.format,
        sheet=checked.table.sheet,
        settings=settings.public(),
    )
    with _journal(settings) as journal:
        journal.create_run(run)
        journal.add_messages(run_id, checked.messages)
        outcome = _dispatch_and_report(journal, run, settings, ui, "send", provider)
        outcome.problems = problems(checked)
        return outcome


def _dry_run(checked: Preflight, settings: Settings, run_id: str, plan: Plan) -> Outcome:
    """Build and sign every request as a send would, and send none."""
    creds = nxcloud.Credentials(
        access_key=settings.credentials.access_key or "dry-run",
        access_secret=settings.credentials.access_secret or "dry-run",
        app_key=settings.credentials.app_key or "dry-run",
    )
    now_ms = int(time.time() * 1000)
    built = 0
    for message in checked.messages:
        if message.status is Status.READY:
            request = nxcloud.SendRequest(
                phone=message.phone,
                content=message.content,
                sender=settings.sender,
                sys_message_id=f"{run_id}-{message.row}-{message.index}",
                dr_url=settings.dr_url,
                ext=f"{run_id}:{message.row}:{message.index}",
            )
            nxcloud.build_send(request, creds, now_ms)
            built += 1
    files = _preflight_report(checked, settings, run_id, "Dry run: nothing was sent")
    return Outcome(
        "send",
        run_id,
        "dry-run",
        files.report,
        files.counts,
        0,
        plan,
        files=files,
        next_steps=[
            f"{built} requests were built and signed; none was sent. "
            "Run again without --dry-run to send."
        ],
    )


def _dispatch_and_report(
    journal: Journal, run: RunInfo, settings: Settings, ui: Ui, command: str, provider: Provider
) -> Outcome:
    """Send what the run has pending, then write its report and pick the exit code."""
    journal.set_run_state(run.id, "running", started_at=run.started_at or time.time())
    result = provider.dispatch(journal, run.id, settings, ui.progress)
    if result.stopped_by is not None:
        state, reason = "stopped", result.stop_reason
    elif result.interrupted:
        state, reason = "interrupted", "interrupted by the user"
    else:
        state, reason = "finished", ""
    journal.set_run_state(run.id, state, stop_reason=reason, finished_at=time.time())
    files = write_run_report(journal, journal.get_run(run.id), settings)
    resume_cmd = f"batch-sms resume {run.id}" + (" --sandbox" if settings.sandbox else "")
    steps: list[str] = []
    if state == "finished":
        failed = sum(n for s, n in files.counts.items() if s not in SUCCESS | NOT_SENDABLE)
        exit_code = 0 if failed == 0 else 1
        if files.failed is not None:
            steps.append(f"the rows to fix or resend are in {files.failed}")
        if failed:
            steps.append(f"send them again with: batch-sms retry {run.id}")
    else:
        exit_code = 3 if state == "stopped" else 130
        steps.append(f"continue with: {resume_cmd}")
    return Outcome(
        command,
        run.id,
        state,
        files.report,
        files.counts,
        exit_code,
        parent=run.parent,
        next_steps=steps,
        stop_reason=reason,
        files=files,
        sent=result,
    )


def write_run_report(journal: Journal, run: RunInfo, settings: Settings) -> ReportFiles:
    """The report as a pure function of the run's input copy and the state db."""
    table = loader.load(Path(run.input_copy), run.sheet)
    rows = report.result_rows(table.rows, journal.report_rows(run.id), nxcloud.describe)
    summary = _summary(
        run.id,
        "Retry report" if run.parent else "Campaign report",
        run.settings,
        parent=run.parent,
        input_name=run.input_name,
        started_at=run.started_at,
        finished_at=run.finished_at,
        cost=_run_cost(journal, run.id, settings),
        currency=settings.prices.currency,
        describe=nxcloud.describe,
    )
    return report.write_report(
        Path(run.input_copy).parent, table.columns, rows, summary, run.input_format
    )


def _run_cost(journal: Journal, run_id: str, settings: Settings) -> CostEstimate:
    """The estimated cost of the run's sendable messages, at the configured prices."""
    sendable = (
        Message(r.row, r.index, r.raw_phone, r.phone, r.content, r.segments, r.encoding,
                r.country_code, Status.READY)
        for r in journal.report_rows(run_id)
        if r.status not in NOT_SENDABLE
    )  # fmt: skip
    prices = settings.prices
    return estimate_cost(sendable, dict(prices.by_country), prices.default)


def _run_settings(run: RunInfo, base: Settings, given: Sequence[str]) -> Settings:
    """The run's own settings, with the secrets and output paths of `base` and the options
    the user gave on this command line (`given`) on top."""
    merged = config.from_public(run.settings, base)
    return config.override(merged, **{name: getattr(base, name) for name in given})


def resume(
    run_id: str,
    base: Settings,
    ui: Ui,
    *,
    resend_unknown: bool = False,
    settle: float = reconcile.SETTLE,
    given: Sequence[str] = (),
) -> Outcome:
    """Continue a stopped or interrupted run."""
    with _journal(base, run_id) as journal:
        run = journal.get_run(run_id)
        if run.state == "running":
            ui.note(f"run {run_id} was still marked running: it was interrupted; continuing it")
        settings = _run_settings(run, base, given)
        unknown = journal.inflight_to_unknown(run_id)
        if unknown:
            ui.note(
                f"{unknown} messages were in flight when the run stopped: their fate is unknown"
            )
        with sending.connect(settings) as provider:
            if resend_unknown:
                count = journal.set_status(run_id, [Status.UNKNOWN], Status.PENDING)
                if count:
                    ui.note(
                        f"--resend-unknown: {count} messages whose fate is unknown will be sent "
                        "again; their recipients may get them twice"
                    )
            else:
                _settle_unknown(journal, run_id, provider, ui, settle)
            return _dispatch_and_report(journal, run, settings, ui, "resume", provider)


def _settle_unknown(
    journal: Journal, run_id: str, provider: Provider, ui: Ui, settle: float
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
    claimed = journal.known_messageids(r.messageid.split("-", 1)[0] for r in records)
    claimed |= journal.known_messageids(r.messageid for r in records)
    verdict = reconcile.reconcile(unresolved, records, claimed, now=now, settle=settle)
    results = [
        Result(m.id, Status.SENT, "0", "accepted (found in the provider's records)",
               record.messageid, m.attempts, sent_at=m.inflight_at)
        for m, record in verdict.arrived
    ] + [Result(m.id, Status.PENDING, attempts=m.attempts) for m in verdict.never]  # fmt: skip
    journal.record(results)
    ui.note(
        f"checked {len(unresolved)} unknown messages against the provider's records: "
        f"{len(verdict.arrived)} had arrived, {len(verdict.never)} never did (sent now), "
        f"{len(verdict.undecided)} still unknown"
        + (" (resume again later, or use --resend-unknown)" if verdict.undecided else "")
    )


def retry(
    run_id: str, base: Settings, ui: Ui, *, statuses: Sequence[Status], given: Sequence[str] = ()
) -> Outcome:
    """A new run from the rows of RUN_ID that did not succeed."""
    with _journal(base, run_id) as journal:
        parent = journal.get_run(run_id)
        settings = _run_settings(parent, base, given)
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
            settings=settings.public(),
        )
        journal.create_run(run)
        copied = journal.copy_for_retry_detail(parent.id, new_id, statuses)
        ui.note(f"retry {new_id} of {parent.id}: {_copied_text(copied)}")
        with sending.connect(settings) as provider:
            return _dispatch_and_report(journal, run, settings, ui, "retry", provider)


def _copied_text(copied: RetryCopy) -> str:
    """Describe what copy_for_retry took over."""
    text = f"{copied.copied} messages to send"
    if copied.skipped:
        text += f"; {copied.skipped} skipped because the same text already reached that number"
    return text


def _link_input(parent: RunInfo, folder: Path) -> Path:
    """A retry reads the same input copy as its parent; keep one beside its own report too."""
    copy, _ = _copy_input(Path(parent.input_copy), folder)
    return copy


def rewrite_report(run_id: str, base: Settings) -> Outcome:
    """Write the report again from the state db (idempotent; picks up new receipts)."""
    with _journal(base, run_id) as journal:
        run = journal.get_run(run_id)
        files = write_run_report(journal, run, base)
        return Outcome(
            "report",
            run_id,
            run.state,
            files.report,
            files.counts,
            0,
            parent=run.parent,
            files=files,
        )


def list_runs(base: Settings) -> list[dict[str, Any]]:
    """The runs in the state db, newest first."""
    if not base.state_path.exists():
        return []
    with _journal(base) as journal:
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


def parse_statuses(text: str) -> list[Status]:
    """`--status failed,capped` → statuses that retry may take."""
    allowed = {Status.FAILED, Status.CAPPED, Status.UNKNOWN, Status.PENDING, Status.UNDELIVERED}
    out = []
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        try:
            status = Status(part)
        except ValueError:
            status = None
        if status not in allowed:
            names = ", ".join(sorted(str(s) for s in allowed))
            raise UsageError(f"--status {part!r}: retry takes {names}")
        out.append(status)
    if not out:
        raise UsageError("--status needs at least one status")
    return out


def require_run(value: str | None) -> str:
    """A run id argument, checked for shape."""
    if not value or not all(c.isalnum() or c == "-" for c in value):
        raise StateError(f"{value!r} is not a run id", "batch-sms runs lists them")
    return value


Callback = Callable[[Any], None]
