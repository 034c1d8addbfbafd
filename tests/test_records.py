"""The journal's records: a queued message names itself to the provider as the report does."""

from __future__ import annotations

import dataclasses

import pytest

from batch_sms.journal import Queued, RetryCopy
from batch_sms.models import Status, ext, sys_message_id


def test_a_queued_message_carries_its_sys_message_id_and_ext() -> None:
    queued = Queued(7, "20261125-001500-a1b2", 12, 1, "8613800138000", "Hi", 1, 0, Status.PENDING)
    assert queued.sys_message_id == sys_message_id("20261125-001500-a1b2", 12, 1)
    assert queued.ext == ext("20261125-001500-a1b2", 12, 1)


def test_records_are_values() -> None:
    copy = RetryCopy(copied=3, skipped=1)
    assert copy == RetryCopy(3, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.copied = 4  # type: ignore[misc]
