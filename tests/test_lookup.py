"""The record query for receipts that never came: what a record says, and how it is asked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import run

from batch_sms.provider.lookup import Wanted, ask, receipt_fields, too_old

NOON = datetime(2026, 11, 29, 12, 0, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 11, 29, 0, 5, tzinfo=UTC).timestamp()  # just after a day boundary


@pytest.mark.parametrize(
    ("row", "fields"),
    [
        (
            {"msgid": "m1", "phone": "86138", "dr": "DELIVRD", "dr_status": "2",
             "billing_size": 1, "billing_price": "0.0100", "date": "2026-11-29 12:00:00",
             "dr_time": "2026-11-29 12:00:05"},
            {"messageid": "m1", "phone": "86138", "status": "2", "result": "DELIVRD",
             "drtime": "2026-11-29 12:00:05", "sendtime": "2026-11-29 12:00:00", "size": "1",
             "price": "0.0100"},
        ),
        ({"msgid": "m2", "dr": "UNDELIV"}, {"messageid": "m2", "result": "UNDELIV"}),
        ({"msgid": "m3", "dr_status": "9"}, {"messageid": "m3", "status": "9"}),
        # A text in dr_status (no number) is the receipt's result.
        ({"msgid": "m4", "dr_status": "EXPIRED"}, {"messageid": "m4", "result": "EXPIRED"}),
        ({"msgid": "m5", "dr": "", "dr_status": ""}, None),  # no delivery status yet
        ({"msgid": "m6"}, None),
    ],
)  # fmt: skip
def test_receipt_fields(row: dict[str, Any], fields: dict[str, str] | None) -> None:
    assert receipt_fields(row) == fields


def test_too_old_after_31_days() -> None:
    assert not too_old(NOON - 31 * 86400, NOON)
    assert too_old(NOON - 31 * 86400 - 1, NOON)


class FakeRecords:
    """A record query answering from a table of (day, messageid) → row, or with a code."""

    def __init__(self, rows: dict[tuple[str, str], dict[str, Any]], code: str = "0") -> None:
        self.rows = rows
        self.code = code
        self.asked: list[tuple[str, str]] = []

    async def record(self, date: str, messageid: str) -> dict[str, Any]:
        self.asked.append((date, messageid))
        if self.code != "0":
            return {"code": self.code, "result": "application unavailable or wrong app key"}
        return {"code": "0", "row": self.rows.get((date, messageid))}


def test_ask_tries_the_send_day_first_then_its_neighbours() -> None:
    """The provider's day need not be UTC's: a message sent just after midnight UTC may be on
    the day before; the day after is never asked when it is still in the future."""
    client = FakeRecords({("20261128", "late"): {"msgid": "late", "dr": "DELIVRD"}})
    wanted = [Wanted("late", MIDNIGHT), Wanted("gone", MIDNIGHT)]
    asked = run(ask(client, wanted, now=MIDNIGHT + 3600, concurrency=1))
    assert asked.found == {"late": {"messageid": "late", "result": "DELIVRD"}}
    assert asked.missing == ["gone"]
    assert (asked.undecided, asked.failed) == ([], "")
    assert client.asked == [
        ("20261129", "late"), ("20261128", "late"), ("20261129", "gone"), ("20261128", "gone"),
    ]  # fmt: skip


def test_ask_keeps_records_without_a_status_apart() -> None:
    client = FakeRecords({("20261129", "m"): {"msgid": "m", "dr": "", "dr_status": ""}})
    asked = run(ask(client, [Wanted("m", NOON)], now=NOON + 86400 * 2))
    assert (asked.found, asked.undecided, asked.missing) == ({}, ["m"], [])


def test_a_failing_query_stops_the_asking() -> None:
    client = FakeRecords({}, code="1")
    wanted = [Wanted(f"m{i}", NOON) for i in range(5)]
    asked = run(ask(client, wanted, now=NOON + 60, concurrency=1))
    assert asked.failed == "code 1: application unavailable or wrong app key"
    assert (asked.found, asked.undecided, asked.missing) == ({}, [], [])
    assert len(client.asked) == 1


def test_the_receipt_is_for_the_message_asked_about() -> None:
    client = FakeRecords({("20261129", "m"): {"dr_status": "2", "dr": "DELIVRD"}})  # no msgid
    asked = run(ask(client, [Wanted("m", NOON)], now=NOON + 60))
    assert asked.found == {"m": {"messageid": "m", "status": "2", "result": "DELIVRD"}}
