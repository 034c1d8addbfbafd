"""`send`, `resume`, `retry`, `report` and `runs` through the CLI, against a sandbox on loopback."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from helpers import (
    DATA,
    SandboxMaker,
    accepted_counts,
    cn_numbers,
    env_for,
    last_json,
    read_results,
    run_cli,
    summary_pairs,
    write_csv,
)

from batch_sms.sandbox.server import SandboxHandle


def campaign(tmp_path: Path, count: int, text: str = "Hello {n}", start: int = 0) -> Path:
    """A CSV of `count` distinct numbers, each with its own text."""
    rows = [[str(i), phone, text.format(n=i)] for i, phone in enumerate(cn_numbers(count, start))]
    return write_csv(tmp_path / "campaign.csv", ["name", "phone", "content"], rows)


def send(tmp_path: Path, handle: SandboxHandle, path: Path, *extra: str) -> tuple[int, dict]:
    """`batch-sms send` against the sandbox; returns the exit code and the --json object."""
    result = run_cli(
        [
            "send",
            str(path),
            "--base-url",
            handle.url,
            "--yes",
            "--json",
            "--out",
            str(tmp_path / "reports"),
            "--tps",
            "unlimited",
            *extra,
        ],
        env=env_for(handle),
    )
    return result.exit_code, last_json(result)


def follow(tmp_path: Path, handle: SandboxHandle, *args: str) -> tuple[int, dict]:
    """`resume`/`retry` against the sandbox."""
    result = run_cli(
        [*args, "--base-url", handle.url, "--json", "--out", str(tmp_path / "reports")],
        env=env_for(handle),
    )
    return result.exit_code, last_json(result)


def test_clean_run_sends_every_row_once_and_reports_it(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    code, out = send(tmp_path, handle, campaign(tmp_path, 12))
    assert code == 0
    assert out["status"] == "finished"
    assert out["counts"] == {"sent": 12}
    assert sorted(accepted_counts(handle).values()) == [1] * 12
    rows = read_results(Path(out["report"]))
    assert [r["name"] for r in rows] == [str(i) for i in range(12)]
    assert {r["sms_status"] for r in rows} == {"sent"}
    run_id = out["run_id"]
    assert rows[3]["sms_sys_message_id"] == f"{run_id}-5-0"  # header is row 1
    by_sys = {a.sys_message_id: a for a in handle.sandbox.accepted}
    assert by_sys[f"{run_id}-5-0"].ext == f"{run_id}:5:0"
    assert rows[3]["sms_messageid"] == by_sys[f"{run_id}-5-0"].messageid


def test_report_shows_the_text_as_sent_after_the_sms_columns(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    """sms_text: the rendered message, in Results, results.csv and the failed-rows file."""
    handle = make_sandbox()
    template = "Hi {{ first_name }}, you owe {{ amount }}."
    _, out = send(tmp_path, handle, DATA / "sms_text.csv", "--template", template)
    assert out["counts"] == {"sent": 3, "invalid": 1}  # row 4's number is too short
    sent = {a.phone: a.content for a in handle.sandbox.accepted}
    assert sent == {
        "8613800138001": "Hi Anna, you owe 7.", "8613800138002": "Hi Ben, you owe 12.",
        "8613800138004": "Hi Dan, you owe 9.", "8613800138005": "Hi Dan, you owe 9.",
    }  # fmt: skip
    rows = read_results(Path(out["report"]))
    header = list(rows[0])
    assert header.index("sms_text") == header.index("sms_error") + 1
    assert [r["sms_text"] for r in rows] == [
        "Hi Anna, you owe 7.", "Hi Ben, you owe 12.", "Hi Cara, you owe 3.", "Hi Dan, you owe 9.",
    ]  # fmt: skip
    with Path(out["results_csv"]).open(encoding="utf-8-sig", newline="") as handle_csv:
        csv_rows = list(csv.DictReader(handle_csv))
    assert [r["sms_text"] for r in csv_rows] == [r["sms_text"] for r in rows]
    with Path(out["failed"]).open(encoding="utf-8-sig", newline="") as handle_csv:
        failed = list(csv.DictReader(handle_csv))
    assert [(r["first_name"], r["sms_status"], r["sms_text"]) for r in failed] == [
        ("Cara", "invalid", "Hi Cara, you owe 3.")
    ]


def test_row_fatal_answers_fail_only_their_rows(tmp_path: Path, make_sandbox: SandboxMaker) -> None:
    handle = make_sandbox(forbidden=("casino",))
    path = write_csv(
        tmp_path / "c.csv",
        ["phone", "content"],
        [[p, "Win at the casino" if i == 1 else f"Hi {i}"] for i, p in enumerate(cn_numbers(4))],
    )
    code, out = send(tmp_path, handle, path)
    assert code == 1
    assert out["counts"] == {"sent": 3, "failed": 1}
    failed = [r for r in read_results(Path(out["report"])) if r["sms_status"] == "failed"]
    assert failed[0]["sms_code"] == "4"
    assert "forbidden" in failed[0]["sms_result"].lower() or "content" in failed[0]["sms_result"]
    assert Path(out["failed"]).name == "failed.csv"


def test_transient_faults_are_retried_to_success(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(fail_88=0.2, fail_99=0.1, fail_500=0.1, seed=7)
    code, out = send(tmp_path, handle, campaign(tmp_path, 30), "--max-attempts", "10")
    assert code == 0
    assert out["counts"] == {"sent": 30}
    assert sorted(accepted_counts(handle).values()) == [1] * 30
    assert handle.sandbox.answers["88"] + handle.sandbox.answers["99"] > 0


@pytest.mark.parametrize("tps", ["100", "unlimited"])
def test_storm_of_28s_slows_down_and_sends_each_once(
    tmp_path: Path, make_sandbox: SandboxMaker, tps: str
) -> None:
    handle = make_sandbox(tps_limit=20)
    code, out = send(tmp_path, handle, campaign(tmp_path, 40), "--tps", tps)
    assert code == 0
    assert out["counts"] == {"sent": 40}
    assert handle.sandbox.answers["28"] > 0
    assert sorted(accepted_counts(handle).values()) == [1] * 40


def test_hourly_cap_holds_across_two_runs(tmp_path: Path, make_sandbox: SandboxMaker) -> None:
    handle = make_sandbox(hourly_cap=None)
    phone = cn_numbers(1)[0]
    first = write_csv(
        tmp_path / "a.csv", ["phone", "content"], [[phone, "one"], [phone, "two"], [phone, "three"]]
    )
    code, out = send(tmp_path, handle, first, "--hourly-cap", "2")
    assert code == 1
    assert out["counts"] == {"sent": 2, "capped": 1}
    second = write_csv(tmp_path / "b.csv", ["phone", "content"], [[phone, "four"]])
    code, out = send(tmp_path, handle, second, "--hourly-cap", "2")
    assert code == 1
    assert out["counts"] == {"capped": 1}
    assert len(handle.sandbox.accepted) == 2
    capped = read_results(Path(out["report"]))[0]
    assert "hourly cap" in capped["sms_error"]


def test_balance_runs_out_then_top_up_and_resume(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(balance=0.10, price=0.01)  # ten one-segment messages
    code, out = send(tmp_path, handle, campaign(tmp_path, 25), "--concurrency", "1")
    assert code == 3
    assert out["status"] == "stopped"
    assert out["counts"]["sent"] == 10
    assert out["counts"]["pending"] == 15
    assert f"batch-sms resume {out['run_id']}" in " ".join(out["next"])
    handle.sandbox.top_up(1.0)
    code, out = follow(tmp_path, handle, "resume", out["run_id"])
    assert code == 0
    assert out["counts"] == {"sent": 25}
    assert sorted(accepted_counts(handle).values()) == [1] * 25


def test_retry_sends_only_what_failed_and_never_twice(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(forbidden=("blocked",))
    rows = [[p, "blocked offer" if i % 3 == 0 else f"Hi {i}"] for i, p in enumerate(cn_numbers(9))]
    path = write_csv(tmp_path / "c.csv", ["phone", "content"], rows)
    code, out = send(tmp_path, handle, path)
    assert out["counts"] == {"sent": 6, "failed": 3}
    parent = out["run_id"]
    handle.sandbox.config.forbidden = ()
    code, out = follow(tmp_path, handle, "retry", parent)
    assert code == 0
    assert out["counts"] == {"sent": 3}
    assert out["parent"] == parent
    code, again = follow(
        tmp_path, handle, "retry", out["run_id"], "--status", "failed,capped,pending,undelivered"
    )
    assert sum(again["counts"].values()) == 0
    assert sorted(accepted_counts(handle).values()) == [1] * 9


def test_report_is_idempotent_and_runs_lists_the_family(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    _code, out = send(tmp_path, handle, campaign(tmp_path, 3))
    first = read_results(Path(out["report"]))
    again = run_cli(["report", out["run_id"], "--json", "--out", str(tmp_path / "reports")])
    assert again.exit_code == 0
    assert read_results(Path(last_json(again)["report"])) == first
    listed = run_cli(["runs", "--json", "--out", str(tmp_path / "reports")])
    runs = last_json(listed)["runs"]
    assert runs[0]["run_id"] == out["run_id"]
    assert runs[0]["counts"] == {"sent": 3}


def test_secrets_never_reach_output_report_or_state(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    result = run_cli(
        [
            "send",
            str(campaign(tmp_path, 3)),
            "--base-url",
            handle.url,
            "--yes",
            "--out",
            str(tmp_path / "reports"),
        ],
        env=env_for(handle),
    )
    assert result.exit_code == 0
    secrets = [
        handle.credentials.access_secret,
        handle.credentials.access_key,
        handle.credentials.app_key,
    ]
    for secret in secrets:
        assert secret not in result.output
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, path


def test_without_a_terminal_send_refuses_unless_yes(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    result = run_cli(
        [
            "send",
            str(campaign(tmp_path, 2)),
            "--base-url",
            handle.url,
            "--out",
            str(tmp_path / "reports"),
        ],
        env=env_for(handle),
    )
    assert result.exit_code == 2
    assert "add --yes" in result.output
    assert handle.sandbox.accepted == []


def test_dry_run_signs_everything_and_sends_nothing(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    code, out = send(tmp_path, handle, campaign(tmp_path, 5), "--dry-run")
    assert code == 0
    assert out["status"] == "dry-run"
    assert out["counts"] == {"ready": 5}
    assert handle.sandbox.accepted == []


def test_missing_credentials_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = run_cli(
        ["send", str(campaign(tmp_path, 1)), "--yes", "--out", str(tmp_path)],
        env={"NXCLOUD_ACCESS_KEY": "", "NXCLOUD_ACCESS_SECRET": "", "NXCLOUD_APP_KEY": ""},
    )
    assert result.exit_code == 2
    assert "Error: missing credentials: NXCLOUD_ACCESS_KEY" in result.output
    assert "--sandbox" in result.output


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_failed_file_feeds_back_into_send(
    tmp_path: Path, make_sandbox: SandboxMaker, fmt: str
) -> None:
    handle = make_sandbox(forbidden=("nope",))
    rows = [[p, "nope" if i < 2 else f"Hi {i}"] for i, p in enumerate(cn_numbers(4))]
    path = write_csv(tmp_path / "c.csv", ["phone", "content"], rows)
    if fmt == "xlsx":
        import pandas as pd

        frame = pd.read_csv(path, dtype=str)
        path = tmp_path / "c.xlsx"
        frame.to_excel(path, index=False)
    code, out = send(tmp_path, handle, path)
    failed = Path(out["failed"])
    assert failed.suffix == f".{fmt}"
    handle.sandbox.config.forbidden = ()
    code, again = send(tmp_path, handle, failed)
    assert code == 0
    assert again["counts"] == {"sent": 2}


def test_sandbox_runs_sharing_a_state_db_each_get_their_receipts(tmp_path: Path) -> None:
    """Each `--sandbox` run starts a new simulator; its messageids must not collide with an
    earlier run's in the same state db, or that run's receipts would be taken for repeats."""
    path = campaign(tmp_path, 3)
    for _ in range(2):
        result = run_cli(
            [
                "send",
                str(path),
                "--sandbox",
                "--yes",
                "--json",
                "--tps",
                "unlimited",
                "--allow-duplicates",
                "--out",
                str(tmp_path / "reports"),
            ]
        )
        assert result.exit_code == 0, result.output
        assert last_json(result)["counts"] == {"delivered": 3}


def test_sending_the_same_file_twice_is_refused(tmp_path: Path, make_sandbox: SandboxMaker) -> None:
    handle = make_sandbox()
    path = campaign(tmp_path, 2)
    code, out = send(tmp_path, handle, path)
    assert code == 0
    again = run_cli(
        ["send", str(path), "--base-url", handle.url, "--yes", "--out", str(tmp_path / "reports")],
        env=env_for(handle),
    )
    assert again.exit_code == 2
    error, hint = again.stderr.splitlines()
    assert error.startswith(f"Error: {path}: this file was already sent as run {out['run_id']} (")
    assert error.endswith(" UTC)")
    flag = f"--out {tmp_path / 'reports'}"  # a pasted hint finds the run again
    assert [hint] == [
        f"Hint: to continue that run: batch-sms resume {out['run_id']} {flag}; to send its "
        f"failures again: batch-sms retry {out['run_id']} {flag}; to send every row again on "
        "purpose: --allow-duplicates",
    ]
    assert len(handle.sandbox.accepted) == 2


def test_retry_of_unknown_rows_needs_resend_unknown(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(drop=1.0)  # accepted, then the connection drops: fate unknown
    _, out = send(tmp_path, handle, campaign(tmp_path, 2), "--timeout", "2")
    assert out["counts"] == {"unknown": 2}
    result = run_cli(
        [
            "retry",
            out["run_id"],
            "--status",
            "unknown",
            "--base-url",
            handle.url,
            "--out",
            str(tmp_path / "reports"),
        ],
        env=env_for(handle),
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1] == (
        f"Hint: settle them first with: batch-sms resume {out['run_id']} --out "
        f"{tmp_path / 'reports'} (it reads the provider's records); or add --resend-unknown to "
        "send them anyway"
    )
    assert len(handle.sandbox.accepted) == 2
    default = run_cli(
        [
            "retry",
            out["run_id"],
            "--json",
            "--base-url",
            handle.url,
            "--out",
            str(tmp_path / "reports"),
        ],
        env=env_for(handle),
    )
    assert last_json(default)["status"] == "nothing-to-retry"  # unknown is not in the default
    assert len(handle.sandbox.accepted) == 2


def test_a_run_being_sent_cannot_be_resumed_by_another_process(
    tmp_path: Path, make_sandbox: SandboxMaker, user_data_dir: Path
) -> None:
    from batch_sms.commands.runner import run_lock
    from batch_sms.journal import Journal

    handle = make_sandbox(balance=0.0)  # stops at once with code 3: resumable
    code, out = send(tmp_path, handle, campaign(tmp_path, 2))
    assert code == 3
    with Journal(user_data_dir / "batch-sms.sqlite3") as journal:
        run = journal.get_run(out["run_id"])
    with run_lock(run, user_data_dir / "batch-sms.sqlite3"):  # another process's
        result = run_cli(
            ["resume", out["run_id"], "--base-url", handle.url, "--out", str(tmp_path / "reports")],
            env=env_for(handle),
        )
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(
        f"Error: run {out['run_id']} is being sent right now by batch-sms process "
    )


def test_a_text_already_sent_in_an_earlier_run_is_not_sent_again(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    phones = cn_numbers(3)
    first = write_csv(tmp_path / "a.csv", ["phone", "content"], [[phones[0], "Hello"]])
    _, out = send(tmp_path, handle, first)
    second = write_csv(
        tmp_path / "b.csv",
        ["phone", "content"],
        [[phones[0], "Hello"], [phones[1], "Hello"], [phones[0], "Other"]],
    )
    code, again = send(tmp_path, handle, second)
    assert code == 0
    assert again["counts"] == {"duplicate": 1, "sent": 2}
    rows = read_results(Path(again["report"]))
    assert rows[0]["sms_error"] == (
        f"same text already sent to this number in run {out['run_id']} (row 2)"
    )
    assert sorted(accepted_counts(handle).values()) == [1, 1, 1]
    code, forced = send(
        tmp_path,
        handle,
        write_csv(tmp_path / "c.csv", ["phone", "content"], [[phones[0], "Hello"]]),
        "--allow-duplicates",
    )
    assert forced["counts"] == {"sent": 1}


def test_the_hourly_cap_counts_another_runs_unknown_messages(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    """A message whose fate is unknown may have been accepted: it takes its number's slot."""
    handle = make_sandbox(drop=1.0, hourly_cap=None)  # accepted, then the answer is lost
    phone = cn_numbers(1)[0]
    first = write_csv(tmp_path / "a.csv", ["phone", "content"], [[phone, "one"], [phone, "two"]])
    _, out = send(tmp_path, handle, first, "--hourly-cap", "2", "--timeout", "2")
    assert out["counts"] == {"unknown": 2}
    handle.sandbox.config.drop = 0.0
    second = write_csv(tmp_path / "b.csv", ["phone", "content"], [[phone, "three"]])
    _, again = send(tmp_path, handle, second, "--hourly-cap", "2")
    assert again["counts"] == {"capped": 1}
    assert len(handle.sandbox.accepted) == 2


