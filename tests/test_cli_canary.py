"""`send --canary N` end to end against the simulator: a failing canary stops the run after
exactly N accepted messages, `resume --skip-canary` sends the rest; a passing one goes on."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from helpers import cn_numbers, env_for, last_json, run_cli, write_csv

from batch_sms.commands import sending
from batch_sms.sandbox import server
from batch_sms.sandbox.server import SandboxHandle

US = [f"1201555{n:04d}" for n in range(110, 113)]
GB = [f"4474001234{n:02d}" for n in range(10, 12)]


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    """Twelve rows: seven Chinese numbers, then three US and two British ones."""
    numbers = [*cn_numbers(7), *US, *GB]
    return write_csv(tmp_path / "list.csv", ["phone", "content"], [[n, "Hello"] for n in numbers])


def _undelivering(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--sandbox` runs whose receipts all say undelivered (status 5, UNDELIV)."""
    config = functools.partial(server.SandboxConfig, dr_delivered_share=0.0)
    monkeypatch.setattr(sending.server, "SandboxConfig", config)


def test_a_canary_of_5_against_undelivered_receipts_stops_after_exactly_5(
    tmp_path: Path, campaign: Path, sandboxes: list[SandboxHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    _undelivering(monkeypatch)
    out = ["--out", str(tmp_path / "rep")]
    args = ["send", str(campaign), "--sandbox", "--yes", "--canary", "5", "--canary-wait", "60"]
    sent = run_cli([*args, *out, "--json"])
    assert sent.exit_code == 3, sent.output
    result = last_json(sent)
    assert result["status"] == "stopped"
    assert result["counts"] == {"undelivered": 5, "pending": 7}
    [simulator] = sandboxes
    accepted = [m.phone for m in simulator.sandbox.accepted]
    assert len(accepted) == 5  # nothing else was sent
    # spread over the countries: round-robin in order of first appearance
    assert sorted(accepted) == sorted([*cn_numbers(2), *US[:2], GB[0]])
    assert result["stop_reason"] == (
        "canary of 5: delivered 0, undelivered 5 (5× UNDELIV (status 5)), no receipt 0: only 0% "
        "of the receipts say delivered, below --canary-min-delivered 0.8"
    )
    run_id = result["run_id"]
    assert result["next"] == [
        f"to send the rest all the same: batch-sms resume {run_id} {' '.join(out)} --sandbox "
        "--skip-canary"
    ]

    again = run_cli(["resume", run_id, "--sandbox", *out, "--yes"])
    assert again.exit_code == 2
    said = " ".join(again.stderr.split())
    assert f"run {run_id} was stopped by its canary: canary of 5: delivered 0," in said
    assert "--skip-canary" in again.stderr
    assert len(sandboxes) == 1  # the refused resume talked to no provider

    rest = run_cli(["resume", run_id, "--sandbox", *out, "--yes", "--skip-canary", "--json"])
    assert rest.exit_code == 0, rest.output
    assert last_json(rest)["counts"] == {"undelivered": 12}
    assert len(sandboxes[1].sandbox.accepted) == 7  # the rest, and no canary again


def test_a_passing_canary_goes_on_and_sends_all(
    tmp_path: Path, campaign: Path, sandboxes: list[SandboxHandle]
) -> None:
    out = ["--out", str(tmp_path / "rep")]
    sent = run_cli(["send", str(campaign), "--sandbox", "--yes", "--canary", "5", *out])
    assert sent.exit_code == 0, sent.output
    assert "canary: sending 5 messages first" in sent.output
    assert "canary of 5: delivered 5, undelivered 0, no receipt 0: 100% of the receipts" in (
        sent.output.replace("\n", " ")
    )
    [simulator] = sandboxes
    assert len(simulator.sandbox.accepted) == 12


def test_a_canary_without_a_receipt_route_is_refused_before_sending(
    tmp_path: Path, campaign: Path, sandbox: SandboxHandle
) -> None:
    args = ["send", str(campaign), "--base-url", sandbox.url, "--yes", "--canary", "5"]
    refused = run_cli([*args, "--out", str(tmp_path / "rep")], env=env_for(sandbox))
    assert refused.exit_code == 2
    assert "no --dr-url is given and this is not a --sandbox run" in refused.stderr
    assert sandbox.sandbox.accepted == []
    assert not (tmp_path / "rep").exists()


def test_validate_shows_the_canary_in_the_plan(tmp_path: Path, campaign: Path) -> None:
    checked = run_cli(["validate", str(campaign), "--canary", "5", "--out", str(tmp_path / "rep")])
    assert checked.exit_code == 0, checked.output
    text = " ".join(checked.output.split())
    assert "canary: first 5 messages, wait up to 300 s, go on at >= 80% delivered" in text
    assert "send refuses this: --canary 5: the canary waits for delivery receipts" in text


def test_a_canary_cut_short_is_finished_by_the_resume_with_the_same_messages(
    tmp_path: Path, campaign: Path, sandboxes: list[SandboxHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = ["--out", str(tmp_path / "rep")]
    args = ["send", str(campaign), "--sandbox", "--yes", "--canary", "5", "--concurrency", "1"]
    with monkeypatch.context() as poor:  # two messages' worth of balance, then code 3
        config = functools.partial(server.SandboxConfig, balance=0.025)
        poor.setattr(sending.server, "SandboxConfig", config)
        sent = run_cli([*args, *out, "--json"])
    assert sent.exit_code == 3, sent.output
    run_id = last_json(sent)["run_id"]
    first = {m.phone for m in sandboxes[0].sandbox.accepted}
    assert first == set(cn_numbers(2))  # the canary's first two, in row order
    resumed = run_cli(["resume", run_id, "--sandbox", *out, "--yes", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert last_json(resumed)["counts"] == {"delivered": 12}
    said = " ".join((resumed.stderr + resumed.stdout).split())
    assert "canary: sending 3 messages first (2 of its 5 were sent before)" in said
    second = [m.phone for m in sandboxes[1].sandbox.accepted]
    assert sorted(second[:3]) == sorted([*US[:2], GB[0]])  # the rest of the same canary first
    assert len(second) == 10


def test_a_refused_resume_counts_the_receipts_that_came_after_the_canary(
    tmp_path: Path, campaign: Path, sandboxes: list[SandboxHandle]
) -> None:
    out = ["--out", str(tmp_path / "rep")]
    args = ["send", str(campaign), "--sandbox", "--yes", "--canary", "2", "--canary-wait", "0"]
    sent = run_cli([*args, *out, "--json"])
    assert sent.exit_code == 3, sent.output
    result = last_json(sent)
    assert result["stop_reason"].startswith(
        "canary of 2: delivered 0, undelivered 0, no receipt 2;"
    )
    assert result["counts"] == {"delivered": 2, "pending": 10}  # the receipts came after all
    again = run_cli(["resume", result["run_id"], "--sandbox", *out])
    assert again.exit_code == 2
    said = " ".join(again.stderr.split())
    assert "its receipts now: delivered 2, undelivered 0, no receipt 0" in said
    assert len(sandboxes) == 1
