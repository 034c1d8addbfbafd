"""batch_sms.web.facts: the settings and plan figures the pages show, in the CLI's words, and
never a secret."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from webclient import web_settings

from batch_sms.checks.costs import Ceiling
from batch_sms.checks.preflight import Plan
from batch_sms.models import CostEstimate, CountryCost, Credentials
from batch_sms.provider.nxcloud import Balance
from batch_sms.web.facts import cost_facts, plan_facts, settings_facts

SECRET = "s3cr3t-value"  # a made-up secret the pages must never show


def plan(**changes: object) -> Plan:
    """A plan of 3 messages to two countries, priced."""
    cost = CostEstimate(
        countries=(CountryCost("86", 2, 3, 0.01, 0.03), CountryCost("1", 1, 1, None, None)),
        messages=3,
        segments=4,
        cost=0.03,
        unpriced=("1",),
    )
    fields: dict[str, object] = {"rows": 4, "rows_by_status": {"ready": 3, "invalid": 1},
                                 "messages_ready": 3, "segments_ready": 4, "cost": cost,
                                 "tps": 2.0, "currency": "USD"}  # fmt: skip
    fields.update(changes)
    return Plan(**fields)  # type: ignore[arg-type]


def test_settings_facts_say_credentials_are_configured_never_their_values(
    tmp_path: Path,
) -> None:
    creds = Credentials(access_key=SECRET + "1", access_secret=SECRET, app_key=SECRET + "2")
    settings = replace(web_settings(tmp_path, sender="Shop"), credentials=creds)
    facts = dict(settings_facts(settings))
    assert facts["credentials configured"] == "yes"
    assert facts["mode"] == "NXCloud"
    assert facts["sender"] == "Shop"
    assert facts["output folder"] == str(tmp_path / "out")
    assert all(SECRET not in value for value in facts.values())


def test_settings_facts_name_the_missing_credentials_and_the_sandbox(tmp_path: Path) -> None:
    facts = dict(settings_facts(replace(web_settings(tmp_path, sandbox=True), tps=None)))
    assert facts["credentials configured"].startswith("no: ")
    assert "NXCLOUD_ACCESS_SECRET" in facts["credentials configured"]
    assert facts["mode"] == "sandbox (the built-in simulator)"
    assert facts["provider"] == "simulator"
    assert facts["tps"] == "unlimited"
    assert facts["sender"] == "(none)"


def test_plan_facts_word_the_plan_as_the_cli_does() -> None:
    facts = plan_facts(plan())
    assert facts == [
        ("rows", "4"),
        ("messages to send", "3"),
        ("billed segments", "4"),
        ("estimated cost", "0.0300 USD"),
        ("  +86", "2 messages, 3 segments, 0.0300 USD"),  # under the estimate they add up to
        ("  +1", "1 message, 1 segment, unknown (no price)"),
        ("  not priced", "+1"),  # as the CLI's plan names them
        ("estimated duration", "0m 02s"),
    ]


def test_plan_facts_with_nothing_priced_and_a_balance() -> None:
    none_priced = CostEstimate((), 3, 4, 0.0, ("86",))
    facts = dict(plan_facts(plan(cost=none_priced, tps=None, balance=Balance("0", 12.5))))
    assert facts["estimated cost"] == "unknown (no price)"
    assert facts["estimated duration"] == "as fast as the provider answers"
    assert facts["account balance"] == "12.50"


def test_plan_facts_show_the_gsm_safe_saving_and_the_ceilings_headroom() -> None:
    priced = CostEstimate((CountryCost("86", 3, 4, 0.01, 0.04),), 3, 4, 0.04, ())
    saving = [("texts made GSM-7 (--gsm-safe)", 2), ("segments before → after", "6 → 4"),
              ("saved", "2 segments, 0.0200 USD")]  # fmt: skip
    facts = plan_facts(plan(cost=priced, ceiling=Ceiling(0.05, 0.04)), saving, "0.0100 USD")
    names = [name for name, _ in facts]
    assert facts[3:6] == [("  texts made GSM-7 (--gsm-safe)", "2"),
                          ("  segments before → after", "6 → 4"),
                          ("  saved", "2 segments, 0.0200 USD")]  # fmt: skip
    assert names.index("  saved") < names.index("estimated cost")
    found = dict(facts)
    assert found["cost ceiling (--max-cost)"] == "0.0500 USD"
    assert found["  headroom"] == "0.0100 USD"


def test_plan_facts_say_when_the_ceiling_refuses_the_send() -> None:
    priced = CostEstimate((CountryCost("86", 3, 4, 0.01, 0.04),), 3, 4, 0.04, ())
    over = dict(plan_facts(plan(cost=priced, ceiling=Ceiling(0.03, 0.04)), (), "over by 0.0100"))
    assert over["  headroom"] == "over by 0.0100: send refuses to start"
    unpriced = dict(plan_facts(plan(ceiling=Ceiling(1.0, 0.03)), (), "0.9700 USD"))
    assert unpriced["  no price for"] == "+1: send refuses to start"
    assert "  headroom" not in unpriced
    assert "cost ceiling (--max-cost)" not in dict(plan_facts(plan()))


def test_cost_facts_say_the_estimate_and_what_receipts_billed() -> None:
    priced = CostEstimate((), 3, 3, 0.03, (), billed=0.02, billed_messages=2,
                          billed_currency="USD", of_run=True)  # fmt: skip
    assert cost_facts(priced, "USD") == [
        ("estimated cost", "0.0300 USD"),
        ("billed so far", "0.0200 USD (2 messages with a price)"),
    ]
    unpriced = CostEstimate((), 1, 1, 0.0, ("86",), of_run=True)
    assert cost_facts(unpriced, "") == [
        ("estimated cost", "unknown (no price)"),
        ("billed so far", "no receipt has carried a price yet"),
    ]
