"""Identical texts in one request (`--group N`): gather a group, build its request, and apply
its one answer to every number in it.

Nothing is sent twice: the whole group is marked inflight in one transaction before its request
leaves (the engine's `_launch`); an answer that leaves the fate open makes every number
`unknown`; a rejection applies to every number; an accept gives each number its per-number
messageid (nxcloud-api.md §3), by which its receipt and the provider's records find its row.
Each number keeps its own hourly slot: one at its cap is set aside by the queue and waits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from batch_sms.config import VERIFICATION_MOST
from batch_sms.dispatch.answers import AnswerHandler
from batch_sms.dispatch.api import DispatchSettings
from batch_sms.dispatch.queue import Item, WorkQueue
from batch_sms.journal import Attempt
from batch_sms.models import Status
from batch_sms.provider.nxcloud import Answer, Kind, SendRequest, grouped, member_messageid

__all__ = ["LOOK_AHEAD", "GroupAnswers", "gather", "plan_groups", "request_for"]

LOOK_AHEAD = 4  # messages looked at per place in a group before it leaves as it is


def gather(
    first: Item,
    size: int,
    take: Callable[[], Item | None],
    join: Callable[[Item], bool],
    halted: Callable[[], bool],
) -> tuple[list[Item], list[Item]]:
    """Up to `size` messages with `first`'s text to distinct numbers: `first`, then those `take`
    gives that `join` lets in (gates, hourly slot); also those passed over, in order, to put
    back. A message marked `solo` never joins a group."""
    group, passed, phones = [first], [], {first.q.phone}
    looked = 0
    while len(group) < size and looked < size * LOOK_AHEAD and not halted():
        item = take()
        if item is None:
            break
        looked += 1
        if item.solo or item.q.content != first.q.content or item.q.phone in phones:
            passed.append(item)
        elif join(item):
            group.append(item)
            phones.add(item.q.phone)
    return group, passed


def plan_groups(messages: Iterable[tuple[str, str]], size: int) -> list[tuple[str, list[str]]]:
    """(text, numbers) of each request that (phone, text) pairs take with up to `size` distinct
    numbers per request (a number already in a text's open request starts a new one)."""
    done: list[tuple[str, list[str]]] = []
    filling: dict[str, tuple[list[str], set[str]]] = {}
    for phone, text in messages:
        phones, seen = filling.setdefault(text, ([], set()))
        if len(phones) >= size or phone in seen:
            done.append((text, phones))
            phones, seen = filling[text] = ([], set())
        phones.append(phone)
        seen.add(phone)
    return done + [(text, phones) for text, (phones, _) in filling.items()]


def request_for(items: list[Item], s: DispatchSettings) -> SendRequest:
    """The request of one message (with sysMessageId, drUrl and ext) or of a group."""
    q = items[0].q
    if len(items) > 1:
        phones = [item.q.phone for item in items]
        return grouped(phones, q.content, s.sender, s.short_link, s.link_verbose)
    return SendRequest(
        q.phone, q.content, s.sender, q.sys_message_id, s.dr_url, q.ext,
        short_link=s.short_link, link_verbose=s.link_verbose,
    )  # fmt: skip


class GroupAnswers(AnswerHandler):
    """A grouped request's one answer applied to every message it carried; `Dispatcher`
    provides the state it works on."""

    queue: WorkQueue
    group_size: int

    def _answer_group(self, items: list[Item], answer: Answer) -> None:
        """Apply the one answer of a request to every message it carried."""
        if answer.kind is Kind.ACCEPTED:
            base = answer.messageid
            for pos, item in enumerate(items, 1):
                own = member_messageid(base, pos) if base else ""
                self._handle_answer(item, dataclasses.replace(answer, messageid=own))
            return
        too_many = answer.code == "104" and len(items) > VERIFICATION_MOST
        if answer.kind is Kind.CAPPED or too_many:
            self._split(items, answer)
            return
        for n, item in enumerate(items):
            self._handle_answer(item, answer, first=n == 0)  # 28 slows the limiter once

    def _split(self, items: list[Item], answer: Answer) -> None:
        """Nothing was sent: send the messages again in smaller requests.

        104: a verification-code application takes at most 5 numbers, so groups shrink to 5.
        27: one number (which, the answer does not say) is at the provider's hourly cap; each
        is sent alone once, so that only that number waits for its hour.
        """
        now = self.clock()
        if answer.kind is Kind.CAPPED:
            for item in items:
                item.solo = True
        else:
            self.group_size = min(self.group_size, VERIFICATION_MOST)
        for item in items:
            self.writer.attempt(Attempt(item.q.id, now, answer.code, "split", answer.result))
            item.code, item.result = answer.code, answer.result
            self._write(item, Status.PENDING)
            self.queue.again(item)
