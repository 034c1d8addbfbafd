"""Settling unknown messages against the provider's records: the rules, then through `resume`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import (
    accepted_counts,
    cn_numbers,
    env_for,
    last_json,
    read_results,
    run_cli,
    write_csv,
)

from batch_sms.provider.reconcile import (
    ProviderRecord,
    Unresolved,
    days_to_ask,
    parse_records,
    reconcile,
)
from batch_sms.sandbox.server import SandboxHandle

NOW = 1_764_000_000.0  # 2025-11-24 16:00 UTC
DATA = Path(__file__).resolve().parent / "data"


def unknown(id_: int, phone: str, at: float = NOW - 600) -> Unresolved:
    return Unresolved(id_, phone, at, 1)


def record(messageid: str, phone: str) -> ProviderRecord:
    return ProviderRecord(messageid, phone, "2025-11-24 15:50:00")


@pytest.mark.parametrize(
    ("messages", "records", "claimed", "arrived", "never", "undecided"),
    [
        pytest.param(
            [unknown(1, "861")],
            [record("m1", "861")],
            set(),
            [1],
            [],
            [],
            id="unclaimed record proves arrival",
        ),
        pytest.param(
            [unknown(1, "861")],
            [record("m1", "861")],
            {"m1"},
            [],
            [1],
            [],
            id="a claimed record is another message's",
        ),
        pytest.param(
            [unknown(1, "861")],
            [],
            set(),
            [],
            [1],
            [],
            id="no record after the settle time: never arrived",
        ),
        pytest.param([unknown(1, "861", NOW - 5)], [], set(), [], [], [1], id="too soon to tell"),
        pytest.param(
            [unknown(1, "861")],
            [record("m1", "861"), record("m2", "861")],
            set(),
            [],
            [],
            [1],
            id="more records than messages: ambiguous",
        ),
        pytest.param(
            [unknown(1, "861"), unknown(2, "861", NOW - 500)],
            [record("m1", "861"), record("m2", "861")],
            set(),
            [1, 2],
            [],
            [],
            id="as many records as messages for the number",
        ),
        pytest.param(
            [unknown(1, "861")],
            [record("m9-0000000001", "861")],
            {"m9"},
            [],
            [1],
            [],
            id="a multi-number send's record is claimed by its base id",
        ),
        pytest.param(
            [unknown(1, "861")],
            [record("m9-a1", "861")],
            {"m9"},
            [1],
            [],
            [],
            # Only "-" and 10 digits mark a multi-number send (API §3): "m9-a1" is an id of its
            # own, so a known "m9" does not claim it (taking it for m9's would resend the text).
            id="a '-' that is no multi-number suffix keeps the id whole",
        ),
        pytest.param(
            [unknown(1, "861"), unknown(2, "862")],
            [record("m1", "862")],
            set(),
            [2],
            [1],
            [],
            id="numbers are settled independently",
        ),
    ],
)
def test_reconcile_rules(
    messages: list[Unresolved],
    records: list[ProviderRecord],
    claimed: set[str],
    arrived: list[int],
    never: list[int],
    undecided: list[int],
) -> None:
    verdict = reconcile(messages, records, claimed, now=NOW, settle=120)
    assert [m.id for m, _ in verdict.arrived] == arrived
    assert [m.id for m in verdict.never] == never
    assert [m.id for m in verdict.undecided] == undecided


def test_a_record_for_a_number_another_run_also_awaits_proves_nothing() -> None:
    """Run A and run B both have an unknown message to one number; one record exists. It may be
    either's: crediting it to B would lose B's text and then resend A's."""
    verdict = reconcile([unknown(1, "861")], [record("m1", "861")], set(), now=NOW, settle=120,
                        elsewhere={"861": 1})  # fmt: skip
    assert [m.id for m in verdict.undecided] == [1]
    none = reconcile([unknown(1, "861")], [], set(), now=NOW, settle=120, elsewhere={"861": 1})
    assert [m.id for m in none.never] == [1]  # no record at all: neither arrived


def test_undecided_messages_say_why_and_whether_a_later_resume_can_decide() -> None:
    soon = reconcile([unknown(1, "861", NOW - 5)], [], set(), now=NOW, settle=120)
    why, later = soon.why[1]
    assert later
    assert "from 2025-11-24 16:01:55 UTC a missing record proves it never arrived" in why
    more = reconcile([unknown(1, "861")], [record("m1", "861"), record("m2", "861")], set(),
                     now=NOW, settle=120)  # fmt: skip
    assert more.why[1] == (
        "the provider's records hold 2 unclaimed messages to this number for 1 unknown here, "
        "so they can't be matched one to one",
        False,  # more records than messages never match, however long one waits
    )
    fewer = reconcile([unknown(1, "861"), unknown(2, "861")], [record("m1", "861")], set(),
                      now=NOW, settle=120)  # fmt: skip
    assert [fewer.why[i][1] for i in (1, 2)] == [True, True]  # the other record may yet show
    shared = reconcile([unknown(1, "861")], [record("m1", "861")], set(), now=NOW, settle=120,
                       elsewhere={"861": 1})  # fmt: skip
    assert shared.why[1][1]
    assert "settle that run first" in shared.why[1][0]


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


def test_days_to_ask_cover_neighbours_but_not_the_future() -> None:
    at = datetime(2025, 11, 24, 23, 59, tzinfo=UTC).timestamp()
    assert days_to_ask([unknown(1, "1", at)], now=at) == ["20251123", "20251124"]
    assert days_to_ask([unknown(1, "1", at)], now=at + 3600) == ["20251123", "20251124", "20251125"]


def test_parse_records_skips_rows_without_id_or_phone() -> None:
    rows = [{"msgid": "a", "phone": "1", "date": "d"}, {"msgid": "", "phone": "2"}, {"x": 1}]
    assert parse_records(rows) == [ProviderRecord("a", "1", "d")]


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
