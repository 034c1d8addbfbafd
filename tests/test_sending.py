"""The provider a command talks to (the real one or a sandbox), its record pages, and Ctrl-C."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from helpers import CN, FakeClock, SandboxMaker, env_for, make_run, msg, new_run

from batch_sms.commands import sending
from batch_sms.config import load_settings
from batch_sms.journal import Journal
from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import SendRequest
from batch_sms.sandbox.server import SandboxConfig


def test_a_sandbox_run_starts_its_own_simulator(tmp_path: Path) -> None:
    settings = load_settings({"sandbox": True, "out": tmp_path}, environ={}, cwd=tmp_path)
    with sending.connect(settings) as provider:
        assert provider.simulated
        assert provider.base_url.startswith("http://127.0.0.1:")
        balance = provider.balance()
        assert (balance.code, balance.balance) == ("0", SandboxConfig().balance)


def test_a_real_run_talks_to_the_configured_provider(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(balance=12.5)
    options = {"base_url": handle.url, "out": tmp_path}
    settings = load_settings(options, environ=env_for(handle), cwd=tmp_path)
    with sending.connect(settings) as provider:
        assert not provider.simulated
        assert provider.base_url == handle.url
        assert provider.balance().balance == 12.5


def test_records_reads_every_page_of_each_day(
    make_sandbox: SandboxMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(1_700_000_000.0)  # 2023-11-14 UTC
    handle = make_sandbox(clock=clock, hourly_cap=None, dr_delay=0)

    async def send(count: int) -> list[str]:
        async with aiohttp.ClientSession() as session:
            client = Client(session, handle.url, handle.credentials, clock=clock)
            return [(await client.send(SendRequest(CN, f"m{i}"))).messageid for i in range(count)]

    ids = asyncio.run(send(5))
    monkeypatch.setattr(sending, "RECORD_PAGE", 2)  # three pages for five records
    provider = sending.Provider(handle.url, handle.credentials, simulated=True)
    records = provider.records(["20231114", "20231115"])
    assert records is not None
    assert sorted(r.messageid for r in records) == sorted(ids)
    assert {r.phone for r in records} == {CN}
    assert provider.records(["2023-11-14"]) is None  # the provider refused the day: can't tell


def test_a_second_ctrl_c_leaves_the_run_interrupted_with_the_command_that_continues_it(
    tmp_path: Path, journal: Journal
) -> None:
    new_run(journal, "r1", msg(2, "8613800138000"))
    journal.set_run_state("r1", "running")
    notes: list[str] = []
    settings = load_settings({"out": tmp_path / "rep"}, environ={}, cwd=tmp_path)
    interrupts = sending.Interrupts(journal, "r1", settings, notes.append)
    interrupts.first()
    assert notes[0].startswith("stopping: waiting for 0 requests in flight")
    interrupts.second()
    run = journal.get_run("r1")
    assert (run.state, run.stop_reason) == ("interrupted", "interrupted by the user (Ctrl-C twice)")
    assert notes[1].endswith(f"continue with: batch-sms resume r1 --out {tmp_path / 'rep'}")


RUN_ID = "20261129-093000-c0de"


def sandbox_dispatch(tmp_path: Path, dr_url: str = "") -> tuple[dict[str, int], list[str]]:
    """Send a one-message run with `--sandbox`; its counts and the notes said."""
    options = {"sandbox": True, "out": tmp_path, "state": tmp_path / "s.db", "dr_url": dr_url}
    settings = load_settings(options, environ={}, cwd=tmp_path)
    notes: list[str] = []
    with Journal(settings.state_path) as journal, sending.connect(settings) as provider:
        make_run(journal, RUN_ID, [(CN, "hi")])
        provider.dispatch(journal, RUN_ID, settings, lambda progress: None, notes.append)
        return journal.counts(RUN_ID), notes


def test_a_sandbox_run_wires_its_receiver_with_a_token(tmp_path: Path) -> None:
    counts, notes = sandbox_dispatch(tmp_path)
    assert counts == {"delivered": 1}  # the receiver refuses a push without its token
    assert notes == []


def test_a_dr_url_of_ours_without_a_token_is_warned_about_before_sending(tmp_path: Path) -> None:
    counts, notes = sandbox_dispatch(tmp_path, "http://127.0.0.1:9/dr")
    assert counts == {"sent": 1}
    [warning] = notes
    assert warning.startswith("warning: --dr-url http://127.0.0.1:9/dr looks like")
