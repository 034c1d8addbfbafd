"""The receipts server: a real aiohttp server on a loopback port, the state db checked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from helpers import stored

from batch_sms.errors import StateError
from batch_sms.journal import Journal, Result, RunInfo
from batch_sms.models import Message, Status
from batch_sms.provider.receipts import make_app, running_receiver, serve

RUN = "20261125-001500-a1b2"
DELIVERED = {
    **{"phone": "8613800138000", "status": "2", "result": "DELIVRD"},
    **{"drtime": "2026-11-25 00:16:00", "sendtime": "2026-11-25 00:15:01"},
    **{"messageid": "P-100", "currency": "USD", "price": "0.01", "rate": "1", "size": "1"},
    "ext": f"{RUN}:2:0",
}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A state db holding one run whose single message was accepted as P-100."""
    path = tmp_path / "state.db"
    with Journal(path) as journal:
        journal.create_run(RunInfo(RUN, 1.0, None, "in.csv", "copy.csv", "ab", "csv", None, {}))
        phone = "8613800138000"
        journal.add_messages(RUN, [Message(2, 0, phone, phone, "hi", 1, "GSM-7", 86, Status.READY)])
        [queued] = journal.next_batch(RUN, 0, 10)
        journal.mark_inflight([queued.id], 10.0)
        journal.record([Result(queued.id, Status.SENT, "0", "ok", "P-100", 1, sent_at=10.0)])
    return path


@pytest.fixture
def journal(db_path: Path) -> Iterator[Journal]:
    """The journal the server under test writes to."""
    with Journal(db_path) as j:
        yield j


def status_in_db(path: Path) -> tuple[Status, str, str]:
    """The message's (status, dr_status, dr_time) as committed, read on a fresh connection."""
    with Journal(path) as check:
        [row] = check.report_rows(RUN)
        return row.status, row.dr_status, row.dr_time


Call = Callable[[TestClient[Any, Any]], Awaitable[aiohttp.ClientResponse]]


def exchange(journal: Journal, call: Call, path: str = "/dr") -> tuple[int, str]:
    """Start the app on a loopback port, make one request, return (status, body)."""

    async def go() -> tuple[int, str]:
        app = make_app(journal, path=path, clock=lambda: 1234.5)
        async with TestClient(TestServer(app)) as client:
            response = await call(client)
            return response.status, await response.text()

    return asyncio.run(go())


def test_form_post_is_stored_before_success(journal: Journal, db_path: Path) -> None:
    answer = exchange(journal, lambda c: c.post("/dr", data={**DELIVERED, "extra": "dropped"}))
    assert answer == (200, "success")
    assert status_in_db(db_path) == (Status.DELIVERED, "DELIVRD", "2026-11-25 00:16:00")
    [(messageid, received_at, fields, message_id)] = stored(db_path)
    assert (messageid, received_at, message_id) == ("P-100", 1234.5, 1)
    assert fields == DELIVERED


def test_query_string_get(journal: Journal, db_path: Path) -> None:
    undelivered = {**DELIVERED, "status": "9", "result": ""}
    assert exchange(journal, lambda c: c.get("/dr", params=undelivered)) == (200, "success")
    assert status_in_db(db_path) == (Status.UNDELIVERED, "DND", "2026-11-25 00:16:00")


def test_query_string_post(journal: Journal, db_path: Path) -> None:
    assert exchange(journal, lambda c: c.post("/dr", params=DELIVERED)) == (200, "success")
    assert status_in_db(db_path)[0] is Status.DELIVERED


def test_mapping_by_messageid_without_ext(journal: Journal, db_path: Path) -> None:
    fields = {k: v for k, v in DELIVERED.items() if k != "ext"}
    assert exchange(journal, lambda c: c.post("/dr", data=fields)) == (200, "success")
    assert status_in_db(db_path)[0] is Status.DELIVERED


def test_unmapped_receipt_is_stored_and_acknowledged(journal: Journal, db_path: Path) -> None:
    fields = {"messageid": "someone-else", "status": "2", "ext": "other:9:0"}
    assert exchange(journal, lambda c: c.post("/dr", data=fields)) == (200, "success")
    assert [(m, i) for m, _, _, i in stored(db_path)] == [("someone-else", None)]
    assert status_in_db(db_path)[0] is Status.SENT


def test_repeated_push_is_stored_once(journal: Journal, db_path: Path) -> None:
    async def twice(client: TestClient[Any, Any]) -> aiohttp.ClientResponse:
        first = await client.post("/dr", data=DELIVERED)
        assert await first.text() == "success"
        return await client.post("/dr", data={**DELIVERED, "status": "5"})

    assert exchange(journal, twice) == (200, "success")
    assert len(stored(db_path)) == 1
    assert status_in_db(db_path)[0] is Status.DELIVERED


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.post("/dr", data={"status": "2", "ext": f"{RUN}:2:0"}),
        lambda c: c.post("/dr", data={"messageid": "  ", "status": "2"}),
        lambda c: c.get("/dr"),
        lambda c: c.post("/dr", json=DELIVERED),  # not a form: no fields
    ],
    ids=["no-messageid", "blank-messageid", "empty-get", "json-body"],
)
def test_request_without_messageid_is_refused(journal: Journal, db_path: Path, call: Call) -> None:
    assert exchange(journal, call) == (400, "error")
    assert stored(db_path) == []


def test_storage_failure_answers_error(
    journal: Journal, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal.close()  # every write now fails
    assert exchange(journal, lambda c: c.post("/dr", data=DELIVERED)) == (500, "error")
    assert "receipt P-100 could not be stored" in caplog.text
    assert stored(db_path) == []


def test_other_paths_and_methods(journal: Journal) -> None:
    assert exchange(journal, lambda c: c.post("/elsewhere", data=DELIVERED))[0] == 404
    assert exchange(journal, lambda c: c.put("/dr", data=DELIVERED))[0] == 405
    assert exchange(journal, lambda c: c.post("/hooks/dr", data=DELIVERED), path="/hooks/dr") == (
        200, "success",
    )  # fmt: skip


async def post_form(url: str, fields: dict[str, str]) -> tuple[int, str]:
    """POST a form to a URL, as the provider does."""
    async with aiohttp.ClientSession() as session, session.post(url, data=fields) as response:
        return response.status, await response.text()


def test_running_receiver_in_a_thread(db_path: Path) -> None:
    with running_receiver(db_path) as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        assert receiver.url.endswith("/dr")
        assert asyncio.run(post_form(receiver.url, DELIVERED)) == (200, "success")
        # committed while the server still runs, visible to another connection
        assert status_in_db(db_path)[0] is Status.DELIVERED


def test_running_receiver_reports_a_bad_state_db(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StateError, match=r"bad\.db"), running_receiver(bad):
        pass


def test_serve_until_cancelled(db_path: Path) -> None:
    async def go() -> tuple[int, str]:
        ready: asyncio.Queue[str] = asyncio.Queue()
        task = asyncio.create_task(serve(db_path, "127.0.0.1", 0, "/dr", ready=ready.put_nowait))
        url = await asyncio.wait_for(ready.get(), 10)
        answer = await post_form(url, DELIVERED)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return answer

    assert asyncio.run(go()) == (200, "success")
    assert status_in_db(db_path)[0] is Status.DELIVERED
