"""State dbs of earlier versions, which kept them in the output folder (`<out>/*.sqlite3`).

The state db is now one per user. A db left in the output folder is copied to the new place
while that place has none yet, so no run, duplicate check or hourly cap loses its history; if
the new db exists already, runs only the old one holds are pointed to, never merged blindly.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

__all__ = ["adopt_legacy"]


def _run_ids(path: Path) -> set[str]:
    """The run ids a state db holds (none if it holds no runs table)."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        try:
            return {row[0] for row in db.execute("SELECT id FROM runs")}
        except sqlite3.OperationalError:
            return set()


def adopt_legacy(old: Path, new: Path) -> str:
    """Copy the old db to `new` when `new` doesn't exist yet; return a note for the user, or "".

    The copy is SQLite's online backup (a consistent snapshot, WAL included) into a temporary
    file moved into place, so a crash never leaves a half-copied db that would look empty.
    """
    if not old.is_file() or (new.exists() and old.resolve() == new.resolve()):
        return ""
    try:
        if not new.exists():
            new.parent.mkdir(parents=True, exist_ok=True)
            temp = new.with_name(f".{new.name}.adopting")
            with closing(sqlite3.connect(old)) as source, closing(sqlite3.connect(temp)) as target:
                source.backup(target)
            os.replace(temp, new)
            return (
                f"note: the state db is now one per user: copied the runs of {old} into {new}; "
                f"{old} is no longer used and may be deleted"
            )
        missing = _run_ids(old) - _run_ids(new)
    except sqlite3.DatabaseError:
        return f"note: {old} is an older state db that cannot be read; it is not used"
    if not missing:
        return ""
    return (
        f"note: {old} (an older state db) holds {len(missing)} run(s) that the state db {new} "
        f"does not, which this run's duplicate checks and hourly caps don't see; look at them "
        f"with --state {old}"
    )
