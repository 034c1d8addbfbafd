"""Runs in the journal: create, read, list, change state, and follow retry families."""

# ruff: noqa: S608  (queries interpolate only constant column lists and "?" placeholders)

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping

from batch_sms.errors import RUNS_HINT, StateError
from batch_sms.journal.connection import Connection, marks
from batch_sms.journal.records import RUN_STATES, RunInfo

_SECRET_WORDS = (
    "secret",
    "password",
    "passwd",
    "token",
    "accesskey",
    "appkey",
    "apikey",
    "credential",
)
_RUN_COLUMNS = (
    "id, created_at, parent, input_name, input_copy, input_sha256, input_format, sheet, "
    "settings, state, stop_reason, started_at, finished_at"
)
_READ_COLUMNS = f"{_RUN_COLUMNS}, canary"


def _check_settings(value: object, where: str = "settings") -> None:
    """Refuse settings that name a secret: the state db must never hold one."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            name = re.sub(r"[^a-z]", "", str(key).lower())
            if any(word in name for word in _SECRET_WORDS):
                raise ValueError(f"{where}[{key!r}] looks like a secret; never store secrets")
            _check_settings(inner, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for inner in value:
            _check_settings(inner, where)


def _run_info(row: sqlite3.Row) -> RunInfo:
    """Build a RunInfo from a runs row."""
    return RunInfo(
        id=row["id"],
        created_at=row["created_at"],
        parent=row["parent"],
        input_name=row["input_name"],
        input_copy=row["input_copy"],
        input_sha256=row["input_sha256"],
        input_format=row["input_format"],
        sheet=row["sheet"],
        settings=json.loads(row["settings"]),
        state=row["state"],
        stop_reason=row["stop_reason"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        canary=row["canary"],
    )


class RunsMixin(Connection):
    """The Journal's runs table."""

    def create_run(self, run: RunInfo) -> None:
        """Store a new run; ValueError if its settings hold anything that looks like a secret."""
        _check_settings(run.settings)
        if run.state not in RUN_STATES:
            raise ValueError(f"unknown run state {run.state!r}")
        settings = json.dumps(run.settings, sort_keys=True)
        try:
            with self._tx() as db:
                db.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({marks(13)})",
                    (
                        *(run.id, run.created_at, run.parent, run.input_name, run.input_copy),
                        *(run.input_sha256, run.input_format, run.sheet, settings, run.state),
                        *(run.stop_reason, run.started_at, run.finished_at),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            if (
                run.parent is not None
                and self._db.execute("SELECT 1 FROM runs WHERE id = ?", (run.parent,)).fetchone()
                is None
            ):
                raise StateError(f"unknown parent run {run.parent!r} in {self.path}") from exc
            raise StateError(f"run {run.id!r} already exists in {self.path}") from exc

    def has_run(self, run_id: str) -> bool:
        """True when the db holds the run."""
        return self._db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def get_run(self, run_id: str) -> RunInfo:
        """Return one run; StateError if the db has no such run."""
        row = self._db.execute(
            f"SELECT {_READ_COLUMNS} FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise StateError(f"unknown run {run_id!r} in {self.path}", hint=RUNS_HINT)
        return _run_info(row)

    def list_runs(self) -> list[tuple[RunInfo, dict[str, int]]]:
        """Every run, newest first, with its message counts by status."""
        counts: dict[int, dict[str, int]] = {}
        for key, status, n in self._db.execute(
            "SELECT run, status, COUNT(*) FROM messages GROUP BY run, status"
        ):
            counts.setdefault(key, {})[status] = n
        rows = self._db.execute(
            f"SELECT key, {_READ_COLUMNS} FROM runs ORDER BY created_at DESC, key DESC"
        )
        return [(_run_info(row), counts.get(row["key"], {})) for row in rows]

    def runs_with_input(self, input_sha256: str) -> list[RunInfo]:
        """Runs whose input file had this hash, oldest first (retries share their parent's)."""
        rows = self._db.execute(
            f"SELECT key, {_READ_COLUMNS} FROM runs WHERE input_sha256 = ? "
            "ORDER BY created_at, key",
            (input_sha256,),
        )
        return [_run_info(row) for row in rows]

    def set_run_state(
        self,
        run_id: str,
        state: str,
        *,
        stop_reason: str = "",
        started_at: float | None = None,
        finished_at: float | None = None,
    ) -> None:
        """Set a run's state and stop reason; times given as None keep their stored value."""
        if state not in RUN_STATES:
            raise ValueError(f"unknown run state {state!r}")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET state = ?, stop_reason = ?, "
                "started_at = COALESCE(?, started_at), finished_at = COALESCE(?, finished_at) "
                "WHERE id = ?",
                (state, stop_reason, started_at, finished_at, run_id),
            )
            if cur.rowcount == 0:
                raise StateError(f"unknown run {run_id!r} in {self.path}", hint=RUNS_HINT)

    def set_canary(self, run_id: str, outcome: str) -> None:
        """Record how a run's canary ended: passed, failed or skipped."""
        with self._tx() as db:
            cur = db.execute("UPDATE runs SET canary = ? WHERE id = ?", (outcome, run_id))
            if cur.rowcount == 0:
                raise StateError(f"unknown run {run_id!r} in {self.path}", hint=RUNS_HINT)

    def family(self, run_id: str) -> list[str]:
        """The root of a run's retry chain and all its descendants, oldest first."""
        self._run_key(run_id)
        rows = self._db.execute(
            """WITH RECURSIVE
                 up(id, parent) AS (
                   SELECT id, parent FROM runs WHERE id = ?
                   UNION SELECT r.id, r.parent FROM runs r JOIN up ON r.id = up.parent),
                 down(id) AS (
                   SELECT id FROM up WHERE parent IS NULL
                   UNION SELECT r.id FROM runs r JOIN down ON r.parent = down.id)
               SELECT runs.id FROM down JOIN runs USING (id) ORDER BY runs.created_at, runs.key""",
            (run_id,),
        )
        return [row[0] for row in rows]
