"""Gates asked before each send: a hold waits on the clock, a skip leaves the row, a halt stops."""

from __future__ import annotations

from dataclasses import dataclass, field

from helpers import FakeClock, SandboxMaker, cn_numbers, dispatch_run, make_run, status_counts

from batch_sms.dispatch import DispatchSettings
from batch_sms.dispatch.gates import Halt, Hold, Skip, Verdict, first_verdict
from batch_sms.journal import Journal, Queued

SETTINGS = DispatchSettings(hourly_cap=None, concurrency=4)


@dataclass
class ByRow:
    """A gate whose verdict is chosen per row; rows not named go."""

    verdicts: dict[int, Verdict]
    asked: list[int] = field(default_factory=list)

    def verdict(self, q: Queued, now: float) -> Verdict:
        self.asked.append(q.row)
        return self.verdicts.get(q.row)


def test_the_first_gate_with_a_verdict_decides() -> None:
    q = Queued(1, "r", 2, 0, "8613800138000", "Hi", 1, 0, "pending")  # type: ignore[arg-type]
    later, skip = ByRow({2: Hold(5.0, "later")}), ByRow({2: Skip()})
    assert first_verdict((ByRow({}), later, skip), q, 0.0) == Hold(5.0, "later")
    assert skip.asked == []
    assert first_verdict((ByRow({}),), q, 0.0) is None


def test_a_hold_waits_for_its_time_on_the_injected_clock_then_sends(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    phones = cn_numbers(3)
    make_run(journal, "run-gate-hold1", [(p, "Hi") for p in phones])
    clock = FakeClock()
    due = clock.now + 3600

    @dataclass
    class Until:
        def verdict(self, q: Queued, now: float) -> Verdict:
            return Hold(due, "quiet hours") if q.row == 2 and now < due else None

    result = dispatch_run(
        handle,
        journal,
        "run-gate-hold1",
        SETTINGS,
        clock=clock,
        sleep=clock.sleep,
        gates=(Until(),),
    )
    assert result.counts == {"sent": 3}
    assert clock.now >= due  # it waited on the fake clock, not in real time
    assert len(handle.sandbox.accepted) == 3


def test_when_only_held_messages_remain_they_stay_pending_with_when_and_why(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    make_run(journal, "run-gate-hold2", [(p, "Hi") for p in cn_numbers(4)])
    clock = FakeClock()
    gate = ByRow({2: Hold(clock.now + 7200, "quiet hours in Asia/Shanghai")})
    result = dispatch_run(handle, journal, "run-gate-hold2", SETTINGS, clock=clock, gates=(gate,))
    assert result.counts == {"sent": 3, "pending": 1}
    assert not result.interrupted
    assert result.halted_by == ""
    held = [r for r in journal.report_rows("run-gate-hold2") if r.status == "pending"]
    assert [(r.row, r.error) for r in held] == [(2, "quiet hours in Asia/Shanghai")]
    assert len(handle.sandbox.accepted) == 3


def test_a_skipped_message_is_left_as_it_is_and_not_counted(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    phones = cn_numbers(5)
    make_run(journal, "run-gate-skip1", [(p, "Hi") for p in phones])
    gate = ByRow({r: Skip() for r in (3, 4, 5)})
    result = dispatch_run(handle, journal, "run-gate-skip1", SETTINGS, gates=(gate,))
    assert result.counts == {"sent": 2}
    assert status_counts(journal, "run-gate-skip1") == {"sent": 2, "pending": 3}
    assert sorted(a.phone for a in handle.sandbox.accepted) == [phones[0], phones[4]]  # rows 2, 6


def test_a_halt_stops_before_that_message_and_leaves_the_rest_pending(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    make_run(journal, "run-gate-halt1", [(p, "Hi") for p in cn_numbers(6)])
    gate = ByRow({4: Halt("cost ceiling reached")})
    settings = DispatchSettings(hourly_cap=None, concurrency=1)
    result = dispatch_run(handle, journal, "run-gate-halt1", settings, gates=(gate,))
    assert result.halted_by == "cost ceiling reached"
    assert not result.interrupted
    assert result.stopped_by is None
    assert status_counts(journal, "run-gate-halt1") == {"sent": 2, "pending": 4}  # rows 2, 3
    assert len(handle.sandbox.accepted) == 2