def test_a_credential_the_http_layer_refuses_stops_the_run_without_echoing_it(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    env = {**env_for(handle), "NXCLOUD_ACCESS_KEY": handle.credentials.access_key + "\n"}
    result = run_cli(
        [
            "send",
            str(campaign(tmp_path, 2)),
            "--base-url",
            handle.url,
            "--yes",
            "--json",
            "--out",
            str(tmp_path / "reports"),
        ],
        env=env,
    )
    assert result.exit_code == 3
    out = last_json(result)
    assert out["counts"] == {"pending": 2}
    assert "nothing was sent" in out["stop_reason"]
    assert "provider answered" not in out["stop_reason"]
    assert handle.credentials.access_key not in result.output
    assert handle.sandbox.arrivals == []


def test_the_failed_file_of_unknown_rows_is_not_sent_blindly(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    """failed.csv lists unknown rows (they did not end sent); sending it back must not deliver
    them twice: they wait for resume to settle them."""
    handle = make_sandbox(drop=1.0)
    _, out = send(tmp_path, handle, campaign(tmp_path, 2), "--timeout", "2")
    assert out["counts"] == {"unknown": 2}
    handle.sandbox.config.drop = 0.0
    code, again = send(tmp_path, handle, Path(out["failed"]))
    assert code == 1
    assert again["counts"] == {"duplicate": 2}
    why = read_results(Path(again["report"]))[0]["sms_error"]
    assert f"fate is unknown); settle it with: batch-sms resume {out['run_id']}" in why
    assert len(handle.sandbox.accepted) == 2


def test_rows_handed_to_a_retry_leave_the_parents_failed_file(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(balance=0.0)  # every run stops at once with code 3
    _, out = send(tmp_path, handle, campaign(tmp_path, 2))
    assert Path(out["failed"]).exists()
    code, child = follow(tmp_path, handle, "retry", out["run_id"])
    assert code == 3
    report = run_cli(["report", out["run_id"], "--json", "--out", str(tmp_path / "reports")])
    again = last_json(report)
    assert again["failed"] is None  # the retry run owns those rows now
    rows = read_results(Path(again["report"]))
    assert {r["sms_error"] for r in rows} == {f"sent again in retry run {child['run_id']}"}
    handle.sandbox.top_up(1.0)
    follow(tmp_path, handle, "resume", out["run_id"])
    assert handle.sandbox.accepted == []  # resuming the parent sends nothing
    code, done = follow(tmp_path, handle, "resume", child["run_id"])
    assert done["counts"] == {"sent": 2}
    assert sorted(accepted_counts(handle).values()) == [1, 1]


def test_a_sandbox_trial_does_not_block_the_real_send(
    tmp_path: Path, make_sandbox: SandboxMaker, user_data_dir: Path
) -> None:
    """Runs against the simulator keep their own state db: trying a file with --sandbox first
    must not make the real campaign look like a repeat, nor count for its hourly caps."""
    path = campaign(tmp_path, 2)
    trial = run_cli(
        [
            "send",
            str(path),
            "--sandbox",
            "--yes",
            "--json",
            "--tps",
            "unlimited",
            "--out",
            str(tmp_path / "reports"),
        ]
    )
    assert trial.exit_code == 0
    handle = make_sandbox()  # stands in for the provider
    code, out = send(tmp_path, handle, path)
    assert code == 0
    assert out["counts"] == {"sent": 2}
    assert (user_data_dir / "sandbox.sqlite3").exists()
    assert (user_data_dir / "batch-sms.sqlite3").exists()


def test_the_same_file_is_refused_under_a_second_out_folder(
    tmp_path: Path, user_data_dir: Path
) -> None:
    """The state db is one per user, not one per --out: a second --out sees the first run."""
    path = DATA / "lb.csv"
    first = run_cli(["send", str(path), "--sandbox", "--yes", "--json", "--tps", "unlimited",
                     "--out", str(tmp_path / "rep")])  # fmt: skip
    assert first.exit_code == 0
    run_id = last_json(first)["run_id"]
    again = run_cli(["send", str(path), "--sandbox", "--yes", "--json", "--tps", "unlimited",
                     "--out", str(tmp_path / "rep2")])  # fmt: skip
    assert again.exit_code == 2
    assert f"this file was already sent as run {run_id}" in again.stderr
    assert (user_data_dir / "sandbox.sqlite3").is_file()
    assert not list((tmp_path / "rep").glob("*.sqlite3"))
    listed = run_cli(["runs", "--sandbox", "--out", str(tmp_path / "rep2")])
    assert f"state db: {user_data_dir / 'sandbox.sqlite3'}" in listed.stdout


def test_a_state_db_left_in_the_out_folder_is_taken_over(
    tmp_path: Path, user_data_dir: Path
) -> None:
    """An earlier version kept the state db in --out: its history moves to the per-user db."""
    rep = tmp_path / "rep"
    first = run_cli(
        [
            "send",
            str(DATA / "lb.csv"),
            "--sandbox",
            "--yes",
            "--json",
            "--tps",
            "unlimited",
            "--out",
            str(rep),
            "--state",
            str(rep / "sandbox.sqlite3"),
        ]
    )
    run_id = last_json(first)["run_id"]
    again = run_cli(["send", str(DATA / "lb.csv"), "--sandbox", "--yes", "--out", str(rep)])
    assert again.exit_code == 2
    assert f"this file was already sent as run {run_id}" in again.stderr
    assert "copied the runs of" in again.stdout + again.stderr
    listed = run_cli(["runs", "--sandbox", "--json", "--out", str(rep)])
    data = last_json(listed)
    assert data["state"] == str(user_data_dir / "sandbox.sqlite3")
    assert [r["run_id"] for r in data["runs"]] == [run_id]
    # A second old db whose runs the per-user db lacks is pointed to, not ignored.
    other = tmp_path / "other"
    made = run_cli(
        [
            "send",
            str(campaign(tmp_path, 1)),
            "--sandbox",
            "--yes",
            "--tps",
            "unlimited",
            "--out",
            str(other),
            "--state",
            str(other / "sandbox.sqlite3"),
        ]
    )
    assert made.exit_code == 0
    listed = run_cli(["runs", "--sandbox", "--out", str(other)])
    assert f"note: {other / 'sandbox.sqlite3'} (an older state db) holds 1 run(s)" in listed.stderr
    assert f"--state {other / 'sandbox.sqlite3'}" in listed.stderr


def test_a_whitespace_variant_of_a_text_sent_in_an_earlier_run_is_a_duplicate(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    """Run 1 sent " Hello there"; "Hello  there" to the same number is the same text."""
    handle = make_sandbox()
    _, first = send(tmp_path, handle, DATA / "whitespace_run1.csv")
    assert first["counts"] == {"sent": 1}
    _, second = send(tmp_path, handle, DATA / "whitespace_run2.csv")
    assert second["counts"] == {"duplicate": 1, "sent": 1}
    rows = read_results(Path(second["report"]))
    assert rows[0]["sms_status"] == "duplicate"
    assert rows[0]["sms_error"] == (
        f"same text already sent to this number in run {first['run_id']} (row 2)"
    )
    assert sorted(a.phone for a in handle.sandbox.accepted) == ["8613800138021", "8613800138022"]


def test_the_failed_file_of_undelivered_rows_sends_them_again(
    tmp_path: Path, make_sandbox: SandboxMaker, user_data_dir: Path
) -> None:
    """An undelivered message did not reach its number: it is no "already sent" duplicate."""
    from batch_sms.journal import Journal

    handle = make_sandbox()
    _, out = send(tmp_path, handle, DATA / "lb.csv")
    assert out["counts"] == {"sent": 2}
    with Journal(user_data_dir / "batch-sms.sqlite3") as journal:  # as the receipts server does
        for accepted in handle.sandbox.accepted:
            journal.add_receipt({"messageid": accepted.messageid, "status": "5"}, 1.0)
    rewritten = run_cli(["report", out["run_id"], "--json", "--out", str(tmp_path / "reports")])
    assert last_json(rewritten)["counts"] == {"undelivered": 2}
    _, again = send(tmp_path, handle, Path(last_json(rewritten)["failed"]))
    assert again["counts"] == {"sent": 2}
    assert sorted(accepted_counts(handle).values()) == [2, 2]


def test_how_the_input_was_read_is_shown_and_kept_with_the_run(tmp_path: Path) -> None:
    """Encoding, delimiter, phone column and text source: on screen after pre-flight, in the
    Summary, and again in a report written later from the state db."""
    out = tmp_path / "reports"
    sent = run_cli(["send", str(DATA / "semicolon.csv"), "--sandbox", "--yes", "--tps",
                    "unlimited", "--out", str(out)])  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert (
        'Read semicolon.csv: encoding utf-8, delimiter semicolon, phone column "Phone", '
        'text from column "Message"'
    ) in sent.stdout.splitlines()
    (report,) = out.glob("*/report.xlsx")
    expected = {
        "Input encoding": "utf-8", "Input delimiter": "semicolon",
        "Input phone column": '"Phone"', "Input text from": 'column "Message"',
    }  # fmt: skip
    pairs = summary_pairs(report)
    assert {k: pairs.get(k) for k in expected} == expected
    assert [k for k in pairs if k.startswith("Input ")] == list(expected)  # in reading order
    assert "input_read" not in pairs
    report.unlink()
    again = run_cli(["report", report.parent.name, "--sandbox", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert {k: summary_pairs(report).get(k) for k in expected} == expected


def test_a_27_says_when_the_providers_sliding_hour_frees_a_slot(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    """The provider caps 2 an hour, ours is 5: its 27 ends the third row capped until the first
    accept leaves the provider's hour, not at a guess."""
    from datetime import datetime, timedelta

    handle = make_sandbox(hourly_cap=2)
    _, out = send(tmp_path, handle, DATA / "code27.csv", "--hourly-cap", "5")
    assert out["counts"] == {"sent": 2, "capped": 1}
    rows = read_results(Path(out["report"]))
    first = datetime.strptime(rows[0]["sms_sent_at"], "%Y-%m-%d %H:%M:%S")
    after = (first + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert rows[2]["sms_code"] == "27"
    assert rows[2]["sms_error"].endswith(f"may be sent after {after} UTC")


def test_a_two_number_cell_with_one_bad_number_shows_the_delivered_part(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox()
    _, out = send(tmp_path, handle, DATA / "two_numbers_one_bad.csv")
    (row,) = read_results(Path(out["report"]))
    assert row["sms_status"] == "invalid"  # the row still needs fixing
    assert row["sms_error"] == (
        '+8613800138051: sent; +86 138 0013: phone "+86 138 0013" is not a valid number'
    )
    # The joined sms_* cells keep the recipients' order: the first one's part is filled in.
    assert (row["sms_phone"], row["sms_code"]) == ("8613800138051, ", "0, ")
    assert [a.phone for a in handle.sandbox.accepted] == ["8613800138051"]


def test_a_send_on_uvloop_sends_every_row_once(
    tmp_path: Path, make_sandbox: SandboxMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--event-loop uvloop (the optional extra, installed with the test extra) runs the sending
    on uvloop's loop, with the same result."""
    import uvloop

    made: list[object] = []
    new_loop = uvloop.new_event_loop

    def counted() -> asyncio.AbstractEventLoop:
        made.append(loop := new_loop())
        return loop

    monkeypatch.setattr(uvloop, "new_event_loop", counted)
    handle = make_sandbox()
    code, out = send(tmp_path, handle, campaign(tmp_path, 30), "--event-loop", "uvloop")
    assert (code, out["counts"]) == (0, {"sent": 30})
    assert sorted(accepted_counts(handle).values()) == [1] * 30
    assert len(made) == 1
