"""What every run shares: its exit code, its id, its copy of the input, and its lock."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from helpers import msg, new_run, run_info

from batch_sms.commands.runner import (
    copy_input,
    exit_code,
    file_hash,
    new_run_id,
    run_lock,
    run_rows,
)
from batch_sms.config import Settings
from batch_sms.errors import StateError
from batch_sms.input import loader
from batch_sms.journal import Journal
from batch_sms.models import Status


@pytest.mark.parametrize(
    ("state", "counts", "code"),
    [
        ("finished", {"sent": 3, "delivered": 1, "invalid": 1, "duplicate": 1}, 0),
        ("finished", {"undelivered": 2, "suppressed": 1}, 0),  # the provider accepted them
        ("finished", {"sent": 1, "failed": 1}, 1),
        ("finished", {"sent": 1, "capped": 1}, 1),
        ("finished", {"unknown": 1}, 1),
        ("stopped", {"sent": 1, "pending": 1}, 3),
        ("interrupted", {"sent": 1, "pending": 1}, 130),
    ],
)
def test_the_exit_code_says_whether_every_sendable_row_was_accepted(
    state: str, counts: dict[str, int], code: int
) -> None:
    assert exit_code(state, counts) == code


def test_run_ids_sort_by_time_and_fit_a_sys_message_id() -> None:
    first, later = new_run_id(0.0), new_run_id(86_400.0)
    assert first.startswith("19700101-000000-")
    assert re.fullmatch(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{4}", later)
    assert first < later


def test_the_run_keeps_an_exact_copy_of_its_input(tmp_path: Path) -> None:
    source = tmp_path / "My List.CSV"
    source.write_bytes("phone,content\r\n8613800138000,Grüße\r\n".encode("cp1252"))
    copy = copy_input(source, tmp_path / "reports" / "r1")
    assert copy == (tmp_path / "reports" / "r1" / "input.csv").resolve()
    assert copy.read_bytes() == source.read_bytes()
    assert file_hash(copy) == hashlib.sha256(source.read_bytes()).hexdigest()


def test_a_run_is_held_by_one_sender_at_a_time(tmp_path: Path) -> None:
    run, state = run_info("r1"), tmp_path / "state.db"
    refused = pytest.raises(StateError, match="run r1 is being sent right now by batch-sms process")
    with run_lock(run, state), refused, run_lock(run, state):
        pass  # not reached: the second lock is refused
    with run_lock(run, state):  # released: a resume may take it
        pass


def test_a_runs_report_reads_its_input_copy_one_row_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the run's input copy is reports/r1/input.csv
    (tmp_path / "reports" / "r1").mkdir(parents=True)
    copy = tmp_path / "reports" / "r1" / "input.csv"
    copy.write_text("phone,content\n8613800138000,Hi\n8613800138001,Yo\n")
    journal = Journal(tmp_path / "state.db")
    new_run(journal, "r1", msg(2, "8613800138000", "Hi"), msg(3, "8613800138001", "Yo"))

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report must not load the whole input into memory")

    monkeypatch.setattr(loader, "load", whole)
    columns, rows = run_rows(journal, journal.get_run("r1"), Settings())
    assert columns == ("phone", "content")
    assert [(r.number, r.cells, r.status) for r in rows] == [
        (2, ("8613800138000", "Hi"), Status.PENDING), (3, ("8613800138001", "Yo"), Status.PENDING),
    ]  # fmt: skip
    journal.close()
