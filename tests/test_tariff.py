"""commands.tariff: a sandbox run without prices is priced at the simulator's own tariff."""

from __future__ import annotations

from batch_sms.commands.tariff import SANDBOX_PRICES, with_tariff
from batch_sms.config import Prices, Settings
from batch_sms.sandbox.rules import SandboxConfig


def test_a_sandbox_run_without_prices_gets_the_simulators_tariff() -> None:
    priced = with_tariff(Settings(sandbox=True))
    assert priced.prices == SANDBOX_PRICES
    assert (SANDBOX_PRICES.default, SANDBOX_PRICES.currency) == (
        SandboxConfig.price, SandboxConfig.currency
    )  # fmt: skip


def test_own_prices_and_real_runs_are_left_as_they_are() -> None:
    own = Settings(sandbox=True, prices=Prices(default=0.02, currency="EUR"))
    assert with_tariff(own) is own
    by_country = Settings(sandbox=True, prices=Prices(by_country={"86": 0.03}))
    assert with_tariff(by_country) is by_country
    real = Settings()
    assert with_tariff(real) is real


def test_the_runs_own_flag_can_be_given_instead_of_the_settings() -> None:
    """A resumed run was a sandbox run or not whatever the command line says now."""
    assert with_tariff(Settings(), sandbox=True).prices == SANDBOX_PRICES
    assert with_tariff(Settings(sandbox=True), sandbox=False).prices == Prices()
