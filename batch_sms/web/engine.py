"""The one door from the web app to the use cases (commands, checks, report): names from the
rest of batch_sms that the pages need are imported here only, so a rename elsewhere is fixed in
one place."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from batch_sms.checks import canary, gsmsafe
from batch_sms.checks.costs import ceiling_refusal, headroom_text
from batch_sms.checks.reasons import reason_code
from batch_sms.checks.segments import segment
from batch_sms.checks.template import CONTENT_NAMES, PHONE_NAMES, Template, detect_column
from batch_sms.commands import campaign, schedule, sending, tariff
from batch_sms.commands.outcome import SYSTEM_CLOCK, Clock, RunOutcome
from batch_sms.commands.runner import file_hash, open_journal, run_cost
from batch_sms.config import Settings, override
from batch_sms.errors import BatchSmsError, InputError, RenderError, StateError
from batch_sms.input import loader
from batch_sms.models import RETRY_DEFAULT, STATUS_ORDER, Status, duration_text, utc_text
from batch_sms.provider.nxcloud import Kind, describe
from batch_sms.report import workbook
from batch_sms.web.facts import cost_facts, plan_facts

__all__ = [
    "EXTENSIONS",
    "SYSTEM_CLOCK",
    "BatchSmsError",
    "Check",
    "Clock",
    "FileView",
    "InputError",
    "Outcome",
    "Problem",
    "check",
    "form_settings",
    "inspect",
    "list_runs",
    "made_run",
    "plan_key",
    "preview",
    "resume",
    "retry",
    "rewrite_report",
    "run_counts",
    "run_end",
    "run_file",
    "send",
]

EXTENSIONS = frozenset(loader.EXTENSIONS)  # the suffixes pre-flight reads
Outcome = RunOutcome  # what a use case reports back
STATUSES = tuple(str(s) for s in STATUS_ORDER)
RESUMABLE = frozenset({"interrupted", "stopped", "running"})  # run states `resume` continues
RETRIED = frozenset(str(s) for s in RETRY_DEFAULT)  # statuses `retry` takes
# The files of a run a browser may download: kind -> file name(s) in the run's folder, as
# report.workbook writes them. Nothing from a request ever names a path.
RUN_FILES = workbook.RUN_FILES
_PHONE_CODES = ("phone", "excel", "duplicate", "suppressed", "capped")
_QUOTED = re.compile(r'"([^"]+)"')


def list_runs(settings: Settings) -> list[dict[str, Any]]:
    """The runs of the state db, newest first, as `batch-sms runs --json` gives them; a stopped
    run also says whether its canary stopped it (`canary_failed`)."""
    runs = campaign.list_runs(settings)
    stopped = [run for run in runs if run["status"] == "stopped"]
    if stopped:
        with open_journal(settings) as journal:
            for run in stopped:
                run["canary_failed"] = journal.get_run(run["run_id"]).canary == canary.FAILED
    return runs


def made_run(settings: Settings, since: float, upload: Path | None, parent: str | None) -> str:
    """The run a send of `upload` (or a retry of run `parent`) started at or after `since`
    made; "" while it has made none yet."""
    if not settings.state_path.exists():
        return ""
    with open_journal(settings) as journal:
        if parent is not None:
            digest = journal.get_run(parent).input_sha256  # a retry shares its parent's
        elif upload is not None and upload.is_file():
            digest = file_hash(upload)
        else:
            return ""
        found = [r for r in journal.runs_with_input(digest)
                 if r.parent == parent and r.created_at >= since]  # fmt: skip
    return found[-1].id if found else ""


def run_counts(settings: Settings, run_id: str) -> dict[str, int]:
    """A run's messages by status as the state db holds them now (receipts move them on)."""
    with open_journal(settings, run_id) as journal:
        return journal.counts(run_id)


def cost_of(settings: Settings, run_id: str) -> list[tuple[str, str]]:
    """A run's estimated cost (at the configured prices, the simulator's for a sandbox) and
    what its receipts billed so far, as the run page says them."""
    priced = tariff.with_tariff(settings)
    with open_journal(settings, run_id) as journal:
        cost = run_cost(journal, run_id, priced)
    return cost_facts(cost, priced.prices.currency)


