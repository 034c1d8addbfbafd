"""The simulator's own tariff, for sandbox runs that configure no prices."""

from __future__ import annotations

from dataclasses import replace

from batch_sms.config import Prices, Settings
from batch_sms.sandbox.rules import SandboxConfig

__all__ = ["SANDBOX_PRICES", "with_tariff"]

# per billed segment: the simulator's own tariff
SANDBOX_PRICES = Prices(default=SandboxConfig.price, currency=SandboxConfig.currency)


def with_tariff(settings: Settings, sandbox: bool | None = None) -> Settings:
    """The settings priced at the simulator's own tariff for a sandbox run (`sandbox`, else the
    settings' own flag) that has no prices configured; otherwise as they are."""
    simulated = settings.sandbox if sandbox is None else sandbox
    if simulated and not settings.prices.by_country and settings.prices.default is None:
        return replace(settings, prices=SANDBOX_PRICES)
    return settings
