"""Pre-flight: load the input, find its columns, render every row, validate it, price the plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from pathlib import Path

from batch_sms import loader, nxcloud, results, template, validate
from batch_sms.config import Settings
from batch_sms.errors import InputError, RenderError, UsageError
from batch_sms.models import Message, Status

__all__ = ["Plan", "Preflight", "run_preflight"]


@dataclass(frozen=True)
class Plan:
    """What a send would do: the numbers a user confirms before anything leaves."""

    rows: int
    rows_by_status: dict[str, int]
    messages_ready: int
    segments_ready: int
    cost: validate.CostEstimate
    tps: float | None
    currency: str = ""
    notes: tuple[str, ...] = ()
    balance: nxcloud.Balance | None = None  # the account's, when the provider tells
    problems: tuple[tuple[int, str, str, str], ...] = ()  # (row, phone as written, status, why)

    @property
    def seconds(self) -> float | None:
        """Estimated sending time at the chosen rate (None when unlimited)."""
        return None if self.tps is None else self.messages_ready / self.tps


@dataclass(frozen=True)
class Preflight:
    """The loaded input and one verdict per recipient."""

    table: loader.Table
    messages: list[Message]
    phone_column: str
    content_source: str
    notes: tuple[str, ...] = field(default=())

    def plan(self, settings: Settings) -> Plan:
        """Summarise the verdicts into the plan shown before sending."""
        # The same rule as the report's, so the plan and the report count rows alike.
        row_status = {
            row: results.row_status(m.status for m in group)
            for row, group in groupby(self.messages, key=attrgetter("row"))
        }
        ready = [m for m in self.messages if m.status is Status.READY]
        cost = validate.estimate_cost(
            ready, dict(settings.prices.by_country), settings.prices.default
        )
        return Plan(
            rows=len(row_status),
            rows_by_status=dict(Counter(str(s) for s in row_status.values())),
            messages_ready=len(ready),
            segments_ready=sum(m.segments for m in ready),
            cost=cost,
            tps=settings.tps,
            currency=settings.prices.currency,
            notes=self.notes,
            problems=tuple(
                (m.row, m.raw_phone, str(m.status), m.error)
                for m in self.messages
                if m.status is not Status.READY
            ),
        )


def _column(table: loader.Table, explicit: str | None, names: Sequence[str], what: str) -> int:
    """Find a column, naming the file in the error as every other input error does."""
    try:
        return template.detect_column(table.columns, explicit, names, what)
    except InputError as error:
        raise InputError(f"{table.path}: {error.message}", error.hint) from None


def _template(settings: Settings, table: loader.Table) -> tuple[template.Template, str]:
    """The content source: a template (text or file) or a content column."""
    text = settings.template
    if settings.template_file is not None:
        try:
            text = settings.template_file.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError(
                f"{settings.template_file}: template file not found",
                "check the path given to --template-file",
            ) from None
        except UnicodeDecodeError:
            raise InputError(
                f"{settings.template_file}: template file is not UTF-8 text",
                "save it as UTF-8",
            ) from None
    if text is not None:
        return template.Template.from_text(text.rstrip("\r\n"), table.columns), "template"
    index = _column(table, settings.content_column, template.CONTENT_NAMES, "content")
    return template.Template.from_column(index), f"column {table.columns[index]!r}"


def _suppressed(settings: Settings) -> tuple[set[str], tuple[str, ...]]:
    """Numbers on the suppression list, normalised like the campaign's, and notes about it."""
    if settings.suppress is None:
        return set(), ()
    table = loader.load(settings.suppress)
    cells: list[str]
    try:
        index = template.detect_column(table.columns, None, template.PHONE_NAMES, "phone")
        cells = [row.cells[index] for row in table.rows]
    except InputError as error:
        # An opt-out list is often a bare column of numbers with no header: then the "header"
        # is the first number. Anything else still needs its phone column named.
        first = table.columns[0] if table.columns else ""
        if not validate.normalise_phone(first, settings.default_region)[0]:
            raise InputError(f"{settings.suppress}: {error.message}", error.hint) from None
        cells = [first, *(row.cells[0] for row in table.rows)]
    found = validate.load_suppression(cells, settings.default_region)
    notes: tuple[str, ...] = ()
    if found.rejected:
        shown = ", ".join(repr(r) for r in found.rejected[:3])
        notes = (
            f"{settings.suppress}: {len(found.rejected)} entries are not usable numbers and were "
            f"ignored (e.g. {shown})",
        )
    return set(found), notes


def run_preflight(settings: Settings) -> Preflight:
    """Check every row of the input; raise InputError/UsageError only for unusable input."""
    if settings.input is None:
        raise UsageError("no input file given")
    if settings.sender:
        reason = validate.check_sender(settings.sender)
        if reason:
            raise UsageError(
                f"--sender {settings.sender!r}: {reason}",
                "a sender id is 1 to 20 ASCII letters or digits, e.g. --sender ACME",
            )
    table = loader.load(
        Path(settings.input),
        settings.sheet,
        encoding=settings.encoding,
        header_row=settings.header_row,
    )
    phone = _column(table, settings.phone_column, template.PHONE_NAMES, "phone")
    content, source = _template(settings, table)
    numbers, notes = _suppressed(settings)
    checker = validate.Checker(
        default_region=settings.default_region,
        suppressed=numbers,
        allow_duplicates=settings.allow_duplicates,
        max_segments=settings.max_segments,
    )
    messages: list[Message] = []
    # The loop builds millions of acyclic Messages and duplicate keys; with the collector on,
    # its full collections rescan all of them (0.6-1.9 s of CPU on 1M rows) and find nothing.
    with loader.paused_gc():
        for row in table.rows:
            try:
                text: str | None = content.render(row.cells)
                error = ""
            except RenderError as exc:
                text, error = None, str(exc)
            messages.extend(checker.check(row.number, row.cells[phone], text, error))
    return Preflight(
        table=table,
        messages=messages,
        phone_column=table.columns[phone],
        content_source=source,
        notes=(*table.notes, *notes),
    )
