"""State dbs that earlier versions kept in the output folder: copied once, or pointed to."""

from __future__ import annotations

from pathlib import Path

from helpers import msg, new_run

from batch_sms.journal import Journal, adopt_legacy


def make_db(path: Path, *run_ids: str) -> Path:
    """A state db holding these runs, one message each."""
    with Journal(path) as journal:
        for run_id in run_ids:
            new_run(journal, run_id, msg(2, "8613800138000"))
    return path


def test_an_old_db_is_copied_where_the_new_one_is_missing(tmp_path: Path) -> None:
    old = make_db(tmp_path / "reports" / "batch-sms.sqlite3", "r1", "r2")
    new = tmp_path / "user" / "batch-sms.sqlite3"
    note = adopt_legacy(old, new)
    assert note.startswith(f"note: the state db is now one per user: copied the runs of {old}")
    with Journal(new) as journal:
        assert sorted(run.id for run, _ in journal.list_runs()) == ["r1", "r2"]
        assert journal.counts("r1") == {"pending": 1}
    assert old.is_file()  # left where it was, for the user to delete
    assert [p.name for p in new.parent.iterdir() if p.name.endswith(".adopting")] == []


def test_runs_only_the_old_db_holds_are_pointed_to_never_merged(tmp_path: Path) -> None:
    old = make_db(tmp_path / "old.sqlite3", "r1", "r2")
    new = make_db(tmp_path / "new.sqlite3", "r1")
    note = adopt_legacy(old, new)
    assert f"{old} (an older state db) holds 1 run(s)" in note
    assert f"--state {old}" in note
    with Journal(new) as journal:
        assert [run.id for run, _ in journal.list_runs()] == ["r1"]


def test_nothing_to_say_when_nothing_is_missing_or_there_is_no_old_db(tmp_path: Path) -> None:
    new = make_db(tmp_path / "new.sqlite3", "r1")
    assert adopt_legacy(make_db(tmp_path / "old.sqlite3", "r1"), new) == ""
    assert adopt_legacy(tmp_path / "nosuch.sqlite3", new) == ""
    assert adopt_legacy(new, new) == ""  # the same file under both names


def test_an_unreadable_old_db_is_named_and_not_used(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    old.write_bytes(b"not a database at all" * 100)
    new = make_db(tmp_path / "new.sqlite3", "r1")
    assert (
        adopt_legacy(old, new)
        == f"note: {old} is an older state db that cannot be read; it is not used"
    )