def latest_errors(settings: Settings, run_id: str, limit: int = 5) -> list[dict[str, str]]:
    """The run's newest answers that were not an accept (a rejection, a throttle, a time-out),
    newest first, as the run page lists them."""
    with open_journal(settings, run_id) as journal:
        answers = journal.latest_answers(run_id, but=Kind.ACCEPTED, limit=limit)
    return [
        {"at": utc_text(at), "row": str(row), "code": code, "reason": result or describe(code)}
        for at, row, code, result in answers
    ]


def rewrite_report(settings: Settings, run_id: str) -> RunOutcome:
    """`batch-sms report RUN_ID`: the run's files written again with the receipts now in."""
    return campaign.rewrite_report(run_id, settings)


def run_file(settings: Settings, run_id: str, kind: str) -> Path:
    """One of a run's own files, by run id and kind; LookupError when there is no such file."""
    names = RUN_FILES.get(kind)
    if names is None:
        raise LookupError(kind)
    try:
        campaign.require_run(run_id)
        with open_journal(settings, run_id) as journal:
            run = journal.get_run(run_id)
    except StateError:
        raise LookupError(run_id) from None
    folder = Path(run.input_copy).parent  # the run's folder, as the journal recorded it
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise LookupError(kind)


@dataclass(frozen=True)
class FileView:
    """What the campaign form shows of an uploaded file: its sheets and columns."""

    sheets: tuple[str, ...]  # () for a CSV file
    sheet: str | None
    columns: tuple[str, ...]
    rows: int
    phone: str | None  # the detected (or chosen) phone column
    content: str | None  # the detected content column; None: none found (use a template)


def inspect(path: Path, name: str, sheet: str | None = None) -> FileView:
    """Read an uploaded file as pre-flight will; InputError (naming `name`) when unusable."""
    try:
        table = loader.load(path, sheet or None)
        sheets = _sheet_names(path) if table.format != "csv" else ()
    except BatchSmsError as error:
        raise _renamed(error, path, name) from None
    return FileView(
        sheets=sheets,
        sheet=table.sheet,
        columns=table.columns,
        rows=len(table.rows),
        phone=_detected(table.columns, PHONE_NAMES, "phone"),
        content=_detected(table.columns, CONTENT_NAMES, "content"),
    )


def preview(path: Path, sheet: str | None, text: str, rows: int = 5) -> list[dict[str, Any]]:
    """The first rows' messages from a template: text, encoding, length, segments and the
    characters that forced UCS-2 (before a country's signature); InputError for the template."""
    table = loader.load(path, sheet or None)
    compiled = Template.from_text(text.rstrip("\r\n"), table.columns)
    shown = []
    for row in table.rows[:rows]:
        try:
            message = compiled.render(row.cells)
        except RenderError as error:
            shown.append({"row": row.number, "error": str(error)})
            continue
        cut = segment(message)
        shown.append({"row": row.number, "text": message, "encoding": cut.encoding,
                      "units": cut.units, "segments": cut.segments,
                      "ucs2": list(cut.ucs2_chars)})  # fmt: skip
    return shown


def _sheet_names(path: Path) -> tuple[str, ...]:
    """The worksheets of a workbook, in their order."""
    from python_calamine import load_workbook

    return tuple(load_workbook(str(path)).sheet_names)


def _detected(columns: Sequence[str], names: Sequence[str], what: str) -> str | None:
    """The column pre-flight would take, or None when it finds none (or several)."""
    try:
        return columns[detect_column(columns, None, names, what)]
    except InputError:
        return None


def _renamed(error: BatchSmsError, path: Path, name: str) -> BatchSmsError:
    """The error with the stored file's path replaced by the user's file name."""
    error.message = error.message.replace(str(path), name)
    error.hint = (error.hint or "").replace(str(path), name)
    return error


