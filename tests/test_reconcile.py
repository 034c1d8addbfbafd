"""Settling unknown messages against the provider's records: the rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batch_sms.provider.reconcile import (
    ProviderRecord,
    Unresolved,
    days_to_ask,
    parse_records,
    reconcile,
)

NOW = 1_764_000_000.0  # 2025-11-24 16:00 UTC


def unknown(id_: int, phone: str, at: float = NOW - 600) -> Unresolved:
    return Unresolved(id_, phone, at, 1)


def record(messageid: str, phone: str) -> ProviderRecord:
    return ProviderRecord(messageid, phone, "2025-11-24 15:50:00")


@pytest.mark.parametrize(
    ("messages", "records", "claimed", "arrived", "never", "undecided"),
    [
        pytest.param(
            [unknown(1, "861")],
            [record("m1", "861")],
            set(),
            [1],
            [],
            [],
            id="unclaimed record proves arrival",
        ),
        pytest.param(
            [unknown(1, "861")],
            [record("m1", "861")],
            {"m1"},
            [],
            [1],
            [],
            id="a claimed record is another message's",
        ),
        pytest.param(
            [unknown(1, "861")],
            [],
            set(),
            [],
            [1],
            [],
            id="no record after the settle time: never arrived",
        ),
        pytest.param([unknown(1, "861", NOW - 5)], [], set(), [], [], [1], id="too soon to tell"),
        pytest.param(
            [unknown(1, "861")],
            [record("m1", "861"), record("m2", "861")],
            set(),
            [],
            [],
            [1],
            id="more records than messages: ambiguous",
        ),
        pytest.param(
            [unknown(1, "861"), unknown(2, "861", NOW - 500)],
            [record("m1", "861"), record("m2", "861")],
            set(),
            [1, 2],
            [],
            [],
            id="as many records as messages for the number",
        ),
        pytest.param(
            [unknown(1, "861")],
            [record("m9-0000000001", "861")],
            {"m9"},
            [],
            [1],
            [],
            id="a multi-number send's record is claimed by its base id",
        ),
        pytest.param(
            [unknown(1, "861")],
            [record("m9-a1", "861")],
            {"m9"},
            [1],
            [],
            [],
            # Only "-" and 10 digits mark a multi-number send (API §3): "m9-a1" is an id of its
            # own, so a known "m9" does not claim it (taking it for m9's would resend the text).
            id="a '-' that is no multi-number suffix keeps the id whole",
        ),
        pytest.param(
            [unknown(1, "861"), unknown(2, "862")],
            [record("m1", "862")],
            set(),
            [2],
            [1],
            [],
            id="numbers are settled independently",
        ),
    ],
)
def test_reconcile_rules(
    messages: list[Unresolved],
    records: list[ProviderRecord],
    claimed: set[str],
    arrived: list[int],
    never: list[int],
    undecided: list[int],
) -> None:
    verdict = reconcile(messages, records, claimed, now=NOW, settle=120)
    assert [m.id for m, _ in verdict.arrived] == arrived
    assert [m.id for m in verdict.never] == never
    assert [m.id for m in verdict.undecided] == undecided


def test_a_record_for_a_number_another_run_also_awaits_proves_nothing() -> None:
    """Run A and run B both have an unknown message to one number; one record exists. It may be
    either's: crediting it to B would lose B's text and then resend A's."""
    verdict = reconcile([unknown(1, "861")], [record("m1", "861")], set(), now=NOW, settle=120,
                        elsewhere={"861": 1})  # fmt: skip
    assert [m.id for m in verdict.undecided] == [1]
    none = reconcile([unknown(1, "861")], [], set(), now=NOW, settle=120, elsewhere={"861": 1})
    assert [m.id for m in none.never] == [1]  # no record at all: neither arrived


def test_undecided_messages_say_why_and_whether_a_later_resume_can_decide() -> None:
    soon = reconcile([unknown(1, "861", NOW - 5)], [], set(), now=NOW, settle=120)
    why, later = soon.why[1]
    assert later
    assert "from 2025-11-24 16:01:55 UTC a missing record proves it never arrived" in why
    more = reconcile([unknown(1, "861")], [record("m1", "861"), record("m2", "861")], set(),
                     now=NOW, settle=120)  # fmt: skip
    assert more.why[1] == (
        "the provider's records hold 2 unclaimed messages to this number for 1 unknown here, "
        "so they can't be matched one to one",
        False,  # more records than messages never match, however long one waits
    )
    fewer = reconcile([unknown(1, "861"), unknown(2, "861")], [record("m1", "861")], set(),
                      now=NOW, settle=120)  # fmt: skip
    assert [fewer.why[i][1] for i in (1, 2)] == [True, True]  # the other record may yet show
    shared = reconcile([unknown(1, "861")], [record("m1", "861")], set(), now=NOW, settle=120,
                       elsewhere={"861": 1})  # fmt: skip
    assert shared.why[1][1]
    assert "settle that run first" in shared.why[1][0]


def test_days_to_ask_cover_neighbours_but_not_the_future() -> None:
    at = datetime(2025, 11, 24, 23, 59, tzinfo=UTC).timestamp()
    assert days_to_ask([unknown(1, "1", at)], now=at) == ["20251123", "20251124"]
    assert days_to_ask([unknown(1, "1", at)], now=at + 3600) == ["20251123", "20251124", "20251125"]


def test_parse_records_skips_rows_without_id_or_phone() -> None:
    rows = [{"msgid": "a", "phone": "1", "date": "d"}, {"msgid": "", "phone": "2"}, {"x": 1}]
    assert parse_records(rows) == [ProviderRecord("a", "1", "d")]
