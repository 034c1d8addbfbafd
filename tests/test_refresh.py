"""`report --refresh`: messages whose receipt never came are settled by the provider's records."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    FakeClock,
    cn_numbers,
    env_for,
    last_json,
    read_results,
    run_cli,
    summary_pairs,
    write_csv,
)

import batch_sms
from batch_sms.commands.followup import rewrite_report
from batch_sms.config import Settings, load_settings
from batch_sms.errors import UsageError
from batch_sms.journal import Journal
from batch_sms.provider.lookup import RECEIPT_GRACE
from batch_sms.provider.receipts import ReceiverHandle, running_receiver
from batch_sms.sandbox.server import SandboxHandle


class Notes:
    """A Ui that keeps the notes (refresh only notes)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def note(self, text: str) -> None:
        self.lines.append(text)

    def confirm(self, plan: Any) -> bool:
        raise AssertionError("a report never asks")

    def progress(self, update: Any) -> None:
        raise AssertionError("a report sends nothing")

    def stop_with(self, stop: Callable[[], None]) -> None:
        raise AssertionError("a report sends nothing")


@pytest.fixture
def receiver(user_data_dir: Path) -> Iterator[ReceiverHandle]:
    """A receipts server on the default state db, where the CLI's runs are."""
    with running_receiver(user_data_dir / "batch-sms.sqlite3") as handle:
        yield handle


def _send(
    tmp_path: Path, handle: SandboxHandle, receiver: ReceiverHandle, count: int
) -> tuple[str, Path]:
    """Send `count` rows to the standalone sandbox with receipts to `receiver`; the run id and
    the output folder, once every receipt the sandbox means to push is in."""
    rows = [[phone, f"Note {i}"] for i, phone in enumerate(cn_numbers(count))]
    path = write_csv(tmp_path / "c.csv", ["phone", "content"], rows)
    out = tmp_path / "reports"
    sent = run_cli(["send", str(path), "--base-url", handle.url, "--dr-url", receiver.url,
                    "--tps", "unlimited", "--yes", "--json", "--out", str(out)],
                   env=env_for(handle))  # fmt: skip
    assert sent.exit_code == 0, sent.output
    handle.drain()
    return last_json(sent)["run_id"], out


def _settings(handle: SandboxHandle, out: Path) -> Settings:
    return load_settings({"out": out}, environ=env_for(handle), cwd=out)


def _statuses(report: Path) -> list[str]:
    return [row["sms_status"] for row in read_results(report)]


def test_dropped_receipts_are_delivered_after_refresh_past_the_grace(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], receiver: ReceiverHandle
) -> None:
    """Half the receipts are dropped on purpose: those rows stay `sent` until a refresh after
    the grace asks the records; the grace is respected before that."""
    handle = make_sandbox(dr_delay=0.0, dr_drop_share=0.5, seed=3)
    run_id, out = _send(tmp_path, handle, receiver, 8)
    pushed = {r.fields["messageid"] for r in handle.sandbox.receipts}
    assert 0 < len(pushed) < 8  # some receipts were dropped, some came
    settings = _settings(handle, out)
    before = rewrite_report(run_id, settings)
    assert before.counts == {"sent": 8 - len(pushed), "delivered": len(pushed)}

    clock = FakeClock(time.time() + RECEIPT_GRACE - 60)  # not yet past the grace
    ui = Notes()
    early = rewrite_report(run_id, settings, ui, refresh=RECEIPT_GRACE, clock=clock)
    assert early.counts == before.counts
    assert ui.lines == [
        "no sent message has waited more than 30m 00s for its receipt: nothing to ask"
    ]

    clock.advance(120)  # now past it
    done = rewrite_report(run_id, settings, ui, refresh=RECEIPT_GRACE, clock=clock)
    assert done.counts == {"delivered": 8}
    assert ui.lines[-1] == (
        f"asked the provider's records about {8 - len(pushed)} sent messages without a receipt "
        "after 30m 00s: "
        f"{8 - len(pushed)} delivered, 0 undelivered, 0 with a record but no delivery status "
        "yet, 0 with no record yet"
    )
    rows = read_results(done.report)  # type: ignore[arg-type]
    assert {row["sms_dr_status"] for row in rows} == {"DELIVRD"}
    assert all(row["sms_dr_time"] for row in rows)
    assert "Receipts" not in summary_pairs(done.report)  # type: ignore[arg-type]


def test_a_message_the_provider_has_no_record_of_stays_sent_and_is_counted(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], receiver: ReceiverHandle
) -> None:
    handle = make_sandbox(dr_delay=0.0, dr_drop_share=1.0, dr_delivered_share=0.0, seed=1)
    run_id, out = _send(tmp_path, handle, receiver, 3)
    assert handle.sandbox.receipts == []
    lost = handle.sandbox.accepted.pop(0)  # the provider lost track of this one
    ui = Notes()
    clock = FakeClock(time.time() + 3600)
    done = rewrite_report(run_id, _settings(handle, out), ui, refresh=1800.0, clock=clock)
    assert done.counts == {"sent": 1, "undelivered": 2}
    rows = {row["sms_messageid"]: row for row in read_results(done.report)}  # type: ignore[arg-type]
    assert rows[lost.messageid]["sms_status"] == "sent"
    assert {r["sms_dr_status"] for m, r in rows.items() if m != lost.messageid} == {"UNDELIV"}
    summary = summary_pairs(done.report)  # type: ignore[arg-type]
    assert summary["Receipts"] == "1 messages: no receipt and no record yet"
    assert "1 with no record yet" in ui.lines[-1]
    # A plain report keeps saying so; the receipt arriving at last ends it.
    again = rewrite_report(run_id, _settings(handle, out))
    assert summary_pairs(again.report)["Receipts"] == "1 messages: no receipt and no record yet"  # type: ignore[arg-type]
    with Journal(_settings(handle, out).state_path) as journal:
        journal.add_receipt({"messageid": lost.messageid, "status": "2"}, time.time())
    last = rewrite_report(run_id, _settings(handle, out))
    assert last.counts == {"delivered": 1, "undelivered": 2}
    assert "Receipts" not in summary_pairs(last.report)  # type: ignore[arg-type]