def form_settings(base: Settings, exact: Mapping[str, Any] | None = None, **given: Any) -> Settings:
    """The settings of one check: the form's values over the app's defaults, checked as the
    CLI's are; `exact` replaces settings as given (None clears one), `given` only where not None.

    `tps` is taken as the form gives it: a number, or "unlimited"."""
    tps = given.pop("tps", None)
    settings = override(replace(base, **(exact or {})), **given)
    if tps is not None and str(tps).strip():
        text = str(tps).strip().lower()
        try:
            value = None if text == "unlimited" else float(text)
        except ValueError:
            raise InputError(
                f"TPS {tps!r} is not a number", 'give a number, or "unlimited"'
            ) from None
        settings = override(replace(settings, tps=value))
    # As campaign.send prices a sandbox run, so the check and the confirmation show the cost
    # the send will count.
    return tariff.with_tariff(settings)


@dataclass(frozen=True)
class Problem:
    """One recipient that will not be sent: its row, cells, the marked ones and why."""

    row: int
    status: str
    reason: str
    cells: tuple[str, ...]
    marked: frozenset[int]  # indexes of the cells at fault


@dataclass(frozen=True)
class Check:
    """A pre-flight as the Check page shows it."""

    id: str
    upload_id: str
    name: str
    outcome: RunOutcome
    settings: Settings  # what the send of this check will use
    columns: tuple[str, ...]
    problems: tuple[Problem, ...]
    facts: tuple[tuple[str, str], ...]  # the plan, in the CLI's words
    counts: tuple[tuple[str, int], ...]  # rows by status, in the status order
    notes: tuple[str, ...]
    refusals: tuple[str, ...] = ()  # why a send of this check would refuse to start
    canary: str = ""  # the plan's canary line, "" without one
    held: tuple[str, ...] = ()  # the plan's lines about the window: held now, and until when

    @property
    def report(self) -> Path | None:
        """The validation report."""
        return self.outcome.report


