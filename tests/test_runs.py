"""The runs table: creating, reading, listing and finishing runs, and a run's family."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import msg, new_run, run_info, send

from batch_sms.errors import StateError
from batch_sms.journal import (
    Journal,
)
from batch_sms.models import Status


@pytest.mark.parametrize(
    "settings",
    [
        {"access_key": "x"},
        {"ACCESS_SECRET": "x"},
        {"app-key": "x"},
        {"appKey": "x"},
        {"secret": "x"},
        {"password": "x"},
        {"dr": {"token": "x"}},
        {"accounts": [{"api_key": "x"}]},
    ],
)
def test_create_run_refuses_secret_settings(journal: Journal, settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="secret"):
        journal.create_run(run_info("r1", settings=settings))
    assert journal.list_runs() == []


def test_run_lifecycle(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    with pytest.raises(StateError, match="already exists"):
        journal.create_run(run_info("r1"))
    journal.set_run_state("r1", "running", started_at=10.0)
    journal.set_run_state("r1", "stopped", stop_reason="balance")
    run = journal.get_run("r1")
    assert (run.state, run.stop_reason, run.started_at, run.finished_at) == (
        "stopped", "balance", 10.0, None,
    )  # fmt: skip
    journal.set_run_state("r1", "finished", finished_at=20.0)
    run = journal.get_run("r1")
    assert (run.state, run.stop_reason, run.started_at, run.finished_at) == (
        "finished", "", 10.0, 20.0,
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown run state"):
        journal.set_run_state("r1", "exploded")


def test_unknown_run(journal: Journal) -> None:
    with pytest.raises(StateError) as info:
        journal.get_run("nope")
    assert info.value.hint.startswith("batch-sms runs lists them")
    for call in (
        lambda: journal.set_run_state("nope", "running"),
        lambda: journal.add_messages("nope", [msg(2, "1")]),
        lambda: journal.counts("nope"),
        lambda: journal.report_rows("nope"),
    ):
        with pytest.raises(StateError, match="unknown run 'nope'"):
            call()
    with pytest.raises(StateError, match="unknown parent run"):
        journal.create_run(run_info("r2", parent="nope"))


def test_list_runs_newest_first_with_counts(journal: Journal) -> None:
    new_run(journal, "old", msg(2, "1"), msg(3, "2", status=Status.INVALID), created_at=1.0)
    ids = new_run(journal, "new", msg(2, "1"), msg(3, "2"), msg(4, "3"), created_at=2.0)
    journal.create_run(run_info("empty", created_at=1.5))
    send(journal, ids[:2], at=5.0)
    listed = journal.list_runs()
    assert [run.id for run, _ in listed] == ["new", "empty", "old"]
    assert [counts for _, counts in listed] == [
        {"sent": 2, "pending": 1},
        {},
        {"pending": 1, "invalid": 1},
    ]


def test_family(journal: Journal) -> None:
    journal.create_run(run_info("a", 1.0))
    journal.create_run(run_info("b", 2.0, parent="a"))
    journal.create_run(run_info("c", 3.0, parent="b"))
    journal.create_run(run_info("d", 4.0, parent="a"))
    journal.create_run(run_info("x", 5.0))
    for member in "abcd":
        assert journal.family(member) == ["a", "b", "c", "d"]
    assert journal.family("x") == ["x"]


def test_a_runs_canary_outcome_is_kept(journal: Journal) -> None:
    journal.create_run(run_info("r1"))
    assert journal.get_run("r1").canary == ""
    journal.set_canary("r1", "failed")
    assert journal.get_run("r1").canary == "failed"
    assert [run.canary for run, _ in journal.list_runs()] == ["failed"]
    with pytest.raises(StateError):
        journal.set_canary("nope", "passed")
