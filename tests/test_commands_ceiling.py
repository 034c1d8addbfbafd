"""The cost ceiling's use-case side: refusals before a run sends, and the gate it hands the
dispatch (the end-to-end behaviour is in test_cli_cost.py)."""

from __future__ import annotations

import pytest
from helpers import msg, new_run, run_info, send

from batch_sms.checks.costs import Ceiling
from batch_sms.commands import ceiling
from batch_sms.config import Prices, Settings
from batch_sms.dispatch.ceiling import CostCeiling
from batch_sms.errors import UsageError
from batch_sms.journal import Journal

PRICED = Settings(max_cost=0.05, prices=Prices(default=0.01, currency="USD"))


def test_without_a_ceiling_nothing_is_refused_and_no_gate_is_made(journal: Journal) -> None:
    new_run(journal, "a", msg(2, "8613800000001"))
    ceiling.refuse_over_ceiling(journal, "a", Settings())
    ceiling.refuse_plan(None, ("86",), Settings())
    assert ceiling.gates(journal, "a", Settings()) == ()


def test_a_plan_above_the_ceiling_is_refused_with_the_amount_that_would_do() -> None:
    with pytest.raises(UsageError) as refused:
        ceiling.refuse_plan(Ceiling(0.05, 0.0612), (), PRICED)
    assert "above the ceiling by 0.0112 USD" in refused.value.message
    assert refused.value.hint == "to send it all, give --max-cost 0.07 or more"


def test_resume_and_retry_count_what_the_family_spent(journal: Journal) -> None:
    ids = new_run(journal, "a", *(msg(row, f"861380000000{row}") for row in range(2, 7)))
    send(journal, ids[:4], at=1.0)  # 0.04 spent (estimated), 1 left at 0.01: fits 0.05
    ceiling.refuse_over_ceiling(journal, "a", PRICED)
    journal.add_receipt({"messageid": f"M{ids[0]}", "status": "2", "price": "0.02"}, 2.0)
    with pytest.raises(UsageError) as refused:  # billed above its estimate: 0.05 spent
        ceiling.refuse_over_ceiling(journal, "a", PRICED)
    assert "after 0.0500 USD already spent is above the ceiling by 0.0100 USD" in (
        refused.value.message
    )
    assert refused.value.hint == (
        "run a sent nothing more; to send the rest: batch-sms resume a --max-cost 0.06"
    )
    journal.create_run(run_info("b", 2.0, parent="a"))  # a retry: its parent's spending counts
    journal.add_messages("b", [msg(2, "8613800000009")])
    with pytest.raises(UsageError, match=r"after 0\.0500 USD already spent"):
        ceiling.refuse_over_ceiling(journal, "b", PRICED)
    [gate] = ceiling.gates(journal, "b", PRICED)
    assert isinstance(gate, CostCeiling)
    assert gate.limit == 0.05


def test_a_country_without_a_price_is_named(journal: Journal) -> None:
    new_run(journal, "a", msg(2, "8613800000001"))
    settings = Settings(max_cost=1.0, prices=Prices(by_country={"1": 0.01}))
    with pytest.raises(UsageError, match=r"no price is configured for country codes \+86") as e:
        ceiling.refuse_over_ceiling(journal, "a", settings)
    assert '"86"' in e.value.hint