def check(
    settings: Settings,
    upload_id: str,
    name: str,
    others: Mapping[Path, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Check:
    """Run `batch-sms validate` on the upload and gather what the Check page shows; `others`
    names the other uploaded files the settings use (opt-outs, forbidden words) as the user
    knows them; `clock` is the send window's now."""
    assert settings.input is not None  # noqa: S101 (the caller always gives the upload)
    path = Path(settings.input)
    try:
        outcome = campaign.validate(settings, clock=clock)
        table = loader.load(path, settings.sheet, header_row=settings.header_row)
    except BatchSmsError as error:
        for stored, shown in (others or {}).items():
            _renamed(error, stored, shown)
        raise _renamed(error, path, name) from None
    plan = outcome.plan
    assert plan is not None  # noqa: S101 (validate always plans)
    plan = replace(plan, balance=_balance_of(settings))
    phone = detect_column(table.columns, settings.phone_column, PHONE_NAMES, "phone")
    content = (
        None
        if settings.template is not None or settings.template_file is not None
        else detect_column(table.columns, settings.content_column, CONTENT_NAMES, "content")
    )
    wanted = {row for row, *_ in plan.problems}
    cells = {r.number: r.cells for r in table.rows if r.number in wanted}
    problems = tuple(
        Problem(
            row=row,
            status=status,
            reason=why,
            cells=cells.get(row, ()),
            marked=_marked(why, table.columns, phone, content),
        )
        for row, _raw, status, why in plan.problems
    )
    counts = tuple((s, plan.rows_by_status[s]) for s in STATUSES if plan.rows_by_status.get(s))
    return Check(
        id=outcome.run_id,
        upload_id=upload_id,
        name=name,
        outcome=outcome,
        settings=settings,
        columns=table.columns,
        problems=problems,
        facts=tuple(_facts(plan)),
        counts=counts,
        notes=tuple(n.replace(str(path), name) for n in plan.notes),
        refusals=_refusals(plan, settings),
        canary=canary.plan_line(settings, plan.messages_ready),
        held=tuple(schedule.plan_lines(settings, outcome.checked.messages, clock()))
        if outcome.checked is not None
        else (),
    )


def _facts(plan: Any) -> list[tuple[str, str]]:
    """The plan's figures with the --gsm-safe saving and the ceiling's headroom, as the CLI
    words them."""
    saving = gsmsafe.saving_lines(plan.gsm_safe, plan.currency) if plan.gsm_safe else []
    headroom = headroom_text(plan.ceiling, plan.currency) if plan.ceiling else ""
    return plan_facts(plan, saving, headroom)


def _refusals(plan: Any, settings: Settings) -> tuple[str, ...]:
    """Why `send` would refuse this plan before anything leaves: over its cost ceiling or with
    countries unpriced under one, or a canary that could hear nothing back."""
    found = []
    if plan.ceiling is not None:
        found.append(ceiling_refusal(plan.ceiling, plan.cost.unpriced, plan.currency) or "")
    found.append(canary.route_missing(settings))
    return tuple(why for why in found if why)


def _balance_of(settings: Settings) -> Any:
    """The account's balance as `send` asks for it before confirming; None without credentials."""
    if not settings.sandbox and settings.credentials.missing():
        return None
    with sending.connect(settings) as provider:
        return provider.balance()


def _marked(why: str, columns: Sequence[str], phone: int, content: int | None) -> frozenset[int]:
    """The cells a reason blames: the phone cell, the content cell, or the template's columns."""
    marked: set[int] = set()
    for part in why.split("; "):
        code = reason_code(part) or part.split(" ", 1)[0]
        if code.startswith(_PHONE_CODES):
            marked.add(phone)
        elif code.startswith("content") and content is not None:
            marked.add(content)
        elif code.startswith("template"):
            named = set(_QUOTED.findall(part))
            marked.update(i for i, column in enumerate(columns) if column in named)
    return frozenset(marked)


def plan_key(plan: Any) -> tuple[int, int]:
    """What a confirmation agrees to: the messages and billed segments of a plan."""
    return (plan.messages_ready, plan.segments_ready)


def send(settings: Settings, ui: campaign.Ui, clock: Clock = SYSTEM_CLOCK) -> RunOutcome:
    """`batch-sms send` of a checked file, confirmed through `ui`."""
    return campaign.send(settings, ui, clock=clock)


def resume(
    settings: Settings,
    run_id: str,
    ui: campaign.Ui,
    skip_canary: bool = False,
    clock: Clock = SYSTEM_CLOCK,
) -> RunOutcome:
    """`batch-sms resume RUN_ID [--skip-canary]` with the run's own settings."""
    run = campaign.require_run(run_id)
    return campaign.resume(run, settings, ui, skip_canary=skip_canary, clock=clock)


def retry(
    settings: Settings, run_id: str, ui: campaign.Ui, clock: Clock = SYSTEM_CLOCK
) -> RunOutcome:
    """`batch-sms retry RUN_ID` of the rows it takes by default (failed, capped, pending)."""
    run = campaign.require_run(run_id)
    return campaign.retry(run, settings, ui, statuses=RETRY_DEFAULT, clock=clock)


def run_end(settings: Settings, run_id: str, now: float) -> tuple[str, bool]:
    """What the page of an ended run says besides its counts: how many of its messages wait for
    a send window and when the first may go ("" when none waits), and whether its canary
    stopped it (a resume must skip the canary to go on)."""
    with open_journal(settings, run_id) as journal:
        failed = journal.get_run(run_id).canary == canary.FAILED
        count = journal.count_own(run_id, [Status.SCHEDULED])
        due = journal.first_next_at(run_id, Status.SCHEDULED) if count else None
    if not count:
        return "", failed
    held = f"{count:,} {'message waits' if count == 1 else 'messages wait'} for a send window"
    if due is None:
        return f"{held}, with no time it may go (the report's sms_error says why).", failed
    wait = f" (in {duration_text(due - now)})" if due > now else ""
    return (
        f"{held}: the first may go from {utc_text(due)} UTC{wait}. Resume the run then: it "
        "sends those whose window is open and holds the others again.",
        failed,
    )
