"""The Summary sheet: run totals gathered while the rows stream, laid out, then written."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from batch_sms.checks import gsmsafe
from batch_sms.checks.reasons import reason_key
from batch_sms.input import reading
from batch_sms.models import (
    ACCEPTED,
    RESENDABLE,
    STATUS_ORDER,
    CostEstimate,
    Status,
    duration_text,
    utc_text,
)

if TYPE_CHECKING:
    from batch_sms.report.results import ResultRow

__all__ = [
    "SummaryInfo",
    "Tally",
    "public_settings",
    "summary_lines",
]

TOP_REASONS, EXAMPLES = 10, 5
# Reasons are counted by kind (reasons.reason_key); a text of no known kind counts as itself, so
# distinct ones can be as many as rows: beyond this many a new one only adds to "other reasons"
# to keep memory flat on a million-row run.
MAX_REASONS = 10_000
NO_PRICE = "no price"
NO_RECEIPT = "no receipt yet"
_SECRET_KEY = re.compile(r"key|secret|token|passw|credential|sign", re.IGNORECASE)


@dataclass
class SummaryInfo:
    """What the Summary sheet says about the run beyond the rows themselves."""

    run_id: str
    title: str = "Campaign report"
    input_name: str = ""
    parent: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    settings: Mapping[str, object] = field(default_factory=dict)
    input_read: Mapping[str, str] = field(default_factory=dict)  # reading.describe_input
    cost: CostEstimate | None = None
    currency: str = ""
    describe: Callable[[str], str] | None = None  # provider code → meaning (nxcloud.describe)
    gsm_safe: gsmsafe.GsmSaving | None = None  # what --gsm-safe saved, when it was given
    unrecorded: int = 0  # sent messages with no receipt whose record the provider lacked too


@dataclass
class Tally:
    """Counts over the result rows, updated one row at a time."""

    rows: int = 0
    messages: int = 0
    segments: int = 0
    accepted: int = 0  # messages with a provider message id
    accepted_segments: int = 0
    statuses: Counter[Status] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    meanings: dict[str, str] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)  # by kind (reasons.reason_key)
    examples: dict[str, list[int]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    other_reasons: int = 0

    def add(self, row: ResultRow) -> None:
        """Count one row."""
        self.rows += 1
        self.messages += row.messages
        self.segments += row.segments or 0
        self.statuses[row.status] += 1
        if row.status in ACCEPTED:
            self.accepted_segments += row.segments or 0
        if row.messageid:
            self.accepted += sum(1 for part in row.messageid.split(", ") if part)
        if row.code:
            self._add_codes(row)
        if row.error and row.status not in ACCEPTED | {Status.READY, Status.DELIVERED}:
            # The row's place on the Results sheet (header = 1), where a reader can go to it: a
            # retry's or a gappy input's own row numbers are not the sheet's.
            self._add_reason(row.error, self.rows + 1)

    def _add_codes(self, row: ResultRow) -> None:
        codes = row.code.split(", ") if row.messages > 1 else [row.code]
        self.codes.update(code for code in codes if code)
        if len(codes) == 1 and row.result and row.code not in self.meanings:
            self.meanings[row.code] = row.result  # a one-message row's result is that code's

    def _add_reason(self, error: str, number: int) -> None:
        reason, label = reason_key(error)
        examples = self.examples.get(reason)
        if examples is None:
            if len(self.examples) >= MAX_REASONS:
                self.other_reasons += 1
                return
            examples = self.examples[reason] = []
            self.labels[reason] = label
        self.reasons[reason] += 1
        if len(examples) < EXAMPLES:
            examples.append(number)


# A line of the Summary sheet: its kind (how it is styled) and its cell values.
Line = tuple[str, tuple[object, ...]]


def summary_lines(
    info: SummaryInfo,
    tally: Tally,
    sheet_rows: int,
    failed_name: str = "failed.csv",
    letters: tuple[str, str] | None = None,
) -> list[Line]:
    """The Summary sheet as lines; "status" lines hold the chart's data.

    `letters` are the Results sheet's columns of sms_status and sms_error, for the reader.

    Layout: labels in column A, counts in B (and C), text that may run long last, so it spills
    into the empty cells to its right. The outcome comes first (statuses, then why rows failed),
    the details after (codes, volumes, cost, settings).
    """
    lines: list[Line] = [("title", (info.title,)), ("blank", ())]
    lines += _run_lines(info, tally, sheet_rows)
    failed = sum(tally.statuses[status] for status in RESENDABLE)
    if failed:
        lines.append(("data", ("Rows to fix or send again", failed, f"listed in {failed_name}")))
    if info.unrecorded:
        said = f"{info.unrecorded:,} messages: no receipt and no record yet"
        lines.append(("data", ("Receipts", said)))
    if letters:
        how = (
            f"on the Results sheet, filter column {letters[0]} (sms_status); "
            f"column {letters[1]} (sms_error) says why a row was not sent"
        )
        lines.append(("data", ("Finding rows", how)))
    lines += [
        ("blank", ()),
        ("section", ("Rows by status",)),
        ("header", ("Status", "Rows", "Share")),
    ]
    for status in STATUS_ORDER:
        if tally.statuses[status]:
            count = tally.statuses[status]
            lines.append(("status", (status.value, count, count / tally.rows)))
    lines.append(("status_total", ("Total", tally.rows, 1.0 if tally.rows else 0.0)))
    lines += _reason_lines(tally)
    if tally.codes:
        lines += [("blank", ()), ("section", ("Provider codes",))]
        lines.append(("header_text", ("Code", "Messages", "Meaning")))
        for code, count in sorted(tally.codes.items(), key=lambda kv: (-kv[1], kv[0])):
            meaning = info.describe(code) if info.describe else tally.meanings.get(code, "")
            lines.append(("data", (code, count, meaning)))
    lines += [
        ("blank", ()),
        ("section", ("Messages",)),
        ("data", ("Rows", tally.rows)),
        ("data", ("Messages (recipients)", tally.messages)),
        ("data", ("Segments (all rows)", tally.segments)),
        ("data", ("Messages accepted by the provider", tally.accepted)),
        ("data", ("Segments of accepted rows", tally.accepted_segments)),
    ]
    if info.gsm_safe is not None:
        for label, value in gsmsafe.saving_lines(info.gsm_safe, info.currency):
            lines.append(("data", (label[:1].upper() + label[1:], value)))
    lines += _cost_lines(info)
    records = {reading.RECORD_KEY, gsmsafe.RECORD_KEY}  # shown in their own lines
    settings = public_settings({k: v for k, v in info.settings.items() if k not in records})
    order = {label: i for i, label in enumerate(reading.LABELS)}
    described = sorted(info.input_read.items(), key=lambda item: order.get(item[0], len(order)))
    read = [("data", (f"Input {label}", text)) for label, text in described]
    if settings or read:
        lines += [("blank", ()), ("section", ("Settings",)), *read]
        lines += [("data", (key, value)) for key, value in settings.items()]
    return lines


def _run_lines(info: SummaryInfo, tally: Tally, sheet_rows: int) -> list[Line]:
    lines: list[Line] = [("data", ("Run", info.run_id))]
    if info.parent:
        lines.append(("data", ("Retry of run", info.parent)))
    if info.input_name:
        lines.append(("data", ("Input", info.input_name)))
    if info.started_at is not None:
        lines.append(("data", ("Started (UTC)", utc_text(info.started_at))))
    if info.finished_at is not None:
        lines.append(("data", ("Finished (UTC)", utc_text(info.finished_at))))
    if info.started_at is not None and info.finished_at is not None:
        seconds = max(info.finished_at - info.started_at, 0.0)
        lines.append(("data", ("Duration", duration_text(seconds))))
        if seconds > 0:
            per_second = tally.accepted / seconds
            digits = 1 if per_second >= 10 else 2
            rate = f"{per_second:.{digits}f} accepted messages per second"
            lines.append(("data", ("Achieved rate", rate)))
    if info.started_at is not None:  # a validation report has no times to explain
        zone = "UTC: sms_sent_at and the times above; sms_dr_time is as the provider sent it"
        lines.append(("data", ("Time zone", zone)))
    if sheet_rows < tally.rows:
        note = (
            f"The Results sheet holds the first {sheet_rows:,} of {tally.rows:,} rows (a worksheet "
            "holds no more); results.csv beside this file has every row."
        )
        lines.append(("note", ("Note", note)))
    return lines


def _cost_lines(info: SummaryInfo) -> list[Line]:
    """The cost table: the estimate at the configured prices and, for a run, beside it what the
    provider billed in its delivery receipts."""
    cost = info.cost
    if cost is None:
        return []
    unit = f" ({info.currency})" if info.currency else ""
    if not cost.of_run:
        lines: list[Line] = [("blank", ()), ("section", (f"Estimated cost{unit}",))]
        lines.append(("header", ("Country code", "Messages", "Segments", "Cost")))
    else:
        billed_unit = f" ({cost.billed_currency})" if cost.billed_currency else ""
        lines = [("blank", ()), ("section", ("Cost",))]
        head = ("Country code", "Messages", "Segments", f"Estimated{unit}", f"Billed{billed_unit}")
        lines.append(("header", head))
    for country in cost.countries:
        price = NO_PRICE if country.cost is None else country.cost
        values = (country.country_code, country.messages, country.segments, price)
        lines.append(("money", values + ((_billed(country.billed),) if cost.of_run else ())))
    # With no price for any country the sum is no estimate at all: say so rather than 0.00.
    priced = any(country.cost is not None for country in cost.countries)
    total = cost.cost if priced or not cost.countries else NO_PRICE
    totals = ("Total", cost.messages, cost.segments, total)
    lines.append(("money_total", totals + ((_billed(cost.billed),) if cost.of_run else ())))
    if cost.unpriced:
        unpriced = ", ".join(cost.unpriced)
        lines.append(("note", ("Note", f"No price for country codes {unpriced}: not in the total")))
    if cost.of_run:
        lines.append(("data", ("Billed", _billed_note(cost))))
    return lines


def _billed(amount: float | None) -> float | str:
    return NO_RECEIPT if amount is None else amount


def _billed_note(cost: CostEstimate) -> str:
    """Where the billed figures come from, and how many messages they cover so far."""
    return (
        f"the price in the delivery receipts: {cost.billed_messages:,} messages have one so far "
        "(writing the report again adds later receipts)"
    )


def _reason_lines(tally: Tally) -> list[Line]:
    if not tally.reasons:
        return []
    lines: list[Line] = [("blank", ()), ("section", ("Top error reasons",))]
    lines.append(("header_text", ("Reason", "Rows", "Example rows (Results sheet)")))
    ranked = tally.reasons.most_common()  # ties keep first-seen order
    for reason, count in ranked[:TOP_REASONS]:
        examples = ", ".join(map(str, tally.examples[reason]))
        lines.append(("reason", (tally.labels[reason], count, examples)))
    others = sum(count for _, count in ranked[TOP_REASONS:]) + tally.other_reasons
    if others:
        lines.append(("reason", ("(other reasons)", others, "")))
    return lines


def public_settings(settings: Mapping[str, object]) -> dict[str, str]:
    """Settings as text, without unset ones, secret-looking keys or credentials in URLs."""
    texts = {
        str(k): _setting_text(v) for k, v in settings.items() if not _SECRET_KEY.search(str(k))
    }
    return {key: text for key, text in texts.items() if text}  # unset: None, "" or empty


def _setting_text(value: object) -> str:
    if isinstance(value, Mapping):
        return json.dumps(public_settings(value), ensure_ascii=False)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_setting_text(item) for item in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _scrub_url(str(value))


def _scrub_url(text: str) -> str:
    """Hide a password or secret-looking query parameters in a URL (a dr_url may carry them)."""
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
        query = [
            (k, "***" if _SECRET_KEY.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="*")))
    except ValueError:
        return text
