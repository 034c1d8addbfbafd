"""The receipts server: a real aiohttp server on a loopback port, the state db checked: the
token, the body limit, /healthz, and receipts that arrive before the send's answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from helpers import stored

from batch_sms.errors import StateError
from batch_sms.journal import Journal, Result, RunInfo
from batch_sms.models import Message, Status
from batch_sms.provider.receipt_token import with_token
from batch_sms.provider.receipts import MAX_BODY, make_app, running_receiver, serve

RUN = "20261125-001500-a1b2"
TOKEN = "t0ken-for-tests"
DR = f"/dr?token={TOKEN}"
DELIVERED = {
    **{"phone": "8613800138000", "status": "2", "result": "DELIVRD"},
    **{"drtime": "2026-11-25 00:16:00", "sendtime": "2026-11-25 00:15:01"},
    **{"messageid": "P-100", "currency": "USD", "price": "0.01", "rate": "1", "size": "1"},
    "ext": f"{RUN}:2:0",
}


def inflight_db(path: Path) -> Path:
    """A state db whose one message is in flight: its send's answer is not committed yet."""
    with Journal(path) as journal:
        journal.create_run(RunInfo(RUN, 1.0, None, "in.csv", "copy.csv", "ab", "csv", None, {}))
        phone = "8613800138000"
        journal.add_messages(RUN, [Message(2, 0, phone, phone, "hi", 1, "GSM-7", 86, Status.READY)])
        [queued] = journal.next_batch(RUN, 0, 10)
        journal.mark_inflight([queued.id], 10.0)
    return path


def accept(path: Path) -> None:
    """Commit the send's answer for the message of inflight_db: accepted as P-100."""
    with Journal(path) as journal:
        journal.record([Result(1, Status.SENT, "0", "ok", "P-100", 1, sent_at=10.0)])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A state db holding one run whose single message was accepted as P-100."""
    path = inflight_db(tmp_path / "state.db")
    accept(path)
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
        app = make_app(journal, token=TOKEN, path=path, clock=lambda: 1234.5)
        async with TestClient(TestServer(app)) as client:
            response = await call(client)
            return response.status, await response.text()

    return asyncio.run(go())


def test_form_post_is_stored_before_success(journal: Journal, db_path: Path) -> None:
    answer = exchange(journal, lambda c: c.post(DR, data={**DELIVERED, "extra": "dropped"}))
    assert answer == (200, "success")
    assert status_in_db(db_path) == (Status.DELIVERED, "DELIVRD", "2026-11-25 00:16:00")
    [(messageid, received_at, fields, message_id)] = stored(db_path)
    assert (messageid, received_at, message_id) == ("P-100", 1234.5, 1)
    assert fields == DELIVERED


def test_query_string_get(journal: Journal, db_path: Path) -> None:
    undelivered = {**DELIVERED, "status": "9", "result": ""}
    assert exchange(journal, lambda c: c.get("/dr", params={**undelivered, "token": TOKEN})) == (
        200,
        "success",
    )
    assert status_in_db(db_path) == (Status.UNDELIVERED, "DND", "2026-11-25 00:16:00")


def test_query_string_post(journal: Journal, db_path: Path) -> None:
    assert exchange(journal, lambda c: c.post("/dr", params={**DELIVERED, "token": TOKEN})) == (
        200,
        "success",
    )
    assert status_in_db(db_path)[0] is Status.DELIVERED


def test_mapping_by_messageid_without_ext(journal: Journal, db_path: Path) -> None:
    fields = {k: v for k, v in DELIVERED.items() if k != "ext"}
    assert exchange(journal, lambda c: c.post(DR, data=fields)) == (200, "success")
    assert status_in_db(db_path)[0] is Status.DELIVERED


def test_unmapped_receipt_is_stored_and_acknowledged(journal: Journal, db_path: Path) -> None:
    fields = {"messageid": "someone-else", "status": "2", "ext": "other:9:0"}
    assert exchange(journal, lambda c: c.post(DR, data=fields)) == (200, "success")
    assert [(m, i) for m, _, _, i in stored(db_path)] == [("someone-else", None)]
    assert status_in_db(db_path)[0] is Status.SENT


def test_repeated_push_is_stored_once(journal: Journal, db_path: Path) -> None:
    async def twice(client: TestClient[Any, Any]) -> aiohttp.ClientResponse:
        first = await client.post(DR, data=DELIVERED)
        assert await first.text() == "success"
        return await client.post(DR, data={**DELIVERED, "status": "5"})

    assert exchange(journal, twice) == (200, "success")
    assert len(stored(db_path)) == 1
    assert status_in_db(db_path)[0] is Status.DELIVERED


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.post(DR, data={"status": "2", "ext": f"{RUN}:2:0"}),
        lambda c: c.post(DR, data={"messageid": "  ", "status": "2"}),
        lambda c: c.get(DR),
        lambda c: c.post(DR, json=DELIVERED),  # not a form: no fields
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
    assert exchange(journal, lambda c: c.post(DR, data=DELIVERED)) == (500, "error")
    assert "receipt P-100 could not be stored" in caplog.text
    assert stored(db_path) == []


def test_other_paths_and_methods(journal: Journal) -> None:
    assert (
        exchange(journal, lambda c: c.post(f"/elsewhere?token={TOKEN}", data=DELIVERED))[0] == 404
    )
    assert exchange(journal, lambda c: c.put(DR, data=DELIVERED))[0] == 405
    hook = f"/hooks/dr?token={TOKEN}"
    answer = exchange(journal, lambda c: c.post(hook, data=DELIVERED), path="/hooks/dr")
    assert answer == (200, "success")


async def post_form(url: str, fields: dict[str, str]) -> tuple[int, str]:
    """POST a form to a URL, as the provider does."""
    async with aiohttp.ClientSession() as session, session.post(url, data=fields) as response:
        return response.status, await response.text()


def test_running_receiver_in_a_thread(db_path: Path) -> None:
    with running_receiver(db_path, token=TOKEN) as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        assert receiver.url.endswith(f"/dr?token={TOKEN}")
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


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.post("/dr", data=DELIVERED),
        lambda c: c.post("/dr?token=guessed", data=DELIVERED),
        lambda c: c.post(f"/dr?token={TOKEN}x", data=DELIVERED),
        lambda c: c.post("/dr", data={**DELIVERED, "token": TOKEN}),  # only the query counts
        lambda c: c.get("/dr", params=DELIVERED),
        lambda c: c.get("/dr", params={**DELIVERED, "token": ""}),
    ],
    ids=["none", "wrong", "longer", "in-body", "query-none", "query-empty"],
)
def test_a_push_without_the_token_is_refused_and_changes_nothing(
    journal: Journal, db_path: Path, call: Call, caplog: pytest.LogCaptureFixture
) -> None:
    assert exchange(journal, call) == (403, "error")
    assert stored(db_path) == []
    assert status_in_db(db_path) == (Status.SENT, "", "")
    assert "refused" in caplog.text
    for said in ("P-100", "8613800138000", "DELIVRD", "guessed", TOKEN):
        assert said not in caplog.text  # logged without its contents (nor any token)


def test_an_oversized_push_is_refused_and_the_server_keeps_serving(
    journal: Journal, db_path: Path
) -> None:
    async def big_then_good(client: TestClient[Any, Any]) -> aiohttp.ClientResponse:
        big = await client.post(DR, data={**DELIVERED, "ext": "x" * MAX_BODY})
        assert (big.status, await big.text()) == (413, "error")
        assert stored(db_path) == []
        return await client.post(DR, data=DELIVERED)

    assert exchange(journal, big_then_good) == (200, "success")
    assert status_in_db(db_path)[0] is Status.DELIVERED


@pytest.mark.parametrize(
    "body",
    [b"%%%\xff\xfe&&==", b"messageid", b"\x00" * 100],
    ids=["garbage", "name-without-value", "nul-bytes"],
)
def test_a_malformed_body_is_refused(journal: Journal, db_path: Path, body: bytes) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = exchange(journal, lambda c: c.post(DR, data=body, headers=headers))
    assert answer == (400, "error")
    assert stored(db_path) == []


def test_a_broken_multipart_body_is_refused(journal: Journal, db_path: Path) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=zzz"}
    answer = exchange(journal, lambda c: c.post(DR, data=b"--zzz\r\nbroken", headers=headers))
    assert answer == (400, "error")
    assert stored(db_path) == []


def test_healthz_answers_without_the_token_and_tells_nothing_of_runs(journal: Journal) -> None:
    assert exchange(journal, lambda c: c.get("/healthz")) == (200, "ok")


def test_a_receiver_needs_a_token(journal: Journal) -> None:
    with pytest.raises(ValueError, match="token"):
        make_app(journal, token="")


def token_of(url: str) -> str:
    """The token a receiver's URL carries."""
    [token] = parse_qs(urlsplit(url).query)["token"]
    return token


