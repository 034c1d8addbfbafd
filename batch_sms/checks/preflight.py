"""Pre-flight: load the input, find its columns, render every row, validate it, price the plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from batch_sms.checks import gsmsafe, template, validate
from batch_sms.checks.content_rules import ContentRules, parse_words
from batch_sms.checks.costs import Ceiling
from batch_sms.config import Settings
from batch_sms.errors import InputError, RenderError, UsageError
from batch_sms.input import loader, reading
from batch_sms.models import CostEstimate, Message, Row, Status, one_row_status, row_status
from batch_sms.provider import nxcloud

__all__ = ["Plan", "Preflight", "link_line", "requests_needed", "run_preflight"]


@dataclass(frozen=True)
class Plan:
    """What a send would do: the numbers a user confirms before anything leaves."""

    rows: int
    rows_by_status: dict[str, int]
    messages_ready: int
    segments_ready: int
    cost: CostEstimate
    tps: float | None
    currency: str = ""
    notes: tuple[str, ...] = ()
    balance: nxcloud.Balance | None = None  # the account's, when the provider tells
    problems: tuple[tuple[int, str, str, str], ...] = ()  # (row, phone as written, status, why)
    input_line: str = ""  # how the input was read (reading.input_line)
    gsm_safe: gsmsafe.GsmSaving | None = None  # what --gsm-safe saves, when given
    short_link: str = ""  # the link options as the plan shows them (link_line), "" if none
    ceiling: Ceiling | None = None  # --max-cost against the estimate
    requests_ready: int | None = None  # requests the ready messages take (fewer with --group)

    @property
    def seconds(self) -> float | None:
        """Estimated sending time at the chosen rate (None when unlimited)."""
        if self.tps is None:
            return None
        requests = self.messages_ready if self.requests_ready is None else self.requests_ready
        return requests / self.tps


@dataclass(frozen=True)
class Preflight:
    """The loaded input and one verdict per recipient."""

    table: loader.Table
    messages: list[Message]
    phone_column: str
    content_source: str
    notes: tuple[str, ...] = field(default=())
    rows_kept: bool = True  # False: the table's rows were streamed, not kept (read them again)

    def input_rows(self, settings: Settings) -> Iterable[Row]:
        """The input's rows: the table's, or the file's (`settings.input`) read again, one at a
        time, when they were not kept."""
        if self.rows_kept:
            return self.table.rows
        path = Path(str(settings.input))
        return loader.stream(
            path, settings.sheet, encoding=settings.encoding, header_row=settings.header_row
        )[1]

    def input_read(self) -> dict[str, str]:
        """How the input was read: sheet, encoding, delimiter, phone column, text source."""
        return reading.describe_input(
            sheet=self.table.sheet,
            encoding=self.table.encoding,
            delimiter=self.table.delimiter,
            phone_column=self.phone_column,
            content_source=self.content_source,
        )

    def plan(self, settings: Settings) -> Plan:
        """Summarise the verdicts into the plan shown before sending."""
        # The same rule as the report's, so the plan and the report count rows alike.
        by_row = _row_statuses(self.messages)
        ready = [m for m in self.messages if m.status is Status.READY]
        prices = dict(settings.prices.by_country), settings.prices.default
        cost = validate.estimate_cost(ready, *prices)
        return Plan(
            rows=len(by_row),
            rows_by_status={str(s): n for s, n in Counter(by_row.values()).items()},
            messages_ready=len(ready),
            segments_ready=sum(m.segments for m in ready),
            cost=cost,
            tps=settings.tps,
            currency=settings.prices.currency,
            notes=self.notes,
            input_line=reading.input_line(self.table.path.name, self.input_read()),
            gsm_safe=gsmsafe.saving(ready, *prices) if settings.gsm_safe else None,
            short_link=link_line(settings),
            ceiling=None if settings.max_cost is None else Ceiling(settings.max_cost, cost.cost),
            requests_ready=requests_needed(ready, settings.group),
            problems=tuple(
                (m.row, m.raw_phone, str(m.status), m.error)
                for m in self.messages
                if m.status is not Status.READY
            ),
        )


def _row_statuses(messages: Sequence[Message]) -> dict[int, Status]:
    """Each row's status (row_status of each run of its messages, as groupby gives them)."""
    by_row: dict[int, Status] = {}
    start, total = 0, len(messages)
    while start < total:
        row, end = messages[start].row, start + 1
        while end < total and messages[end].row == row:
            end += 1
        if end == start + 1:
            by_row[row] = one_row_status(messages[start].status)
        else:
            by_row[row] = row_status([m.status for m in messages[start:end]])
        start = end
    return by_row


