"""The figures the pages show, worded as the CLI words them (never a secret)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batch_sms.config import Settings
from batch_sms.console import balance_text, money_text, plan_duration  # the CLI's wording
from batch_sms.models import CostEstimate

__all__ = ["cost_facts", "plan_facts", "settings_facts"]


def settings_facts(settings: Settings) -> list[tuple[str, str]]:
    """What the settings page shows: the defaults, where things go, and whether credentials
    are configured (never their values)."""
    missing = settings.credentials.missing()
    return [
        ("mode", "sandbox (the built-in simulator)" if settings.sandbox else "NXCloud"),
        ("credentials configured", "no: " + ", ".join(missing) if missing else "yes"),
        ("provider", "simulator" if settings.sandbox else settings.base_url),
        ("output folder", str(settings.out)),
        ("state db", str(settings.state_path)),
        ("sender", settings.sender or "(none)"),
        ("default region", settings.default_region or "(none)"),
        ("tps", "unlimited" if settings.tps is None else f"{settings.tps:g}"),
        ("hourly cap per number", str(settings.hourly_cap)),
        ("prices", f"{len(settings.prices.by_country)} countries" + (
            f", default {settings.prices.default:g}" if settings.prices.default is not None else ""
        ) + (f" {settings.prices.currency}" if settings.prices.currency else "")),
    ]  # fmt: skip


def cost_facts(cost: CostEstimate, currency: str) -> list[tuple[str, str]]:
    """A run's cost as its page shows it: the estimate at the configured prices and what the
    receipts billed so far, as the report's Summary counts them."""
    priced = None if cost.unpriced and not cost.cost else cost.cost
    if cost.billed is None:
        billed = "no receipt has carried a price yet"
    else:
        with_price = _count(cost.billed_messages, "message")
        billed = f"{money_text(cost.billed, cost.billed_currency)} ({with_price} with a price)"
    return [("estimated cost", money_text(priced, currency)), ("billed so far", billed)]


def plan_facts(
    plan: Any, saving: Sequence[tuple[str, int | str]] = (), headroom: str = ""
) -> list[tuple[str, str]]:
    """The plan's figures, worded as the CLI's plan table words them; `saving` is what
    --gsm-safe saves and `headroom` what stays under the cost ceiling, as the CLI words them."""
    cost = plan.cost
    priced = None if cost.unpriced and not cost.cost else cost.cost
    unpriced = ", ".join(f"+{c}" for c in cost.unpriced)
    facts = [
        ("rows", f"{plan.rows:,}"),
        ("messages to send", f"{plan.messages_ready:,}"),
        ("billed segments", f"{plan.segments_ready:,}"),
        *((f"  {label}", f"{v:,}" if isinstance(v, int) else v) for label, v in saving),
        ("estimated cost", money_text(priced, plan.currency)),
        *(  # the cost by country, under the estimate it adds up to
            (f"  +{c.country_code}", f"{_count(c.messages, 'message')}, "
             f"{_count(c.segments, 'segment')}, {money_text(c.cost, plan.currency)}")
            for c in cost.countries
        ),
        *([("  not priced", unpriced)] if cost.unpriced and cost.cost else []),
        *_ceiling(plan, unpriced, headroom),
        ("estimated duration", plan_duration(plan.seconds)),
        *([("short link", plan.short_link)] if plan.short_link else []),
    ]  # fmt: skip
    if plan.balance is not None:
        facts.append(("account balance", balance_text(plan.balance)))
    return facts


def _ceiling(plan: Any, unpriced: str, headroom: str) -> list[tuple[str, str]]:
    """The cost ceiling and what stays under it, or why a send would be refused."""
    if plan.ceiling is None:
        return []
    rows = [("cost ceiling (--max-cost)", money_text(plan.ceiling.limit, plan.currency))]
    if unpriced:
        rows.append(("  no price for", f"{unpriced}: send refuses to start"))
    elif plan.ceiling.headroom < 0:
        rows.append(("  headroom", f"{headroom}: send refuses to start"))
    else:
        rows.append(("  headroom", headroom))
    return rows


def _count(number: int, noun: str) -> str:
    """`1 message`, `2 messages`."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