def test_a_restarted_receiver_keeps_the_token_kept_in_the_state_db(db_path: Path) -> None:
    with running_receiver(db_path) as first:
        pass  # started once and stopped: its token is now in the state db
    with running_receiver(db_path) as second:
        assert token_of(second.url) == token_of(first.url)
        assert asyncio.run(post_form(second.url, DELIVERED)) == (200, "success")
    assert len(token_of(first.url)) >= 32
    with running_receiver(db_path, token="given") as given:
        assert token_of(given.url) == "given"
        kept = with_token(given.url, token_of(first.url))
        assert asyncio.run(post_form(kept, DELIVERED))[0] == 403  # --token replaces the kept one


@pytest.mark.parametrize("with_ext", [False, True], ids=["by-messageid", "by-ext"])
def test_a_receipt_before_the_sends_answer_is_matched_once_that_commits(
    tmp_path: Path, with_ext: bool
) -> None:
    path = inflight_db(tmp_path / "inflight.db")
    fields = DELIVERED if with_ext else {k: v for k, v in DELIVERED.items() if k != "ext"}
    with running_receiver(path, token=TOKEN) as receiver:
        assert asyncio.run(post_form(receiver.url, fields)) == (200, "success")
        [(_, _, _, mapped)] = stored(path)
        # Without ext it waits unmapped; with ext it proves the message arrived already.
        assert status_in_db(path)[0] is (Status.DELIVERED if with_ext else Status.INFLIGHT)
        assert (mapped is not None) is with_ext
        accept(path)  # the send's answer, committed after the receipt
    assert status_in_db(path) == (Status.DELIVERED, "DELIVRD", "2026-11-25 00:16:00")
    [(_, _, _, message_id)] = stored(path)
    assert message_id == 1
