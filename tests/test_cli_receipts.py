"""`batch-sms receipts serve` as a real process: the URL it prints with its token, a token kept
across restarts, and 10,000 pushes from 50 clients with a SIGKILL and a restart in the middle."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from helpers import last_json, msg, read_csv, run_cli, send, write_csv

from batch_sms.journal import Journal, RunInfo
from batch_sms.models import Status
from batch_sms.provider.receipt_token import TOKEN_ENV

RUN = "20261129-094500-feed"
COUNT = 10_000


@contextmanager
def receiver(
    state: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """Start `batch-sms receipts serve` on a free port: (process, printed URL, what it printed)."""
    command = [sys.executable, "-u", "-m", "batch_sms", "receipts", "serve", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--state", str(state), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != TOKEN_ENV} | (env or {}),
    )
    try:
        assert proc.stdout is not None
        printed = ""
        while (found := re.search(r"--dr-url '(\S+)'", printed)) is None:
            line = proc.stdout.readline()
            assert line, f"the receiver ended: {printed}{proc.communicate()[1]}"
            printed += line
        yield proc, found.group(1), printed
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def token_of(url: str) -> str:
    """The token a receiver's URL carries."""
    found = re.search(r"[?&]token=([^&]+)", url)
    assert found is not None, url
    return found.group(1)


def receipt(message_id: int) -> dict[str, str]:
    """A delivered receipt for message `message_id`, as the provider pushes it."""
    return {"messageid": f"M{message_id}", "status": "2", "result": "DELIVRD", "price": "0.01"}


def test_it_prints_the_url_with_the_token_and_where_the_token_comes_from(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with receiver(state, "--token", "from-option") as (_, url, printed):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/dr\?token=from-option", url)
        assert "(--token)" in printed
        assert str(state) in printed
    with receiver(state, env={TOKEN_ENV: "from-env"}) as (_, url, printed):
        assert token_of(url) == "from-env"
        assert f"({TOKEN_ENV})" in printed
    with receiver(state, "--path", "/hooks/dr") as (proc, url, printed):
        assert "(kept in the state db)" in printed
        assert "/hooks/dr?token=" in url
        kept = token_of(url)

        async def pushes() -> list[tuple[int, str]]:
            async with aiohttp.ClientSession() as session:
                answers = []
                for target in (url.split("?")[0], url.replace(kept, "wrong"), url):
                    async with session.post(target, data=receipt(1)) as response:
                        answers.append((response.status, await response.text()))
                return answers

        assert asyncio.run(pushes()) == [(403, "error"), (403, "error"), (200, "success")]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert "stopped" in out
    assert "refused" in err
    assert kept not in err + out  # logs never show the token
    assert "M1" not in err


@pytest.mark.slow
def test_every_acknowledged_receipt_survives_a_sigkill_and_none_is_stored_twice(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.db"
    phones = [f"8613{i:09d}" for i in range(COUNT)]
    source = write_csv(tmp_path / "input.csv", ["phone"], [[p] for p in phones])
    with Journal(state) as journal:
        journal.create_run(RunInfo(RUN, 1.0, None, "in.csv", str(source), "ab", "csv", None, {}))
        journal.add_messages(RUN, [msg(i + 2, p) for i, p in enumerate(phones)])
        ids = [queued.id for queued in journal.next_batch(RUN, 0, COUNT)]
        send(journal, ids, at=1.0)
        journal.set_run_state(RUN, "finished", started_at=1.0, finished_at=2.0)
    acked: set[int] = set()
    before_kill: set[int] = set()
    pending = list(reversed(ids))
    tokens = []

    async def stream(url: str, acknowledged: Callable[[], None] = lambda: None) -> None:
        """Push from 50 clients until nothing is pending; what fails goes back to pending."""
        failed: list[int] = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as session:

            async def client() -> None:
                while pending:
                    message_id = pending.pop()
                    try:
                        async with session.post(url, data=receipt(message_id)) as response:
                            if await response.text() == "success":
                                acked.add(message_id)
                                acknowledged()
                                continue
                    except aiohttp.ClientError:
                        pass
                    failed.append(message_id)  # not acknowledged: the provider's retry

            await asyncio.gather(*(client() for _ in range(50)))
        pending.extend(failed)

    with receiver(state) as (proc, url, _):
        tokens.append(token_of(url))

        def kill_mid_stream() -> None:
            """SIGKILL the receiver once a third is acknowledged, pushes still in flight."""
            if len(acked) >= COUNT // 3 and not before_kill:
                proc.send_signal(signal.SIGKILL)
                before_kill.update(acked)

        asyncio.run(stream(url, kill_mid_stream))
        assert proc.wait(10) == -signal.SIGKILL
    assert COUNT // 3 <= len(before_kill) < COUNT
    assert pending  # the kill came mid-stream

    with Journal(state) as check:
        stored = {
            int(r.messageid[1:]) for r in check.report_rows(RUN) if r.status is Status.DELIVERED
        }
    assert before_kill <= stored  # every push answered `success` was committed

    with receiver(state) as (proc, url, _):
        tokens.append(token_of(url))
        asyncio.run(stream(url))
    assert tokens[0] == tokens[1]  # the restarted receiver takes the same pushes
    assert pending == []
    assert acked == set(ids)

    written = run_cli(["report", RUN, "--state", str(state), "--out", str(tmp_path), "--json"])
    assert written.exit_code == 0, written.output
    [header, *results] = read_csv(Path(last_json(written)["report"]).parent / "results.csv")
    status, messageid = header.index("sms_status"), header.index("sms_messageid")
    assert len(results) == COUNT
    assert {r[status] for r in results} == {"delivered"}  # every acknowledged receipt: all
    assert sorted(int(r[messageid][1:]) for r in results) == sorted(ids)  # each row once
    with sqlite3.connect(state) as raw:
        stored_count, distinct = raw.execute(
            "SELECT COUNT(*), COUNT(DISTINCT messageid) FROM receipts"
        ).fetchone()
    assert (stored_count, distinct) == (COUNT, COUNT)  # none twice
