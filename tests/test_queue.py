"""The work queue: a capped message waits for its number's hour while other work goes on."""

from __future__ import annotations

import asyncio

from helpers import FakeClock, cn_numbers, make_run

from batch_sms.dispatch import DispatchSettings, dispatch
from batch_sms.journal import Journal
from batch_sms.provider.nxcloud import Answer, Kind, SendRequest


def test_a_capped_message_waits_for_its_slot_while_the_run_has_other_work(
    journal: Journal,
) -> None:
    clock = FakeClock(1_000_000.0)
    busy, capped = cn_numbers(2)

    class Provider:
        """Accepts everything, but the provider is down for `busy` for the first 2.5 hours."""

        def __init__(self) -> None:
            self.sent: list[tuple[str, float]] = []

        async def send(self, req: SendRequest, *, retry_clock: bool = True) -> Answer:
            await asyncio.sleep(0)
            if req.phone == busy and clock.now < 1_000_000.0 + 9000:
                return Answer(Kind.TRANSIENT, "99", "system error")
            self.sent.append((req.phone, clock.now))
            return Answer(Kind.ACCEPTED, "0", "ok", messageid=str(len(self.sent)))

    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    make_run(journal, "run-cap-000004", [(capped, "one"), (capped, "two"), (busy, "hi")])
    provider = Provider()
    settings = DispatchSettings(
        hourly_cap=1, max_attempts=50, backoff_base=600, backoff_max=600, seed=1
    )
    result = asyncio.run(
        dispatch("run-cap-000004", journal, provider, settings, clock=clock, sleep=fake_sleep)
    )
    assert result.counts == {"sent": 3}
    times = [t for p, t in provider.sent if p == capped]
    assert times[1] - times[0] >= 3600  # it waited for its hour instead of ending capped