def requests_needed(ready: list[Message], group: int) -> int:
    """Requests the ready messages take when identical texts go up to `group` to a request."""
    if group <= 1:
        return len(ready)
    return sum(-(-count // group) for count in Counter(m.content for m in ready).values())


def link_line(settings: Settings) -> str:
    """The link options as the plan shows them ("https://nx.ink/a, placeholder #1#, verbose:
    yes"); "" when neither is set."""
    if not settings.short_link and settings.link_verbose is None:
        return ""
    verbose = {None: "yes (the provider's default)", True: "yes", False: "no"}
    link = (
        f"{settings.short_link}, placeholder {nxcloud.LINK_PLACEHOLDER}"
        if settings.short_link
        else "none"
    )
    return f"{link}, verbose: {verbose[settings.link_verbose]}"


def _column(table: loader.Table, explicit: str | None, names: Sequence[str], what: str) -> int:
    """Find a column, naming the file in the error as every other input error does."""
    try:
        return template.detect_column(table.columns, explicit, names, what)
    except InputError as error:
        raise InputError(f"{table.path}: {error.message}", error.hint) from None


def _read_text(path: Path, what: str, option: str) -> str:
    """A UTF-8 text file a setting names; InputError naming it and the option when it is missing
    or not UTF-8 (other OSErrors, a folder say, are the CLI's one error path's)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found", f"check the path given to {option}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: {what} is not UTF-8 text", "save it as UTF-8") from None


def _template(settings: Settings, table: loader.Table) -> tuple[template.Template, str]:
    """The content source: a template (text or file) or a content column."""
    text = settings.template
    if settings.template_file is not None:
        text = _read_text(settings.template_file, "template file", "--template-file")
    if text is not None:
        return template.Template.from_text(text.rstrip("\r\n"), table.columns), "template"
    index = _column(table, settings.content_column, template.CONTENT_NAMES, "content")
    return template.Template.from_column(index), f'column "{table.columns[index]}"'


_SUPPRESS_COLUMN_HINT = (
    'name the opt-out column "phone" (or mobile, msisdn, 手机号, …), '
    "or give a file of numbers alone, one per line"
)


def _suppressed(settings: Settings) -> set[str]:
    """Numbers on the suppression list, normalised like the campaign's; InputError if any is not.

    An opt-out that cannot be read as a number would let its person be messaged, so one such
    entry refuses the campaign, naming the entries and how to have them read."""
    if settings.suppress is None:
        return set()
    table = loader.load(settings.suppress)
    cells: list[str]
    try:
        index = template.detect_column(table.columns, None, template.PHONE_NAMES, "phone")
        cells = [row.cells[index] for row in table.rows]
        numbers = [row.number for row in table.rows]
    except InputError as error:
        # An opt-out list is often a bare column of numbers with no header: then the "header"
        # is the first number. Anything else still needs its phone column named.
        # A national number there without --default-region still counts: it is refused below
        # with the option that reads it, not with a column hint.
        first = table.columns[0] if table.columns else ""
        digits = sum(c.isdigit() for c in first)
        if digits < 5 or any(c.isalpha() for c in first):
            message = f"{settings.suppress}: {error.message}"
            raise InputError(message, _SUPPRESS_COLUMN_HINT) from None
        cells = [first, *(row.cells[0] for row in table.rows)]
        numbers = [1, *(row.number for row in table.rows)]
    found = validate.load_suppression(cells, settings.default_region)
    if found.rejected:
        shown = ", ".join(
            f"row {numbers[at]} {raw!r}"
            for at, raw in zip(found.rejected_at[:5], found.rejected[:5], strict=True)
        )
        more = f" and {len(found.rejected) - 5} more" if len(found.rejected) > 5 else ""
        region = settings.default_region
        read_as = f"read as {region.upper()} numbers" if region else "read with no default region"
        raise InputError(
            f"{settings.suppress}: {len(found.rejected)} opt-out "
            f"{'entry is' if len(found.rejected) == 1 else 'entries are'} not usable numbers "
            f"({read_as}): {shown}{more}; those people could be messaged, so nothing is sent",
            (
                "fix or remove those entries"
                if region
                else "give the country of national numbers with --default-region, e.g. "
                "--default-region CN, or fix or remove those entries"
            ),
        )
    return set(found)


def _rules(settings: Settings) -> ContentRules:
    """The content rules: --must-contain texts and the words of --forbidden-words FILE."""
    path = settings.forbidden_words
    if path is None:
        return ContentRules(settings.must_contain)
    words = parse_words(_read_text(path, "forbidden-words file", "--forbidden-words"))
    if not words:
        raise InputError(
            f"{path}: the forbidden-words file holds no words",
            "write one word or phrase per line (lines starting with # are comments)",
        )
    return ContentRules(settings.must_contain, words)


def run_preflight(
    settings: Settings, table: loader.Table | None = None, *, keep_rows: bool = True
) -> Preflight:
    """Check every row of the input (`table` when given, else the file `settings.input`); raise
    InputError/UsageError only for unusable input. Without `keep_rows` a CSV file's rows are
    read one at a time and not kept: the Preflight's table then has no rows (`rows_kept`)."""
    if settings.input is None and table is None:
        raise UsageError("no input file given")
    if settings.sender:
        reason = validate.check_sender(settings.sender)
        if reason:
            raise UsageError(
                f"--sender {settings.sender!r}: {reason}",
                "a sender id is 1 to 20 ASCII letters or digits, e.g. --sender ACME",
            )
    if table is not None:
        rows: Iterable[Row] = table.rows
    elif keep_rows:
        table = loader.load(
            Path(str(settings.input)),
            settings.sheet,
            encoding=settings.encoding,
            header_row=settings.header_row,
        )
        rows = table.rows
    else:
        table, rows = loader.stream(
            Path(str(settings.input)),
            settings.sheet,
            encoding=settings.encoding,
            header_row=settings.header_row,
        )
    phone = _column(table, settings.phone_column, template.PHONE_NAMES, "phone")
    content, source = _template(settings, table)
    numbers = _suppressed(settings)
    checker = validate.Checker(
        default_region=settings.default_region,
        suppressed=numbers,
        allow_duplicates=settings.allow_duplicates,
        max_segments=settings.max_segments,
        allow_landlines=settings.allow_landlines,
        gsm_safe=settings.gsm_safe,
        rules=_rules(settings),
        short_link=bool(settings.short_link),
    )
    rounded = frozenset() if settings.trust_numeric_phones else table.rounded
    messages: list[Message] = []
    # The loop builds millions of acyclic Messages and duplicate keys; with the collector on,
    # its full collections rescan all of them (0.6-1.9 s of CPU on 1M rows) and find nothing.
    with loader.paused_gc():
        for row in rows:
            try:
                text: str | None = content.render(row.cells)
                error = ""
            except RenderError as exc:
                text, error = None, str(exc)
            cell = row.cells[phone]
            damaged = bool(rounded) and (row.number, cell) in rounded
            messages.extend(checker.check(row.number, cell, text, error, damaged))
    return Preflight(
        table=table,
        messages=messages,
        phone_column=table.columns[phone],
        content_source=source,
        notes=table.notes,
        rows_kept=rows is table.rows,
    )
