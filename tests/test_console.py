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
