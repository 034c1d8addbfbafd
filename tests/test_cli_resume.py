"""`resume` after a crash: unknown rows say why, and are settled against the provider's records."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from helpers import (
    DATA,
    accepted_counts,
    cn_numbers,
    env_for,
    last_json,
    read_results,
    run_cli,
    write_csv,
)

from batch_sms.sandbox.server import SandboxHandle


def test_unknown_rows_after_a_crash_say_why_and_count_the_attempt(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], user_data_dir: Path
) -> None:
    """kill -9 leaves rows `inflight`: the report says why they are unknown, what settles them,
    and counts the request that left; a resume that can't decide yet says when it can."""
    handle = make_sandbox()
    out = tmp_path / "reports"
    env = env_for(handle)
    sent = run_cli(["send", str(DATA / "lb.csv"), "--base-url", handle.url, "--yes", "--json",
                    "--out", str(out)], env=env)  # fmt: skip
    run_id = last_json(sent)["run_id"]
    # What a kill -9 leaves: row 3 marked in flight, its answer never written.
    db = sqlite3.connect(user_data_dir / "batch-sms.sqlite3")
    with db:
        db.execute("UPDATE messages SET status = 'inflight', messageid = '', code = '', "
                   "result = '', attempts = 0, inflight_at = sent_at, sent_at = NULL "
                   "WHERE row = 3")  # fmt: skip
    db.close()
    handle.sandbox.accepted[:] = [a for a in handle.sandbox.accepted if a.phone != "8613800138012"]
    reported = run_cli(["report", run_id, "--json", "--out", str(out)])
    row = read_results(Path(last_json(reported)["report"]))[1]
    assert (row["sms_status"], row["sms_attempts"]) == ("unknown", 1)
    assert row["sms_error"] == (
        "the process ended with the request in flight; it may have arrived. "
        f"batch-sms resume {run_id} --out {out} settles it against the provider's records"
    )
    result = run_cli(
        ["resume", run_id, "--base-url", handle.url, "--json", "--out", str(out)], env=env
    )  # too soon to tell: the default settle time has not passed
    assert last_json(result)["counts"] == {"sent": 1, "unknown": 1}
    row = read_results(Path(last_json(result)["report"]))[1]
    assert (row["sms_status"], row["sms_attempts"]) == ("unknown", 1)
    assert row["sms_error"].startswith(
        "fate unknown: the provider lists no such message yet, but its records may lag: from "
    )
    assert row["sms_error"].endswith(
        "a missing record proves it never arrived; "
        f"batch-sms resume {run_id} --out {out} again later decides it"
    )
    done = run_cli(["resume", run_id, "--base-url", handle.url, "--json", "--out", str(out),
                    "--settle", "0"], env=env)  # fmt: skip
    assert last_json(done)["counts"] == {"sent": 2}
    row = read_results(Path(last_json(done)["report"]))[1]
    assert (row["sms_attempts"], row["sms_error"]) == (2, None)  # the lost request, then this
    assert sorted(accepted_counts(handle).values()) == [1, 1]


def test_resume_settles_a_crash_through_the_provider_records(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], user_data_dir: Path
) -> None:
    """Make the state a crash leaves (answers lost, some requests never arrived), then resume."""
    handle = make_sandbox()
    rows = [[p, f"Note {i}"] for i, p in enumerate(cn_numbers(6))]
    path = write_csv(tmp_path / "c.csv", ["phone", "content"], rows)
    out = tmp_path / "reports"
    env = env_for(handle)
    sent = run_cli(
        [
            "send",
            str(path),
            "--base-url",
            handle.url,
            "--yes",
            "--json",
            "--tps",
            "unlimited",
            "--out",
            str(out),
        ],
        env=env,
    )
    run_id = last_json(sent)["run_id"]
    # Rows 2-3: accepted, but the process died before writing the answers.
    # Rows 4-5: marked in flight, but the process died before the requests left.
    db = sqlite3.connect(user_data_dir / "batch-sms.sqlite3")
    with db:
        db.execute(
            "UPDATE messages SET status = 'inflight', messageid = '', code = '', "
            "inflight_at = sent_at WHERE row IN (2, 3)"
        )
        db.execute(
            "UPDATE messages SET status = 'inflight', messageid = '', code = '', "
            "inflight_at = sent_at WHERE row IN (4, 5)"
        )
        lost = {r[0] for r in db.execute("SELECT phone FROM messages WHERE row IN (4, 5)")}
    db.close()
    handle.sandbox.accepted[:] = [a for a in handle.sandbox.accepted if a.phone not in lost]

    result = run_cli(
        ["resume", run_id, "--base-url", handle.url, "--json", "--out", str(out), "--settle", "0"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "2 had arrived, 2 never did (sent now), 0 still unknown" in result.output
    assert last_json(result)["counts"] == {"sent": 6}
    assert sorted(accepted_counts(handle).values()) == [1] * 6


def test_resume_leaves_unknown_when_it_is_too_soon_to_tell(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], user_data_dir: Path
) -> None:
    handle = make_sandbox()
    path = write_csv(tmp_path / "c.csv", ["phone", "content"], [[cn_numbers(1)[0], "Hi"]])
    out = tmp_path / "reports"
    env = env_for(handle)
    sent = run_cli(
        ["send", str(path), "--base-url", handle.url, "--yes", "--json", "--out", str(out)], env=env
    )
    run_id = last_json(sent)["run_id"]
    db = sqlite3.connect(user_data_dir / "batch-sms.sqlite3")
    with db:
        db.execute("UPDATE messages SET status = 'inflight', messageid = '', inflight_at = sent_at")
    db.close()
    handle.sandbox.accepted.clear()  # the request never arrived, but it just left: can't tell

    result = run_cli(
        ["resume", run_id, "--base-url", handle.url, "--json", "--out", str(out)], env=env
    )
    assert result.exit_code == 1
    assert last_json(result)["counts"] == {"unknown": 1}
    assert (
        f"still unknown (sms_error says why; batch-sms resume {run_id} --out {out} again later "
        "decides"
        " those it can)"
    ) in result.output
    assert handle.sandbox.accepted == []
