"""Settle messages whose fate is unknown against the provider's own records (pure logic).

A message is `unknown` when its request may have reached the provider but no answer was
recorded (a timeout, a crash, `kill -9`). Sending it again could deliver it twice, so `resume`
first asks the provider's day records (`/api/sms/getSmsCdr`) what it really accepted:

- a record for the message's number that no message in the state db claims (its messageid is
  unknown to us) proves the message arrived: it becomes `sent` with that messageid;
- no such record at all, once `settle` seconds have passed since the request, proves it never
  arrived: it goes back to `pending` and is sent;
- anything else (more unclaimed records than unknown messages for a number, another run with an
  unresolved message to the same number, or too soon to tell) leaves it `unknown`, with the
  reason and whether a later `resume` can decide it (`Verdict.why`); where it cannot,
  `resume --resend-unknown` is the user's call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from batch_sms.models import base_messageid, utc_text

SETTLE = 120.0  # seconds after a request before a missing record proves it never arrived

__all__ = [
    "SETTLE",
    "ProviderRecord",
    "Unresolved",
    "Verdict",
    "days_around",
    "days_to_ask",
    "parse_records",
    "reconcile",
]


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A message whose request may or may not have been accepted."""

    id: int
    phone: str
    inflight_at: float | None
    attempts: int


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """One row of the provider's day records."""

    messageid: str
    phone: str
    date: str  # as the provider wrote it


@dataclass
class Verdict:
    """What the records prove about each unresolved message."""

    arrived: list[tuple[Unresolved, ProviderRecord]] = field(default_factory=list)
    never: list[Unresolved] = field(default_factory=list)
    undecided: list[Unresolved] = field(default_factory=list)
    # Undecided message id → (why, whether a later resume can decide it).
    why: dict[int, tuple[str, bool]] = field(default_factory=dict)

    def undecide(self, messages: Iterable[Unresolved], why: str, later: bool) -> None:
        """Leave messages unknown, saying why and whether a later resume can decide them."""
        for message in messages:
            self.undecided.append(message)
            self.why[message.id] = (why, later)


def days_around(at: float, now: float) -> list[str]:
    """The record days (yyyyMMdd) that may hold a message sent at `at`: its UTC day first, then
    the neighbours, since the provider's day boundary need not be UTC's; never a future day."""
    today = datetime.fromtimestamp(now, UTC).date()
    sent = datetime.fromtimestamp(at, UTC).date()
    days = (sent + timedelta(days=delta) for delta in (0, -1, 1))
    return [day.strftime("%Y%m%d") for day in days if day <= today]


def days_to_ask(unresolved: Iterable[Unresolved], now: float) -> list[str]:
    """The record days (yyyyMMdd) that may hold these messages (see days_around)."""
    return sorted({day for m in unresolved for day in days_around(m.inflight_at or now, now)})


def parse_records(rows: Iterable[Mapping[str, object]]) -> list[ProviderRecord]:
    """Day-record rows as the provider sends them → records (rows without an id are skipped)."""
    out = []
    for row in rows:
        messageid = str(row.get("msgid") or "")
        phone = str(row.get("phone") or "")
        if messageid and phone:
            out.append(ProviderRecord(messageid, phone, str(row.get("date") or "")))
    return out


def reconcile(
    unresolved: Iterable[Unresolved],
    records: Iterable[ProviderRecord],
    claimed: set[str],
    *,
    now: float,
    settle: float,
    elsewhere: Mapping[str, int] | None = None,
) -> Verdict:
    """Decide each message by the records of its number that no known message claims.

    `elsewhere` counts, per number, unresolved messages of other runs: an unclaimed record for
    such a number may be theirs, so it proves nothing about ours."""
    others = elsewhere or {}
    free: dict[str, list[ProviderRecord]] = defaultdict(list)
    for record in records:
        if record.messageid not in claimed and base_messageid(record.messageid) not in claimed:
            free[record.phone].append(record)
    waiting: dict[str, list[Unresolved]] = defaultdict(list)
    for message in unresolved:
        waiting[message.phone].append(message)

    verdict = Verdict()
    for phone, messages in waiting.items():
        messages.sort(key=lambda m: (m.inflight_at or 0.0, m.id))
        found = sorted(free.get(phone, []), key=lambda r: (r.date, r.messageid))
        if found and others.get(phone, 0):
            why = (
                "another run left a message to this number unsettled too, so the provider's "
                "record can't be told apart; settle that run first"
            )
            verdict.undecide(messages, why, later=True)
        elif len(found) == len(messages):
            verdict.arrived.extend(zip(messages, found, strict=True))
        elif not found and all(now - (m.inflight_at or now) >= settle for m in messages):
            verdict.never.extend(messages)
        elif not found:
            last = max(m.inflight_at or now for m in messages) + settle
            why = (
                "the provider lists no such message yet, but its records may lag: from "
                f"{utc_text(last)} UTC a missing record proves it never arrived"
            )
            verdict.undecide(messages, why, later=True)
        else:
            why = (
                f"the provider's records hold {len(found)} unclaimed messages to this number for "
                f"{len(messages)} unknown here, so they can't be matched one to one"
            )
            # Fewer records than messages: more may still be listed; more records never match.
            verdict.undecide(messages, why, later=len(found) < len(messages))
    return verdict
