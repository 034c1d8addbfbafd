"""A run's costs (the estimate beside what the receipts billed) and the cost ceiling's verdict
before a send starts: pure arithmetic, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from batch_sms.checks.validate import priced
from batch_sms.journal.billing import CostTally, Spending
from batch_sms.models import NOT_SENDABLE, CostEstimate, CountryCost

__all__ = [
    "Ceiling", "Tariff", "ceiling_refusal", "country_code_of", "headroom_text", "run_costs",
]  # fmt: skip


def run_costs(
    tallies: Iterable[CostTally], prices: Mapping[str, float], default: float | None
) -> CostEstimate:
    """The estimated cost of a run's sendable messages at `prices`, with what the receipts
    billed, per country and in total (from the journal's sums, not row by row)."""
    billed: dict[str, list[float]] = {}  # country → [messages, amount]
    currencies: dict[str, None] = {}
    sendable: dict[str, list[int]] = {}  # country → [messages, segments]
    for t in tallies:
        code = str(t.country_code)
        if t.billed_messages:
            tally = billed.setdefault(code, [0, 0.0])
            tally[0] += t.billed_messages
            tally[1] += t.billed
            if t.currency:
                currencies[t.currency] = None
        if t.status not in NOT_SENDABLE:
            counts = sendable.setdefault(code, [0, 0])
            counts[0] += t.messages
            counts[1] += t.segments
    estimate = priced(sendable, prices, default)
    countries = [
        replace(c, billed=round(billed[c.country_code][1], 6) if c.country_code in billed else None,
                billed_messages=int(billed.get(c.country_code, [0])[0]))
        for c in estimate.countries
    ]  # fmt: skip
    known = {c.country_code for c in countries}
    # Billed but not sendable now (a row changed since): still money spent, so still listed.
    countries += [
        CountryCost(code, 0, 0, None, None, round(amount, 6), int(count))
        for code, (count, amount) in billed.items()
        if code not in known
    ]
    amounts = [c.billed for c in countries if c.billed is not None]
    return replace(
        estimate,
        countries=tuple(countries),
        billed=round(sum(amounts), 6) if amounts else None,
        billed_messages=sum(c.billed_messages for c in countries),
        billed_currency=", ".join(currencies),
        of_run=True,
    )


@dataclass(frozen=True, slots=True)
class Ceiling:
    """A run's cost ceiling against its estimate: what was spent already and what is left."""

    limit: float
    estimate: float  # of the messages still to send
    spent: float = 0.0  # by the run (and the runs it retries) so far

    @property
    def headroom(self) -> float:
        """What stays under the ceiling once the estimate is spent (negative: over it)."""
        return self.limit - self.spent - self.estimate


def ceiling_refusal(ceiling: Ceiling, unpriced: Sequence[str], currency: str = "") -> str | None:
    """Why a send may not start under its ceiling (countries without a price, an estimate
    above it), or None."""
    unit = f" {currency}" if currency else ""
    if unpriced:
        codes = ", ".join(f"+{code}" for code in unpriced)
        return (
            f"--max-cost {ceiling.limit:g}{unit}: no price is configured for country codes "
            f"{codes}, so the cost cannot be held under the ceiling"
        )
    if ceiling.headroom < 0:
        already = f" after {ceiling.spent:,.4f}{unit} already spent" if ceiling.spent else ""
        return (
            f"--max-cost {ceiling.limit:g}{unit}: the estimated cost {ceiling.estimate:,.4f}"
            f"{unit}{already} is above the ceiling by {-ceiling.headroom:,.4f}{unit}"
        )
    return None


def headroom_text(ceiling: Ceiling, currency: str = "") -> str:
    """The ceiling's headroom as the plan shows it."""
    unit = f" {currency}" if currency else ""
    if ceiling.headroom < 0:
        return f"over by {-ceiling.headroom:,.4f}{unit}"
    return f"{ceiling.headroom:,.4f}{unit}"


def country_code_of(phone: str) -> str:
    """The country calling code of E.164 digits ("8613800138000" → "86"); "" if none fits."""
    import phonenumbers  # here, not on top: a module the commands' --help reads imports this

    for size in (1, 2, 3):
        if int(phone[:size] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return phone[:size]
    return ""


@dataclass(frozen=True)
class Tariff:
    """The configured price per billed segment by country calling code, with a default."""

    prices: Mapping[str, float]
    default: float | None = None

    def price(self, country_code: str) -> float | None:
        """The price of one segment to that country, None when none is configured."""
        return self.prices.get(country_code, self.default)

    def queued(self, queued: Iterable[tuple[str, int, int]]) -> tuple[float, tuple[str, ...]]:
        """The estimate of (country, messages, segments) still to send, and unpriced countries."""
        total, unpriced = 0.0, []
        for code, _, segments in queued:
            price = self.price(code)
            if price is None:
                unpriced.append(code)
            else:
                total += segments * price
        return total, tuple(unpriced)

    def spent(self, spending: Iterable[Spending]) -> tuple[float, tuple[str, ...]]:
        """What runs cost so far: the billed prices, and the estimate of the messages no
        receipt priced yet; with the countries of those that have no price."""
        total, unpriced = 0.0, []
        for part in spending:
            total += part.billed
            if part.unbilled_segments:
                price = self.price(part.country_code)
                if price is None:
                    unpriced.append(part.country_code)
                else:
                    total += part.unbilled_segments * price
        return total, tuple(unpriced)
