"""The cost ceiling gate: goes while the cost so far fits, halts before it would pass, counts
each message once, and reads the journal now and then rather than per message."""

from __future__ import annotations

from collections.abc import Collection

from helpers import FakeClock, SandboxMaker, cn_numbers, dispatch_run, make_run, status_counts

from batch_sms.checks.costs import Tariff, country_code_of
from batch_sms.dispatch import DispatchSettings
from batch_sms.dispatch.ceiling import CostCeiling
from batch_sms.dispatch.gates import Halt
from batch_sms.journal import Journal, Queued
from batch_sms.models import Status


def queued(id_: int, segments: int = 1) -> Queued:
    return Queued(id_, "r", id_ + 1, 0, "8613800138000", "Hi", segments, 0, Status.PENDING)


class Books:
    """A fake journal: the cost so far, and which messages left the queue."""

    def __init__(self) -> None:
        self.spent = 0.0
        self.out: set[int] = set()
        self.reads = 0

    def read(self) -> float:
        self.reads += 1
        return self.spent

    def launched(self, ids: Collection[int]) -> set[int]:
        return self.out & set(ids)


def gate(books: Books, limit: float, refresh: float = 2.0) -> CostCeiling:
    return CostCeiling(
        limit, lambda q: q.segments * 0.01, books.read, books.launched, currency="USD",
        refresh=refresh,
    )  # fmt: skip


def test_messages_go_while_they_fit_and_the_next_that_would_pass_halts() -> None:
    books = Books()
    ceiling = gate(books, 0.05)
    assert [ceiling.verdict(queued(i, 2), 0.0) for i in range(2)] == [None, None]
    assert ceiling.verdict(queued(2), 0.0) is None  # 0.05: exactly at the ceiling goes
    verdict = ceiling.verdict(queued(3), 0.0)
    assert isinstance(verdict, Halt)
    assert "cost ceiling 0.05 USD reached: 0.0500 USD spent so far" in verdict.why
    assert "resume with a higher --max-cost" in verdict.why


def test_a_message_asked_again_is_counted_once() -> None:
    books = Books()
    ceiling = gate(books, 0.02)
    assert ceiling.verdict(queued(1), 0.0) is None
    assert ceiling.verdict(queued(1), 0.5) is None  # sent again after a back-off
    assert ceiling.so_far == 0.01
    assert ceiling.verdict(queued(2), 0.5) is None
    assert isinstance(ceiling.verdict(queued(3), 0.5), Halt)


def test_the_journal_takes_over_what_left_the_queue_without_double_counting() -> None:
    books = Books()
    ceiling = gate(books, 1.0)
    for i in range(3):
        ceiling.verdict(queued(i), 0.0)
    books.out, books.spent = {0, 1}, 0.02  # two in flight now, the third still queued
    ceiling.verdict(queued(3), 5.0)  # time for a read
    assert round(ceiling.so_far, 6) == 0.04  # 0.02 from the journal, 0.01 + 0.01 reserved


def test_reads_go_by_the_clock_not_by_the_message() -> None:
    books = Books()
    ceiling = gate(books, 100.0, refresh=2.0)
    clock = FakeClock(0.0)
    for i in range(50):
        ceiling.verdict(queued(i), clock.now)
        clock.advance(0.1)
    assert books.reads == 3  # at 0 s, 2 s and 4 s, not 50 times


def test_near_the_ceiling_it_reads_again_before_halting() -> None:
    """Receipts billed less than the estimates (or messages failed): a fresh read lets more
    go; it halts only when the fresh figures leave no room."""
    books = Books()
    ceiling = gate(books, 0.03, refresh=60.0)
    for i in range(3):
        assert ceiling.verdict(queued(i), 0.0) is None
    books.out, books.spent = {0, 1, 2}, 0.015  # billed at half the estimate
    assert ceiling.verdict(queued(3), 1.0) is None
    assert books.reads == 2
    assert isinstance(ceiling.verdict(queued(4), 1.0), Halt)  # 0.025 + 0.01 > 0.03
    assert books.reads == 3


def test_a_message_without_a_price_halts() -> None:
    ceiling = CostCeiling(1.0, lambda q: None, lambda: 0.0, lambda ids: set())
    verdict = ceiling.verdict(queued(1), 0.0)
    assert isinstance(verdict, Halt)
    assert "no price is configured for the country of row 2" in verdict.why


def test_a_dispatch_halts_at_the_ceiling_and_leaves_the_rest_pending(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    """Against the sandbox: 10 messages at 0.01 under a ceiling of 0.055 send 5, then halt
    (resumable), the rest pending; the journal's cost so far is what the gate counted."""
    handle = make_sandbox(hourly_cap=None)
    make_run(journal, "run-ceiling-1", [(p, "Hi") for p in cn_numbers(10)])
    tariff = Tariff({"86": 0.01})
    ceiling = CostCeiling(
        0.055,
        lambda q: q.segments * (tariff.price(country_code_of(q.phone)) or 0),
        lambda: tariff.spent(journal.spending(["run-ceiling-1"]))[0],
        journal.launched,
    )
    settings = DispatchSettings(hourly_cap=None, concurrency=3)
    result = dispatch_run(handle, journal, "run-ceiling-1", settings, gates=(ceiling,))
    assert result.halted_by.startswith("cost ceiling 0.055 reached")
    assert not result.interrupted
    assert status_counts(journal, "run-ceiling-1") == {"sent": 5, "pending": 5}
    assert len(handle.sandbox.accepted) == 5
    assert tariff.spent(journal.spending(["run-ceiling-1"]))[0] == 0.05
    assert ceiling.reads <= 3  # read at the start and near the end, not per message
