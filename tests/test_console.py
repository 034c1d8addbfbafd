"""What the screen shows: the plan's balance line, known or not."""

from __future__ import annotations


def test_an_unknown_balance_says_why(capsys: object) -> None:
    from batch_sms.checks.preflight import Plan
    from batch_sms.checks.validate import CostEstimate
    from batch_sms.console import Screen
    from batch_sms.provider import nxcloud

    def shown(balance: nxcloud.Balance) -> str:
        cost = CostEstimate((), 1, 1, 0.01, ())
        plan = Plan(1, {"ready": 1}, 1, 1, cost, 10.0, "USD", balance=balance)
        Screen().show_plan(plan)
        return " ".join(capsys.readouterr().out.split())  # type: ignore[attr-defined]

    connect = nxcloud.Balance("connect", result=nxcloud.describe("connect"))
    assert f"unknown: {nxcloud.describe('connect')} (code connect)" in " ".join(
        shown(connect).replace("│", " ").split()
    )
    assert "unknown (the provider's answer holds no balance)" in " ".join(
        shown(nxcloud.Balance("0")).replace("│", " ").split()
    )
    assert "12.50" in shown(nxcloud.Balance("0", 12.5))


def test_the_plan_shows_the_cost_ceiling_and_its_headroom(capsys: object) -> None:
    from batch_sms.checks.costs import Ceiling
    from batch_sms.checks.preflight import Plan
    from batch_sms.checks.validate import CostEstimate
    from batch_sms.console import Screen

    def shown(limit: float, unpriced: tuple[str, ...] = ()) -> str:
        cost = CostEstimate((), 4, 4, 0.04, unpriced)
        plan = Plan(4, {"ready": 4}, 4, 4, cost, 10.0, "USD", ceiling=Ceiling(limit, 0.04))
        Screen().show_plan(plan)
        return " ".join(capsys.readouterr().out.replace("│", " ").split())  # type: ignore[attr-defined]

    assert "cost ceiling (--max-cost) 0.0500 USD headroom 0.0100 USD" in shown(0.05)
    assert "headroom over by 0.0100 USD: send refuses to start" in shown(0.03)
    assert "no price for +60: send refuses to start" in shown(1.0, ("60",))
