"""The use cases: validate and send here, resume/retry/report/runs in followup.py.

This is the one module cli.py calls."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from batch_sms.checks import canary, gsmsafe, plancheck
from batch_sms.checks.preflight import Plan, Preflight, run_preflight
from batch_sms.commands import ceiling, schedule, tariff
from batch_sms.commands.canary import refuse_without_route
from batch_sms.commands.followup import (
    list_runs,
    other_runs_hint,
    parse_statuses,
    require_run,
    resume,
    retry,
    rewrite_report,
)
from batch_sms.commands.outcome import SYSTEM_CLOCK, Clock, RunOutcome, Ui
from batch_sms.commands.runner import (
    adopt_old_state,
    copy_input,
    dispatch_and_report,
    drop_already_sent,
    file_hash,
    keep_input,
    new_run_id,
    open_journal,
    refuse_resend,
    run_lock,
    run_rows,
)
from batch_sms.config import Settings
from batch_sms.dispatch import grouping
from batch_sms.input import frame, reading
from batch_sms.input.loader import Table
from batch_sms.journal import RunInfo
from batch_sms.models import RETRY_DEFAULT, Credentials, Status, ext, sys_message_id
from batch_sms.provider import nxcloud
from batch_sms.report import workbook
from batch_sms.report.workbook import ReportBeside, ReportFiles, ResultRow

if TYPE_CHECKING:
    from batch_sms.commands.sending import Provider

__all__ = [
    "RETRY_DEFAULT",
    "RunOutcome",
    "Ui",
    "adopt_old_state",
    "list_runs",
    "other_runs_hint",
    "parse_statuses",
    "require_run",
    "resume",
    "retry",
    "rewrite_report",
    "run_results",
    "send",
    "validate",
]


def validate(
    settings: Settings, table: Table | None = None, clock: Clock = SYSTEM_CLOCK
) -> RunOutcome:
    """Pre-flight only: a report of every row; nothing is sent. `table` is an input given in
    memory (a DataFrame's), else the file `settings.input` is read; `clock` is the send
    window's now."""
    schedule.window(settings)  # a bad quiet-hours or window value stops before any reading
    checked = drop_already_sent(run_preflight(settings, table), settings)
    run_id = new_run_id()
    with _preflight_report(checked, settings, run_id) as report:
        plan = _plan(checked, settings, clock())  # while the report's sheet is being written
        files = report.finish(_summary(checked, settings, plan, run_id, "Validation report"))
    ready = files.counts.get(Status.READY, 0) == files.rows
    return RunOutcome(
        command="validate",
        run_id=run_id,
        status="ready" if ready else "not-ready",
        report=files.report,
        counts=files.counts,
        exit_code=0 if ready else 1,
        plan=plan,
        files=files,
        next_steps=[] if ready else [f"fix the rows listed in {files.report}, then validate again"],
        checked=checked,
    )


@contextmanager
def run_results(
    run_id: str, settings: Settings
) -> Iterator[tuple[tuple[str, ...], Iterator[ResultRow]]]:
    """A run's Results sheet as `report` writes it: its columns and rows, while the state db is
    open."""
    with open_journal(settings, run_id) as journal:
        yield run_rows(journal, journal.get_run(run_id), settings)


def _plan(checked: Preflight, settings: Settings, now: float) -> Plan:
    """The plan, with the warnings a user should read before confirming."""
    plan = checked.plan(settings)
    notes = plancheck.too_many_per_number(checked.messages, settings.hourly_cap, time.time())
    ucs2 = plancheck.ucs2_summary(checked.messages)
    notes = [*notes, *([ucs2] if ucs2 else [])]
    notes += [canary.plan_line(settings, plan.messages_ready)] if settings.canary else []
    notes += [f"send refuses this: {why}"] if (why := canary.route_missing(settings)) else []
    held = schedule.plan_lines(settings, checked.messages, now)
    return replace(plan, notes=(*plan.notes, *notes, *held))


def _preflight_report(checked: Preflight, settings: Settings, run_id: str) -> ReportBeside:
    """The report of a pre-flight (validate, dry run), statuses before sending: its sheet is
    written beside the caller until it finishes it with the summary."""

    def rows() -> Iterator[ResultRow]:  # the rows are in memory or read again from the file
        return workbook.validation_rows(checked.input_rows(settings), checked.messages)

    return ReportBeside(settings.out / run_id, checked.table.columns, rows, checked.table.format)


def _summary(
    checked: Preflight, settings: Settings, plan: Plan, run_id: str, title: str
) -> workbook.SummaryInfo:
    """The Summary sheet's facts of a pre-flight's report."""
    return workbook.SummaryInfo(
        run_id,
        title,
        settings=settings.public(),
        input_name=str(settings.input),
        input_read=checked.input_read(),
        cost=plan.cost,
        currency=settings.prices.currency,
        gsm_safe=plan.gsm_safe,
    )


def _preflight_files(
    checked: Preflight, settings: Settings, plan: Plan, run_id: str, title: str
) -> ReportFiles:
    """The report of a pre-flight whose plan is made already."""
    with _preflight_report(checked, settings, run_id) as report:
        return report.finish(_summary(checked, settings, plan, run_id, title))


def send(
    settings: Settings, ui: Ui, table: Table | None = None, clock: Clock = SYSTEM_CLOCK
) -> RunOutcome:
    """Pre-flight, plan, confirm, send, workbook. `table` is an input given in memory (a
    DataFrame's): the run keeps it as CSV, so resume, retry and report read it as a file's.
    `clock` is what the send window and its waits go by."""
    schedule.window(settings)  # a bad quiet-hours or window value stops before any reading
    settings = tariff.with_tariff(schedule.pinned(settings))
    if not settings.dry_run:
        refuse_without_route(settings)
    # A send keeps no input row in memory: its report is written from the file and the state db.
    checked = run_preflight(settings, table, keep_rows=False)
    kept = None if table is None or settings.dry_run else frame.to_csv(checked.table)
    if settings.dry_run:
        digest = ""
    elif kept is None:
        digest = file_hash(Path(checked.table.path))
    else:
        digest = hashlib.sha256(kept).hexdigest()
    if not settings.dry_run:
        refuse_resend(settings, Path(checked.table.path), digest)
    checked = drop_already_sent(checked, settings)
    plan = _plan(checked, settings, clock())
    run_id = new_run_id()
    if settings.dry_run:
        return _dry_run(checked, settings, run_id, plan)
    if plan.messages_ready == 0:
        files = _preflight_files(
            checked, settings, plan, run_id, "Campaign report (nothing to send)"
        )
        return RunOutcome(
            "send",
            run_id,
            "nothing-to-send",
            files.report,
            files.counts,
            1,
            plan,
            files=files,
            checked=checked,
            next_steps=[
                *(f"not sendable: {why}" for why in plancheck.why_nothing_ready(checked.messages)),
                f"fix the rows listed in {files.report}",
            ],
        )
    ceiling.refuse_plan(plan.ceiling, plan.cost.unpriced, settings)  # before the provider is asked
    from batch_sms.commands import sending  # aiohttp and the sandbox server: only to send

    sending.require_credentials(settings, "or try the built-in simulator with --sandbox")
    with sending.connect(settings) as provider:
        plan = replace(plan, balance=provider.balance())
        if not ui.confirm(plan):
            return RunOutcome("send", "", "cancelled", None, plan.rows_by_status, 1, plan)
        return _start(checked, settings, ui, run_id, provider, digest, kept, plan, clock)


def _start(
    checked: Preflight,
    settings: Settings,
    ui: Ui,
    run_id: str,
    provider: Provider,
    digest: str,
    kept: bytes | None,
    plan: Plan,
    clock: Clock,
) -> RunOutcome:
    """Record the new run and its messages, then send them; `kept` is the CSV to keep of an
    input given in memory, `plan` the one confirmed (its --gsm-safe saving goes with the run)."""
    folder = settings.out / run_id
    if kept is None:
        copy = copy_input(Path(checked.table.path), folder)
    else:
        copy = keep_input(kept, folder)
    run = RunInfo(
        id=run_id,
        created_at=time.time(),
        parent=None,
        input_name=str(settings.input),
        input_copy=str(copy),
        input_sha256=digest,
        input_format=checked.table.format,
        sheet=checked.table.sheet,
        # How the input was read goes with the run, so `report` can say it again.
        settings={
            **settings.public(),
            reading.RECORD_KEY: checked.input_read(),
            **({gsmsafe.RECORD_KEY: plan.gsm_safe.record()} if plan.gsm_safe else {}),
        },
    )
    with open_journal(settings) as journal, run_lock(run, settings.state_path):
        journal.create_run(run)
        journal.add_messages(run_id, checked.messages)
        # The verdicts are in the state db now: let their memory go before sending (a million
        # of them hold hundreds of MB). `send` built this Preflight and reads it no more.
        checked.messages.clear()
        return dispatch_and_report(journal, run, settings, ui, "send", provider, clock)


def _dry_run(checked: Preflight, settings: Settings, run_id: str, plan: Plan) -> RunOutcome:
    """Build and sign every request as a send would, and send none."""
    creds = Credentials(
        access_key=settings.credentials.access_key or "dry-run",
        access_secret=settings.credentials.access_secret or "dry-run",
        app_key=settings.credentials.app_key or "dry-run",
    )
    now_ms = int(time.time() * 1000)
    built = 0
    ready = [m for m in checked.messages if m.status is Status.READY]
    if settings.group > 1:  # identical texts in one request, as the dispatch groups them
        for text, phones in grouping.plan_groups(((m.phone, m.content) for m in ready),
                                                 settings.group):  # fmt: skip
            link = settings.short_link, settings.link_verbose_field
            nxcloud.build_send(nxcloud.grouped(phones, text, settings.sender, *link), creds, now_ms)
            built += 1
        ready = []
    for message in ready:
        request = nxcloud.SendRequest(
            phone=message.phone,
            content=message.content,
            sender=settings.sender,
            sys_message_id=sys_message_id(run_id, message.row, message.index),
            dr_url=settings.dr_url,
            ext=ext(run_id, message.row, message.index),
            short_link=settings.short_link,
            link_verbose=settings.link_verbose_field,
        )
        nxcloud.build_send(request, creds, now_ms)
        built += 1
    missing = settings.credentials.missing()
    signed = (
        "signed"
        if not missing
        else ("signed with placeholder keys (not set: " + ", ".join(missing) + ")")
    )
    files = _preflight_files(checked, settings, plan, run_id, "Dry run: nothing was sent")
    return RunOutcome(
        "send",
        run_id,
        "dry-run",
        files.report,
        files.counts,
        0,
        plan,
        files=files,
        checked=checked,
        next_steps=[
            f"{built} requests were built and {signed}; none was sent. "
            "Run again without --dry-run to send."
        ],
    )
