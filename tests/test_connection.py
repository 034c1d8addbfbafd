"""Opening the state db: the schema made and migrated in order, newer or broken dbs refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import msg, new_run, run_info

from batch_sms.errors import StateError
from batch_sms.journal import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Journal,
)


def test_creates_schema_and_reopens(db_path: Path) -> None:
    with Journal(db_path) as j:
        new_run(j, "r1", msg(2, "8613800000001"))
        assert j.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    with Journal(db_path) as j:
        assert j.get_run("r1") == run_info("r1")
        assert j.counts("r1") == {"pending": 1}
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_refuses_newer_schema(db_path: Path) -> None:
    newer = [*MIGRATIONS, ["CREATE TABLE later (x INTEGER)"]]
    Journal(db_path, migrations=newer).close()
    with pytest.raises(StateError) as info:
        Journal(db_path)
    assert str(db_path) in info.value.message
    assert f"schema version {SCHEMA_VERSION + 1}" in info.value.message
    assert "upgrade batch-sms" in info.value.hint


def test_applies_pending_migrations_in_order(db_path: Path) -> None:
    Journal(db_path).close()
    extra = [
        ["CREATE TABLE applied (version INTEGER)", "INSERT INTO applied VALUES (1)"],
        ["INSERT INTO applied VALUES (2)"],
        ["INSERT INTO applied VALUES (3)"],
    ]
    with Journal(db_path, migrations=[*MIGRATIONS, *extra]) as j:
        assert j.schema_version == SCHEMA_VERSION + 3
    with Journal(db_path, migrations=[*MIGRATIONS, *extra]):
        pass  # nothing pending: nothing applied twice
    with sqlite3.connect(db_path) as raw:
        assert [v for (v,) in raw.execute("SELECT version FROM applied ORDER BY rowid")] == [
            1,
            2,
            3,
        ]


def test_failed_migration_leaves_the_db_at_its_version(db_path: Path) -> None:
    Journal(db_path).close()
    broken = [*MIGRATIONS, ["CREATE TABLE half (x)", "THIS IS NOT SQL"]]
    with pytest.raises(StateError, match="cannot use the state db"):
        Journal(db_path, migrations=broken)
    with Journal(db_path) as j:
        assert j.schema_version == SCHEMA_VERSION
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("this is not sqlite, just text that is long enough to have a header\n" * 20)
    with pytest.raises(StateError, match=r"notes\.db: cannot use the state db"):
        Journal(path)


def test_checkpoints_the_wal_every_ten_thousand_pages(db_path: Path) -> None:
    with Journal(db_path) as journal:
        assert journal._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
        assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
