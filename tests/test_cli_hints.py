"""Exit codes and the next steps printed after a run: one rule, and hints that work as pasted."""

from __future__ import annotations

import functools
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import DATA, env_for, last_json, run_cli

from batch_sms.commands import sending
from batch_sms.sandbox import server
from batch_sms.sandbox.server import SandboxHandle


@pytest.fixture
def undelivering(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--sandbox` runs whose receipts all say undelivered (they arrive during the run)."""
    config = functools.partial(server.SandboxConfig, dr_delivered_share=0.0)
    monkeypatch.setattr(sending.server, "SandboxConfig", config)


def _paste(hint: str) -> list[str]:
    """The arguments of a printed `batch-sms …` command."""
    words = shlex.split(hint)
    assert words[0] == "batch-sms"
    return words[1:]


def test_undelivered_receipts_during_the_run_do_not_change_the_exit_code(
    tmp_path: Path, undelivering: None
) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    out = tmp_path / "rep"
    result = run_cli(["send", str(path), "--sandbox", "--yes", "--json", "--out", str(out)])
    sent = last_json(result)
    assert sent["counts"] == {"undelivered": 2}
    assert result.exit_code == 0  # accepted by the provider: the contract's 0
    run_id = sent["run_id"]
    # report agrees with send
    again = run_cli(["report", run_id, "--sandbox", "--json", "--out", str(out)])
    assert again.exit_code == 0
    assert last_json(again)["exit_code"] == 0
    # no hint to a retry that would take nothing; the one given takes the undelivered rows
    steps = sent["next"]
    assert not any("send the failed ones again" in step for step in steps)
    [undelivered] = [s for s in steps if "not delivered" in s]
    hint = undelivered.split("to send them again: ", 1)[1]
    assert _paste(hint) == [
        "retry",
        run_id,
        "--status",
        "undelivered",
        "--out",
        str(out),
        "--sandbox",
    ]
    retried = run_cli([*_paste(hint), "--yes", "--json"])
    assert retried.exit_code == 0, retried.output
    assert last_json(retried)["counts"] == {"undelivered": 2}
    assert last_json(retried)["parent"] == run_id


@pytest.mark.parametrize("columns", ["80", "40"])
def test_runs_never_cuts_a_run_id_and_points_at_the_sandbox_runs(
    tmp_path: Path, undelivering: None, columns: str
) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    out = str(tmp_path / "rep")
    first = last_json(run_cli(["send", str(path), "--sandbox", "--yes", "--json", "--out", out]))
    retried = run_cli(
        [
            "retry",
            first["run_id"],
            "--status",
            "undelivered",
            "--sandbox",
            "--yes",
            "--json",
            "--out",
            out,
        ]
    )
    second = last_json(retried)["run_id"]
    listed = run_cli(["runs", "--sandbox", "--out", out], env={"COLUMNS": columns})
    assert listed.exit_code == 0
    assert listed.stdout.count(first["run_id"]) == 2  # its own line, and as the retry's parent
    assert second in listed.stdout
    assert "…" not in listed.stdout  # no cell is cut: a narrow table wraps instead
    # the runs without --sandbox live in another db: say where the sandbox ones are
    plain = run_cli(["runs", "--out", out], env={"COLUMNS": columns})
    assert plain.stdout.splitlines()[0].startswith("state db: ")
    assert plain.stdout.splitlines()[1:] == [
        "no runs yet",
        f"note: the runs made with --sandbox are listed by: batch-sms runs --out {out} --sandbox",
    ]


def test_a_retry_with_nothing_to_do_makes_no_run_and_says_where_the_rows_went(
    tmp_path: Path, undelivering: None
) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    out = str(tmp_path / "rep")
    parent = last_json(run_cli(["send", str(path), "--sandbox", "--yes", "--json", "--out", out]))
    run_id = parent["run_id"]
    again = ["retry", run_id, "--status", "undelivered", "--sandbox", "--yes", "--out", out]
    child = last_json(run_cli([*again, "--json"]))["run_id"]
    empty = run_cli(again)
    assert empty.exit_code == 0
    assert "retry: nothing-to-retry; no run was made" in empty.stdout
    assert (
        f"2 messages were handed to retry run {child}; to see them: batch-sms report {child} "
        f"--out {out} --sandbox" in empty.stdout
    )
    as_json = last_json(run_cli([*again, "--json"]))
    assert (as_json["run_id"], as_json["status"]) == (None, "nothing-to-retry")
    listed = last_json(run_cli(["runs", "--sandbox", "--out", out, "--json"]))
    assert [r["run_id"] for r in listed["runs"]] == [child, run_id]  # no empty run was made
    # resuming the parent says its rows went to the retry instead of "0/2 done"
    resumed = run_cli(["resume", run_id, "--sandbox", "--yes", "--out", out])
    assert resumed.exit_code == 0
    assert f"2 messages of this run were handed to retry run {child}" in resumed.stdout
    assert "0/2" not in resumed.stdout


def test_resume_of_a_parent_whose_pending_rows_went_to_a_retry_says_so(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle]
) -> None:
    handle = make_sandbox(balance=0.01, price=0.01)  # one message, then the balance is gone
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    out = str(tmp_path / "rep")
    base = ["--base-url", handle.url, "--yes", "--out", out]
    sent = run_cli(["send", str(path), "--concurrency", "1", "--json", *base], env=env_for(handle))
    assert sent.exit_code == 3
    run_id = last_json(sent)["run_id"]
    assert last_json(sent)["counts"] == {"sent": 1, "pending": 1}
    handle.sandbox.top_up(1.0)
    retry = run_cli(["retry", run_id, "--status", "pending", "--json", *base], env=env_for(handle))
    child = last_json(retry)["run_id"]
    assert last_json(retry)["counts"] == {"sent": 1}
    resumed = run_cli(["resume", run_id, *base], env=env_for(handle))
    assert resumed.exit_code == 1  # the parent's report keeps that row's status (pending)
    said = " ".join(resumed.stdout.split())
    assert "send the failed ones again" not in said  # a retry of the parent would take nothing
    assert f"1 messages of this run were handed to retry run {child}" in said
    assert "0/1 done" not in said  # the handed-off row is not counted as still to send
    assert len(handle.sandbox.accepted) == 2


def test_the_hints_of_a_stopped_sandbox_run_work_when_pasted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    conf = tmp_path / "my conf.toml"
    conf.write_text('sender = "ACME"\n')
    where = [
        "--out",
        str(tmp_path / "rep"),
        "--state",
        str(tmp_path / "s.db"),
        "--config",
        str(conf),
    ]
    stopping = functools.partial(server.SandboxConfig, deactivated=True)  # every send: 102
    with monkeypatch.context() as patch:
        patch.setattr(sending.server, "SandboxConfig", stopping)
        stopped = run_cli(["send", str(path), "--sandbox", "--yes", "--json", *where])
    assert stopped.exit_code == 3, stopped.output
    run_id = last_json(stopped)["run_id"]
    [step] = last_json(stopped)["next"]
    hint = step.removeprefix("continue with: ")
    assert _paste(hint) == ["resume", run_id, *where, "--sandbox"]
    resumed = run_cli([*_paste(hint), "--yes", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert last_json(resumed)["counts"] == {"delivered": 2}


def test_a_locked_report_names_the_report_command_of_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batch_sms.report import files

    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    out = ["--out", str(tmp_path / "rep")]
    run_id = last_json(run_cli(["send", str(path), "--sandbox", "--yes", "--json", *out]))["run_id"]

    def locked(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(files.os, "replace", locked)
        failed = run_cli(["report", run_id, "--sandbox", *out])
    assert failed.exit_code == 2
    hint = failed.stderr.splitlines()[1]
    assert hint == (
        f"Hint: close it if another program has it open, then run: "
        f"{shlex.join(['batch-sms', 'report', run_id, *out, '--sandbox'])}"
    )
    again = run_cli(_paste(hint.split("then run: ", 1)[1]))
    assert again.exit_code == 0, again.output


def test_an_unknown_run_in_a_given_state_db_points_at_that_db(tmp_path: Path) -> None:
    path = shutil.copy(DATA / "undelivered.csv", tmp_path)
    where = ["--out", str(tmp_path / "rep"), "--state", str(tmp_path / "s.db")]
    assert run_cli(["send", str(path), "--sandbox", "--yes", "-q", *where]).exit_code == 0
    result = run_cli(["report", "20990101-000000-abcd", *where])
    assert result.exit_code == 2
    hint = result.stderr.splitlines()[1].removeprefix("Hint: ")
    listed = hint.removesuffix(
        " lists the runs there (add --sandbox for the runs made with --sandbox)"
    )
    assert _paste(listed) == ["runs", *where]
    assert run_cli([*_paste(listed), "--json"]).exit_code == 0


@pytest.mark.parametrize("command", ["resume", "retry", "report"])
def test_a_malformed_run_id_points_at_the_runs_of_the_given_db(
    tmp_path: Path, command: str
) -> None:
    where = ["--state", str(tmp_path / "s.db"), "--sandbox"]
    result = run_cli([command, "not a run!", *where])
    assert result.exit_code == 2
    error, hint = result.stderr.splitlines()
    assert error == "Error: 'not a run!' is not a run id"
    assert _paste(hint.removeprefix("Hint: ").removesuffix(" lists the runs there")) == [
        "runs", *where
    ]  # fmt: skip
