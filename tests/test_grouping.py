"""Identical texts in one request (`--group N`) against the sandbox: per-number messageids and
receipts, caps per number, one answer for the whole group, and never a number sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from helpers import (
    SandboxMaker,
    accepted_twice,
    cn_numbers,
    env_for,
    last_json,
    make_run,
    msg,
    new_run,
    read_results,
    run_cli,
    send,
    write_csv,
)
from helpers import dispatch_run as run_dispatch

import batch_sms
from batch_sms.checks.preflight import requests_needed
from batch_sms.config import load_settings
from batch_sms.dispatch import DispatchSettings
from batch_sms.dispatch.grouping import LOOK_AHEAD, gather, plan_groups, request_for
from batch_sms.dispatch.queue import Item
from batch_sms.errors import ConfigError
from batch_sms.journal import Journal, Queued
from batch_sms.models import Credentials, Status
from batch_sms.provider.nxcloud import build_send
from batch_sms.sandbox.server import SandboxHandle

TEXT = "Sale today: 20% off everything"


def item(n: int, phone: str, content: str = TEXT, solo: bool = False) -> Item:
    q = Queued(n, "run-g-0001", n + 1, 0, phone, content, 1, 0, Status.PENDING)
    return Item(q, 0, solo=solo)


def requests_to(handle: SandboxHandle) -> Counter[str]:
    """How many numbers each accepted request carried, by its messageid."""
    return Counter(a.messageid.split("-")[0] for a in handle.sandbox.accepted)


# --- gathering, pure ---------------------------------------------------------------------------


def test_gather_takes_the_same_text_to_distinct_numbers_and_passes_over_the_rest() -> None:
    first = item(1, "861")
    others = [
        item(2, "862"),
        item(3, "863", "Another text"),
        item(4, "861"),  # the same number again: never twice in one request
        item(5, "865", solo=True),  # its group was answered 27: sent alone
        item(6, "866"),
        item(7, "867"),
    ]
    source = list(others)
    group, passed = gather(first, 3, lambda: source.pop(0) if source else None, lambda i: True,
                           lambda: False)  # fmt: skip
    assert [i.q.id for i in group] == [1, 2, 6]
    assert [i.q.id for i in passed] == [3, 4, 5]
    assert [i.q.id for i in source] == [7]  # not looked at: the group was full


def test_gather_leaves_out_those_join_refuses_and_looks_only_so_far() -> None:
    source = [item(n, f"86{n}", "Other") for n in range(2, 100)]
    group, passed = gather(item(1, "861"), 5, lambda: source.pop(0), lambda i: True, lambda: False)
    assert group == [group[0]]
    assert len(passed) == 5 * LOOK_AHEAD
    source = [item(n, f"86{n}") for n in range(2, 10)]
    group, _ = gather(item(1, "861"), 5, lambda: source.pop(0), lambda i: i.q.id % 2 == 0,
                      lambda: False)  # fmt: skip
    assert [i.q.id for i in group] == [1, 2, 4, 6, 8]


def test_a_group_request_carries_no_sys_message_id_dr_url_or_ext() -> None:
    s = DispatchSettings(sender="ACME", dr_url="http://127.0.0.1:1/dr")
    one = request_for([item(1, "8613800000001")], s)
    assert (one.sys_message_id, one.dr_url, one.ext) != ("", "", "")
    many = request_for([item(1, "8613800000001"), item(2, "8613800000002")], s)
    assert many.phone == "8613800000001,8613800000002"
    assert (many.sys_message_id, many.dr_url, many.ext, many.sender) == ("", "", "", "ACME")
    _, body = build_send(many, Credentials("key", "secret", "app"), 1)
    assert b"sysMessageId" not in body
    assert b"drUrl" not in body
    assert b"ext" not in body


# --- against the sandbox -----------------------------------------------------------------------


def test_a_grouped_dispatch_sends_n_numbers_per_request_with_per_number_ids(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    phones = cn_numbers(250)
    make_run(journal, "run-g-0001", [(p, TEXT) for p in phones])
    result = run_dispatch(handle, journal, "run-g-0001", DispatchSettings(tps=None, group=100))
    assert result.counts == {"sent": 250}
    assert result.requests == 3
    assert sorted(requests_to(handle).values()) == [50, 100, 100]
    by_phone = {a.phone: a.messageid for a in handle.sandbox.accepted}
    rows = journal.report_rows("run-g-0001")
    assert {r.phone: r.messageid for r in rows} == by_phone  # each row holds its number's id
    assert accepted_twice(handle) == []


def test_mixed_texts_are_grouped_by_text(make_sandbox: SandboxMaker, journal: Journal) -> None:
    handle = make_sandbox(hourly_cap=None)
    rows = [(p, f"Text {i % 3}") for i, p in enumerate(cn_numbers(30))]
    make_run(journal, "run-g-0001", rows)
    result = run_dispatch(handle, journal, "run-g-0001", DispatchSettings(tps=None, group=10))
    assert result.counts == {"sent": 30}
    assert result.requests == 3  # 10 of each text in one request each
    assert {(a.phone, a.content) for a in handle.sandbox.accepted} == set(rows)


def test_the_report_shows_a_sys_message_id_only_for_requests_that_carried_one(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    """A request with several numbers has no sysMessageId: its rows show none; a text that
    went alone in the same run shows its own, as the sandbox received it."""
    handle = make_sandbox(hourly_cap=None)
    phones = cn_numbers(4)
    make_run(journal, "run-g-0001", [*((p, TEXT) for p in phones[:3]), (phones[3], "Only me")])
    result = run_dispatch(handle, journal, "run-g-0001", DispatchSettings(tps=None, group=10))
    assert (result.counts, result.requests) == ({"sent": 4}, 2)
    shown = {r.phone: r.sys_message_id for r in journal.report_rows("run-g-0001")}
    received = {a.phone: a.sys_message_id for a in handle.sandbox.accepted}
    assert shown == received
    assert [shown[p] for p in phones] == ["", "", "", "run-g-0001-5-0"]
    # The last request counts: a message sent alone after a grouped try shows its id again.
    first = next(r for r in journal.report_rows("run-g-0001") if r.phone == phones[0])
    ids = {r.phone: i for i, r in enumerate(journal.report_rows("run-g-0001"), start=1)}
    journal.mark_inflight([ids[first.phone]], at=1.0)
    again = next(r for r in journal.report_rows("run-g-0001") if r.phone == phones[0])
    assert again.sys_message_id == "run-g-0001-2-0"


def test_an_ambiguous_answer_makes_every_number_of_the_group_unknown(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None, malformed=1.0)  # accepted, but the answer breaks off
    make_run(journal, "run-g-0001", [(p, TEXT) for p in cn_numbers(8)])
    result = run_dispatch(handle, journal, "run-g-0001", DispatchSettings(tps=None, group=10))
    assert result.counts == {"unknown": 8}
    assert result.requests == 1
    again = run_dispatch(handle, journal, "run-g-0001", DispatchSettings(tps=None, group=10))
    assert again.requests == 0  # unknown is never sent again by itself
    assert len(handle.sandbox.accepted) == 8
    assert accepted_twice(handle) == []


def test_a_rejection_applies_to_every_number_of_the_group(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None, forbidden=("sale",))
    make_run(journal, "run-g-0001", [(p, TEXT) for p in cn_numbers(7)])
    result = run_dispatch(handle, journal, "run-g-0001", DispatchSettings(tps=None, group=10))
    assert result.counts == {"failed": 7}
    assert result.requests == 1
    assert {(r.code, r.status) for r in journal.report_rows("run-g-0001")} == {("4", Status.FAILED)}


def test_a_number_at_its_hourly_cap_leaves_the_group_and_waits(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None)
    phones = cn_numbers(6)
    earlier = new_run(journal, "run-earlier-01", msg(2, phones[0], "a"), msg(3, phones[0], "b"))
    send(journal, earlier, at=time.time() - 60)  # two this hour, from another run
    make_run(journal, "run-g-0001", [(p, TEXT) for p in phones])
    settings = DispatchSettings(tps=None, group=10, hourly_cap=2)
    result = run_dispatch(handle, journal, "run-g-0001", settings)
    assert result.counts == {"sent": 5, "capped": 1}
    assert result.requests == 1
    assert {a.phone for a in handle.sandbox.accepted} == set(phones[1:])
    capped = [r for r in journal.report_rows("run-g-0001") if r.status is Status.CAPPED]
    assert [r.phone for r in capped] == [phones[0]]


def test_a_27_for_the_group_sends_each_alone_so_only_the_capped_number_waits(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=1)
    phones = cn_numbers(5)
    make_run(journal, "run-other-01", [(phones[2], "elsewhere")])
    run_dispatch(handle, journal, "run-other-01", DispatchSettings(tps=None, hourly_cap=None))
    make_run(journal, "run-g-0001", [(p, TEXT) for p in phones])
    settings = DispatchSettings(tps=None, group=10, hourly_cap=None)  # our own cap is off
    result = run_dispatch(handle, journal, "run-g-0001", settings)
    assert handle.sandbox.answers["27"] == 2  # the group, then the one number alone
    assert result.counts == {"sent": 4, "capped": 1}
    sent = {a.phone for a in handle.sandbox.accepted if a.content == TEXT}
    assert sent == set(phones) - {phones[2]}
    assert accepted_twice(handle) == []


def test_a_verification_code_app_gets_groups_of_five_after_its_104(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None, verification_app=True)
    make_run(journal, "run-g-0001", [(p, TEXT) for p in cn_numbers(12)])
    result = run_dispatch(handle, journal, "run-g-0001", DispatchSettings(tps=None, group=20))
    assert result.counts == {"sent": 12}
    assert handle.sandbox.answers["104"] == 1
    assert sorted(requests_to(handle).values()) == [2, 5, 5]
    assert accepted_twice(handle) == []


def test_a_28_for_the_group_sends_every_number_again_once(
    make_sandbox: SandboxMaker, journal: Journal
) -> None:
    handle = make_sandbox(hourly_cap=None, tps_limit=2)
    make_run(journal, "run-g-0001", [(p, TEXT) for p in cn_numbers(40)])
    result = run_dispatch(
        handle, journal, "run-g-0001", DispatchSettings(tps=None, group=5, concurrency=8)
    )
    assert result.counts == {"sent": 40}
    assert handle.sandbox.answers["28"] > 0
    assert result.throttled == handle.sandbox.answers["28"]  # once per request, not per number
    assert len(handle.sandbox.accepted) == 40
    assert accepted_twice(handle) == []


# --- the command line ----------------------------------------------------------------------------


def test_send_group_lands_every_numbers_receipt_on_its_row(
    tmp_path: Path, sandboxes: list[SandboxHandle]
) -> None:
    phones = cn_numbers(250)
    path = write_csv(tmp_path / "blast.csv", ["phone", "content"], [[p, TEXT] for p in phones])
    out = tmp_path / "reports"
    args = ["send", str(path), "--sandbox", "--yes", "--json", "--tps", "10", "--group", "100"]
    result = run_cli([*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert last_json(result)["counts"] == {"delivered": 250}
    [handle] = sandboxes
    assert sorted(requests_to(handle).values()) == [50, 100, 100]
    by_phone = {a.phone: a.messageid for a in handle.sandbox.accepted}
    rows = read_results(Path(last_json(result)["report"]))
    assert {r["sms_phone"]: r["sms_messageid"] for r in rows} == by_phone
    assert {r["sms_dr_status"] for r in rows} == {"DELIVRD"}


@pytest.mark.slow
def test_kill_9_mid_grouped_run_then_resume_sends_no_number_twice(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(latency=0.05, hourly_cap=None)
    count = 2000
    rows = [[p, TEXT] for p in cn_numbers(count)]
    path = write_csv(tmp_path / "blast.csv", ["phone", "content"], rows)
    out = tmp_path / "reports"
    common = ["--base-url", handle.url, "--json", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "batch_sms", "send", str(path), "--yes", "--tps", "10",
         "--group", "20", *common],
        env={**os.environ, **env_for(handle)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(handle.sandbox.accepted) < 200:  # 10 requests in: well before the end
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    while sum(handle.sandbox.answers.values()) < len(handle.sandbox.arrivals):
        time.sleep(0.01)  # the provider finishes what reached it (resume --settle covers it)
    before = len(handle.sandbox.accepted)
    assert 200 <= before < count
    listed = last_json(run_cli(["runs", "--json", "--out", str(out)]))
    run_id = listed["runs"][0]["run_id"]
    resumed = run_cli(
        ["resume", run_id, "--settle", "0", "--tps", "unlimited", *common], env=env_for(handle)
    )
    assert resumed.exit_code == 0, resumed.output
    assert last_json(resumed)["counts"] == {"sent": count}
    assert sorted(Counter(a.phone for a in handle.sandbox.accepted).values()) == [1] * count


# --- settings, plan and the Python API ----------------------------------------------------------


def test_a_verification_code_app_refuses_groups_above_five() -> None:
    with pytest.raises(ConfigError, match="at most 5 numbers per request") as caught:
        load_settings({"group": 6, "verification_app": True})
    assert "--group 5 or less" in str(caught.value.hint)
    assert load_settings({"group": 5, "verification_app": True}).group == 5
    with pytest.raises(ConfigError, match="group must be at least 1"):
        load_settings({"group": 0})


def test_the_config_file_sets_the_group(tmp_path: Path) -> None:
    path = tmp_path / "batch-sms.toml"
    path.write_text("group = 100\n", encoding="utf-8")
    assert load_settings({}, config=path).group == 100
    assert load_settings({"group": 10}, config=path).group == 10  # the option wins


def test_the_plan_counts_requests_not_messages_when_grouped() -> None:
    ready = [msg(n, f"86138{n:08d}", "A" if n < 250 else "B") for n in range(260)]
    assert requests_needed(ready, 1) == 260
    assert requests_needed(ready, 100) == 3 + 1  # 250 of text A, 10 of text B


def test_the_python_api_takes_group(sandboxes: list[SandboxHandle]) -> None:
    frame = pd.DataFrame({"phone": cn_numbers(30), "content": [TEXT] * 30})
    sent = batch_sms.send(frame, sandbox=True, group=10, tps=None)
    assert sent.counts == {"delivered": 30}
    [handle] = sandboxes
    assert sorted(requests_to(handle).values()) == [10, 10, 10]


def test_resume_takes_group_over_the_runs_own(tmp_path: Path, make_sandbox: SandboxMaker) -> None:
    handle = make_sandbox(hourly_cap=None, deactivated=True)  # 102 stops the run: resumable
    path = write_csv(tmp_path / "b.csv", ["phone", "content"], [[p, TEXT] for p in cn_numbers(40)])
    common = ["--base-url", handle.url, "--json", "--out", str(tmp_path / "out")]
    stopped = run_cli(["send", str(path), "--yes", "--tps", "unlimited", *common], env_for(handle))
    assert stopped.exit_code == 3, stopped.output
    handle.sandbox.config.deactivated = False
    run_id = last_json(stopped)["run_id"]
    resumed = run_cli(["resume", run_id, "--group", "20", *common], env=env_for(handle))
    assert last_json(resumed)["counts"] == {"sent": 40}
    assert sorted(requests_to(handle).values()) == [20, 20]


def test_the_plan_shows_the_requests_a_grouped_send_takes(tmp_path: Path) -> None:
    rows = [[p, TEXT] for p in cn_numbers(450)]
    path = write_csv(tmp_path / "blast.csv", ["phone", "content"], rows)
    args = ["send", str(path), "--sandbox", "--dry-run", "--tps", "1", "--group", "100"]
    result = run_cli([*args, "--out", str(tmp_path / "out")])
    plan = " ".join(result.output.split())
    assert "messages to send │ 450 │ │ in requests │ 5 │" in plan
    assert "estimated duration │ 0m 05s" in plan  # 5 requests at 1 a second


def test_plan_groups_splits_by_text_size_and_repeated_numbers() -> None:
    pairs = [("1", "A"), ("2", "A"), ("3", "B"), ("1", "A"), ("4", "A"), ("5", "A")]
    assert plan_groups(pairs, 2) == [
        ("A", ["1", "2"]), ("A", ["1", "4"]), ("A", ["5"]), ("B", ["3"]),
    ]  # fmt: skip


def test_a_grouped_dry_run_builds_the_grouped_requests(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", ["phone", "content"], [[p, TEXT] for p in cn_numbers(450)])
    result = run_cli(["send", str(path), "--sandbox", "--dry-run", "--group", "100", "--json"])
    assert last_json(result)["next"][0].startswith("5 requests were built")


def test_resume_settles_a_grouped_unknown_from_the_records_and_sends_none_again(
    tmp_path: Path, make_sandbox: SandboxMaker
) -> None:
    handle = make_sandbox(hourly_cap=None, malformed=1.0)  # accepted, the answer breaks off
    rows = [[p, TEXT] for p in cn_numbers(8)]
    path = write_csv(tmp_path / "b.csv", ["phone", "content"], rows)
    common = ["--base-url", handle.url, "--json", "--out", str(tmp_path / "out")]
    sent = run_cli(["send", str(path), "--yes", "--group", "10", *common], env=env_for(handle))
    assert last_json(sent)["counts"] == {"unknown": 8}
    handle.sandbox.config.malformed = 0.0
    run_id = last_json(sent)["run_id"]
    resumed = run_cli(["resume", run_id, "--settle", "0", *common], env=env_for(handle))
    assert last_json(resumed)["counts"] == {"sent": 8}  # found in the day records
    assert len(handle.sandbox.accepted) == 8
    assert accepted_twice(handle) == []
    rows_now = read_results(Path(last_json(resumed)["report"]))
    by_phone = {a.phone: a.messageid for a in handle.sandbox.accepted}
    assert {r["sms_phone"]: r["sms_messageid"] for r in rows_now} == by_phone