def test_report_refresh_on_the_command_line(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], receiver: ReceiverHandle
) -> None:
    """The Must-show: a run whose receipts were dropped on purpose shows `delivered` after
    `batch-sms report RUN_ID --refresh`."""
    handle = make_sandbox(dr_delay=0.0, dr_drop_share=1.0)
    run_id, out = _send(tmp_path, handle, receiver, 2)
    plain = run_cli(["report", run_id, "--json", "--out", str(out)])
    assert last_json(plain)["counts"] == {"sent": 2}
    waited = run_cli(["report", run_id, "--refresh", "--json", "--out", str(out)],
                     env=env_for(handle))  # fmt: skip
    assert last_json(waited)["counts"] == {"sent": 2}  # inside the default 30 minutes
    assert "nothing to ask" in waited.stderr
    result = run_cli(["report", run_id, "--refresh", "--receipt-grace", "0s", "--json",
                      "--out", str(out)], env=env_for(handle))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert last_json(result)["counts"] == {"delivered": 2}
    assert _statuses(Path(last_json(result)["report"])) == ["delivered", "delivered"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--receipt-grace", "30m"], "--receipt-grace applies with --refresh only"),
        (["--refresh", "--receipt-grace", "soon"], "'soon' is not a duration"),
    ],
)
def test_bad_grace_options(args: list[str], message: str, user_data_dir: Path) -> None:
    result = run_cli(["report", "20260101-000000-abcd", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_refresh_needs_credentials(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], receiver: ReceiverHandle
) -> None:
    handle = make_sandbox(dr_delay=0.0, dr_drop_share=1.0)
    run_id, out = _send(tmp_path, handle, receiver, 1)
    result = run_cli(["report", run_id, "--refresh", "--out", str(out)],
                     env={"NXCLOUD_ACCESS_SECRET": ""})  # fmt: skip
    assert result.exit_code == 2
    assert "missing credentials: NXCLOUD_ACCESS_KEY, NXCLOUD_ACCESS_SECRET" in result.output
    assert "the record query needs the account that sent the run" in result.output


def test_wrong_credentials_say_the_records_could_not_be_read(
    tmp_path: Path, make_sandbox: Callable[..., SandboxHandle], receiver: ReceiverHandle
) -> None:
    handle = make_sandbox(dr_delay=0.0, dr_drop_share=1.0)
    run_id, out = _send(tmp_path, handle, receiver, 2)
    env = {**env_for(handle), "NXCLOUD_ACCESS_SECRET": "wrong"}
    settings = load_settings({"out": out}, environ=env, cwd=out)
    ui = Notes()
    done = rewrite_report(run_id, settings, ui, refresh=0.0)
    assert done.counts == {"sent": 2}
    assert ui.lines[-1].startswith("the provider's records could not be read (code 1: ")
    assert ui.lines[-1].endswith(
        f"2 messages were not asked about; to ask again: batch-sms report {run_id} --out {out} "
        "--refresh"
    )
    assert "Receipts" not in summary_pairs(done.report)  # type: ignore[arg-type]


def test_a_run_sent_to_the_built_in_simulator_is_refused(
    tmp_path: Path, user_data_dir: Path
) -> None:
    """The in-process simulator ended with its command: there is no record to ask."""
    path = write_csv(tmp_path / "c.csv", ["phone", "content"], [[cn_numbers(1)[0], "Hi"]])
    out = tmp_path / "reports"
    sent = run_cli(["send", str(path), "--sandbox", "--yes", "--json", "--out", str(out)])
    run_id = last_json(sent)["run_id"]
    settings = load_settings({"out": out, "sandbox": True}, environ={}, cwd=out)
    with pytest.raises(UsageError, match="sent to the built-in simulator"):
        rewrite_report(run_id, settings, Notes(), refresh=0.0)


def test_python_results_refresh(
    tmp_path: Path,
    make_sandbox: Callable[..., SandboxHandle],
    receiver: ReceiverHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handle = make_sandbox(dr_delay=0.0, dr_drop_share=1.0)
    run_id, out = _send(tmp_path, handle, receiver, 2)
    for name, value in env_for(handle).items():
        monkeypatch.setenv(name, value)
    assert list(batch_sms.results(run_id, out=out)["sms_status"]) == ["sent", "sent"]
    assert list(batch_sms.results(run_id, out=out, refresh=True)["sms_status"]) == ["sent"] * 2
    frame = batch_sms.results(run_id, out=out, refresh=True, receipt_grace="0s")
    assert list(frame["sms_status"]) == ["delivered", "delivered"]
    with pytest.raises(UsageError, match="receipt_grace= applies with refresh=True only"):
        batch_sms.results(run_id, out=out, receipt_grace=0)
