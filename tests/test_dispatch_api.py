"""Dispatch settings: values that cannot work are refused before anything is sent."""

from __future__ import annotations

import asyncio

import pytest
from helpers import make_run

from batch_sms.dispatch import DispatchSettings, dispatch
from batch_sms.journal import Journal


def test_bad_settings_are_refused(journal: Journal) -> None:
    make_run(journal, "run-settings-1", [])

    async def go() -> None:
        await dispatch("run-settings-1", journal, None, DispatchSettings(concurrency=0))  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(go())


def test_a_zero_hourly_cap_is_refused(journal: Journal) -> None:
    make_run(journal, "run-settings-2", [])

    async def go() -> None:
        await dispatch("run-settings-2", journal, None, DispatchSettings(hourly_cap=0))  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="hourly_cap"):
        asyncio.run(go())
