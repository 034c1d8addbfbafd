"""The follow-up use cases' arguments: the statuses a retry may take, and run ids."""

from __future__ import annotations

import pytest

from batch_sms.commands.followup import parse_statuses, require_run
from batch_sms.errors import StateError, UsageError
from batch_sms.models import Status


def test_statuses_are_read_loosely_in_the_order_given() -> None:
    assert parse_statuses("undelivered, FAILED,,capped") == [
        Status.UNDELIVERED,
        Status.FAILED,
        Status.CAPPED,
    ]


@pytest.mark.parametrize("text", ["sent", "delivered", "nosuch", "ready"])
def test_a_status_retry_cannot_take_is_refused_naming_those_it_can(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_statuses(f"failed,{text}")
    assert info.value.message == (
        f"--status {text!r}: retry takes capped, expired, failed, pending, scheduled, "
        "undelivered, unknown"
    )


def test_no_status_at_all_is_refused() -> None:
    with pytest.raises(UsageError, match="needs at least one status"):
        parse_statuses(" , ")


def test_a_run_id_is_checked_for_shape() -> None:
    assert require_run("20261125-001500-a1b2") == "20261125-001500-a1b2"
    for bad in ("../etc", "run id", "", None):
        with pytest.raises(StateError, match="is not a run id") as info:
            require_run(bad)
        assert info.value.hint.startswith("batch-sms runs")
