"""A run's costs (estimate beside billed) and the cost ceiling's verdict before a send."""

from __future__ import annotations

from dataclasses import replace

import pytest

from batch_sms.checks.costs import Ceiling, ceiling_refusal, headroom_text, run_costs
from batch_sms.checks.validate import estimate_cost
from batch_sms.journal import CostTally
from batch_sms.models import Message, Status


def _message(status: Status, cc: int, segments: int, price: float | None = None,
             currency: str = "") -> CostTally:  # fmt: skip
    """One message as the journal's tally counts it."""
    billed = 0 if price is None else 1
    return CostTally(cc, status, 1, segments, billed, price or 0.0, currency)


def test_run_costs_put_the_billed_price_beside_the_estimate_per_country() -> None:
    tallies = [
        _message(Status.DELIVERED, 86, 2, 0.02, "USD"),
        _message(Status.DELIVERED, 86, 1, 0.01, "USD"),
        _message(Status.SENT, 86, 1),  # no receipt yet
        _message(Status.UNDELIVERED, 1, 3, 0.03, "USD"),
        _message(Status.INVALID, 1, 1),  # never sendable: neither estimated nor billed
        _message(Status.DUPLICATE, 44, 1, 0.05, "USD"),  # billed anyway: money spent
    ]
    costs = run_costs(tallies, {"86": 0.01}, None)
    by_code = {c.country_code: c for c in costs.countries}
    assert (by_code["86"].messages, by_code["86"].segments, by_code["86"].cost) == (3, 4, 0.04)
    assert (by_code["86"].billed, by_code["86"].billed_messages) == (0.03, 2)
    assert (by_code["1"].messages, by_code["1"].cost, by_code["1"].billed) == (1, None, 0.03)
    assert (by_code["44"].messages, by_code["44"].billed) == (0, 0.05)
    assert (costs.billed, costs.billed_messages, costs.billed_currency) == (0.11, 4, "USD")
    assert costs.of_run
    assert costs.unpriced == ("1",)


def test_run_costs_without_receipts_bill_nothing() -> None:
    costs = run_costs([_message(Status.SENT, 86, 1)], {}, 0.5)
    assert (costs.cost, costs.billed, costs.billed_messages) == (0.5, None, 0)


@pytest.mark.parametrize(
    ("limit", "spent", "refused"),
    [
        (0.04, 0.0, None),  # exactly at the ceiling: allowed
        (0.0399, 0.0, "above the ceiling by 0.0001 USD"),
        (0.05, 0.02, "after 0.0200 USD already spent is above the ceiling by 0.0100 USD"),
    ],
)
def test_the_ceiling_refuses_an_estimate_above_it(
    limit: float, spent: float, refused: str | None
) -> None:
    estimate = estimate_cost(
        [Message(2, 0, "x", "861", "hi", 2, "GSM-7", 86, Status.READY)] * 2, {}, 0.01
    )
    ceiling = Ceiling(limit, estimate.cost, spent)
    verdict = ceiling_refusal(ceiling, estimate.unpriced, "USD")
    if refused is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert refused in verdict


def test_the_ceiling_names_the_countries_without_a_price() -> None:
    messages = [
        Message(2, 0, "x", "861", "hi", 1, "GSM-7", 86, Status.READY),
        Message(3, 0, "x", "11", "hi", 1, "GSM-7", 1, Status.READY),
        Message(4, 0, "x", "601", "hi", 1, "GSM-7", 60, Status.READY),
    ]
    estimate = estimate_cost(messages, {"86": 0.01}, None)
    verdict = ceiling_refusal(Ceiling(100.0, estimate.cost), estimate.unpriced, "USD")
    assert verdict is not None
    assert "no price is configured for country codes +1, +60" in verdict


def test_headroom_is_what_stays_under_the_ceiling() -> None:
    assert headroom_text(Ceiling(1.0, 0.25, 0.5), "USD") == "0.2500 USD"
    assert headroom_text(replace(Ceiling(1.0, 0.75), spent=0.5)) == "over by 0.2500"
