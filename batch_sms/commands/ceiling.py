"""The cost ceiling (`--max-cost`) of a run: refused before it starts when the estimate is
above it, and the gate that stops the dispatch before the cost so far would pass it.

The ceiling covers a run together with its retries (its family), so a retry or a resume counts
what the family already spent."""

from __future__ import annotations

import math
from collections.abc import Callable

from batch_sms.checks.costs import Ceiling, Tariff, ceiling_refusal, country_code_of
from batch_sms.commands import hints
from batch_sms.config import Settings
from batch_sms.dispatch.ceiling import CostCeiling
from batch_sms.dispatch.gates import Gate
from batch_sms.errors import UsageError
from batch_sms.journal import Journal, Queued

__all__ = ["gates", "refuse_over_ceiling", "refuse_plan", "tariff"]


def tariff(settings: Settings) -> Tariff:
    """The configured prices per billed segment."""
    return Tariff(dict(settings.prices.by_country), settings.prices.default)


def refuse_plan(ceiling: Ceiling | None, unpriced: tuple[str, ...], settings: Settings) -> None:
    """Before a new run is made: refuse (UsageError, exit 2) when its estimate does not fit."""
    if ceiling is None:
        return
    why = ceiling_refusal(ceiling, unpriced, settings.prices.currency)
    if why is not None:
        again = lambda amount: f"to send it all, give --max-cost {amount} or more"  # noqa: E731
        raise UsageError(why, _hint(ceiling, unpriced, again))


def refuse_over_ceiling(journal: Journal, run_id: str, settings: Settings) -> None:
    """Before `run_id` (resumed, or a new retry) sends: refuse when what its family spent plus
    the estimate of what it has left does not fit under the ceiling; nothing is sent then, and
    `resume RUN_ID` with a higher --max-cost sends it."""
    if settings.max_cost is None:
        return
    prices = tariff(settings)
    estimate, unpriced = prices.queued(journal.queued_segments(run_id))
    spent, unpriced_spent = prices.spent(journal.spending(journal.family(run_id)))
    ceiling = Ceiling(settings.max_cost, estimate, spent)
    missing = tuple(dict.fromkeys(unpriced + unpriced_spent))
    why = ceiling_refusal(ceiling, missing, settings.prices.currency)
    if why is not None:

        def again(amount: str) -> str:
            resume = hints.command("resume", settings, run_id, "--max-cost", amount)
            return f"run {run_id} sent nothing more; to send the rest: {resume}"

        raise UsageError(why, _hint(ceiling, missing, again))


def _hint(ceiling: Ceiling, unpriced: tuple[str, ...], again: Callable[[str], str]) -> str:
    """What to do about a refused ceiling: price the countries, or give a ceiling that fits."""
    if unpriced:
        codes = ", ".join(f'"{code}"' for code in unpriced)
        return f"set a price for {codes} (or a default) in the [prices] table of batch-sms.toml"
    needed = math.ceil((ceiling.spent + ceiling.estimate) * 100 - 1e-6) / 100
    return again(f"{needed:g}")


def gates(journal: Journal, run_id: str, settings: Settings) -> tuple[Gate, ...]:
    """The dispatch gate that keeps the run under its ceiling (none without one)."""
    if settings.max_cost is None:
        return ()
    prices = tariff(settings)
    family = journal.family(run_id)

    def estimate(q: Queued) -> float | None:
        price = prices.price(country_code_of(q.phone))
        return None if price is None else q.segments * price

    def spent() -> float:
        return prices.spent(journal.spending(family))[0]

    ceiling = CostCeiling(
        settings.max_cost, estimate, spent, journal.launched, currency=settings.prices.currency
    )
    return (ceiling,)
