"""The Python API: validate and send a campaign given as a file or a pandas DataFrame, and read
any run's results as a DataFrame.

    import batch_sms, pandas as pd
    frame = pd.DataFrame({"phone": [8613800138000], "content": ["Hello"]})
    batch_sms.validate(frame).rows()            # the Results sheet: input columns, then sms_*
    sent = batch_sms.send(frame, sandbox=True)
    batch_sms.results(sent.run_id, sandbox=True)

The options are the command line's, as keyword arguments with `_` for `-` (`phone_column`,
`template`, `default_region`, `tps`, `out`, `state`, `config`, `sandbox`, …). The functions call
the use cases the commands call, so a run sent from Python resumes, retries and reports from
the shell (`batch-sms resume RUN_ID`), and the other way round. Errors are BatchSmsError
subclasses (batch_sms.errors), never SystemExit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import pandas as pd

from batch_sms.checks.preflight import Plan, Preflight
from batch_sms.commands import campaign
from batch_sms.commands.outcome import RunOutcome
from batch_sms.config import Settings, load_settings
from batch_sms.dispatch import Progress
from batch_sms.errors import UsageError
from batch_sms.input import frame
from batch_sms.input.loader import Table
from batch_sms.models import RESULT_COLUMNS, parse_duration
from batch_sms.provider.lookup import RECEIPT_GRACE
from batch_sms.report import workbook
from batch_sms.report.workbook import ResultRow

__all__ = ["Progress", "Result", "Source", "results", "send", "validate"]

T = TypeVar("T")
Source: TypeAlias = "str | os.PathLike[str] | pd.DataFrame"

# The keyword options: the settings a command line gives, plus `config` (the file) and
# `input_name` (what a DataFrame is called in the report and in `batch-sms runs`).
_NOT_OPTIONS = {"input", "credentials", "prices", "config_file", "yes", "dry_run", "wait"}
VALIDATE_OPTIONS = frozenset(
    {f.name for f in fields(Settings)} - _NOT_OPTIONS | {"config", "input_name"}
)
SEND_OPTIONS = VALIDATE_OPTIONS | {"dry_run", "progress", "wait"}
_FILE_ONLY = frozenset({"sheet", "encoding", "header_row"})  # how a file is read
_NUMBER_COLUMNS = {"sms_segments": "Int64", "sms_attempts": "Int64", "sms_price": "Float64"}
_DATAFRAME = "DataFrame"
_POLL = 0.25  # seconds between the checks for Ctrl-C while a notebook waits for a send
log = logging.getLogger("batch_sms")


@dataclass(frozen=True)
class Result:
    """What `validate` or `send` did, as the command's `--json` line says it, plus its rows."""

    command: str  # "validate" or "send"
    run_id: str  # the run (for validate and dry runs: the report's folder)
    status: str  # validate: ready, not-ready; send: finished, stopped, interrupted, dry-run, …
    counts: dict[str, int]  # rows by sms_status
    report: Path | None  # report.xlsx
    exit_code: int  # the command line's exit code for the same outcome
    next_steps: list[str] = field(default_factory=list)  # e.g. the command that resumes it
    notes: list[str] = field(default_factory=list)  # what the command line would have printed
    plan: Plan | None = field(default=None, repr=False)  # what was checked, priced, planned
    _rows: Callable[[], pd.DataFrame] = field(default=pd.DataFrame, repr=False, compare=False)

    def rows(self) -> pd.DataFrame:
        """The Results sheet as a DataFrame: the input's columns (text, as read), then the sms_*
        columns; sms_segments and sms_attempts are nullable integers, sms_price (billed, from
        the receipts) a nullable float, empty cells are ""."""
        return self._rows()


def validate(source: Source, **options: Any) -> Result:
    """Check every row of `source` (a CSV/Excel path or a DataFrame) as `batch-sms validate`
    does and write its report; nothing is sent. Options: the command line's (see the module)."""
    notes: list[str] = []
    settings, table = _prepare(source, options, VALIDATE_OPTIONS, notes)
    return _result(campaign.validate(settings, table), settings, notes)


def send(source: Source, **options: Any) -> Result:
    """Check, plan and send `source` (a CSV/Excel path or a DataFrame) as `batch-sms send
    --yes` does, then write its report. It never asks: calling it is the confirmation.

    `progress` is called with a `Progress` (done, total, counts, rate, eta) as rows finish.
    Ctrl-C, or a KeyboardInterrupt raised by `progress`, stops it as on the command line: the
    requests in flight finish, the report is written, the result's status is "interrupted" and
    `batch-sms resume RUN_ID` continues it. Under a running event loop (Jupyter) the send runs
    in a thread with loops of its own. `sandbox=True` sends to the built-in simulator."""
    progress = options.pop("progress", None)
    notes: list[str] = []
    settings, table = _prepare(source, options, SEND_OPTIONS - {"progress"}, notes)
    driver = _Driver(progress, notes)
    outcome = _call(lambda: campaign.send(settings, driver, table), driver.interrupt)
    if outcome.status == "cancelled":  # Ctrl-C before the run was made: as on the command line
        raise KeyboardInterrupt("interrupted: nothing was sent and no run was made")
    return _result(outcome, settings, notes)


def results(
    run_id: str,
    state: str | os.PathLike[str] | None = None,
    sandbox: bool = False,
    *,
    out: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    receipt_grace: str | float | None = None,
) -> pd.DataFrame:
    """The Results sheet of an earlier run, as `batch-sms report RUN_ID` writes it now (with the
    receipts received since), as a DataFrame like `Result.rows()`. `sandbox`: a sandbox run.

    `refresh=True` is `report --refresh`: it first asks the provider's records about the sent
    messages whose receipt has not come after `receipt_grace` (seconds, or a text such as
    "30m"; default 30 minutes), and writes the report; what it found is logged."""
    if receipt_grace is not None and not refresh:
        raise UsageError("receipt_grace= applies with refresh=True only")
    notes: list[str] = []
    settings = _settings({"state": state, "sandbox": sandbox or None, "out": out}, config, notes)
    run_id = campaign.require_run(run_id)
    if refresh:
        grace = RECEIPT_GRACE if receipt_grace is None else receipt_grace
        if isinstance(grace, str):
            try:
                grace = parse_duration(grace)
            except ValueError as exc:
                raise UsageError(f"receipt_grace={grace!r}: {exc}", "give e.g. '30m'") from None
        campaign.rewrite_report(run_id, settings, _Driver(None, notes), refresh=float(grace))
    return _run_frame(run_id, settings)


class _Driver:
    """The use cases' Ui for Python callers: never asks, hands progress to the caller, keeps
    the notes; a KeyboardInterrupt stops the dispatch as the command line's first Ctrl-C."""

    def __init__(self, progress: Callable[[Progress], object] | None, notes: list[str]) -> None:
        self._progress = progress
        self.notes = notes
        self._lock = threading.Lock()
        self._stop: Callable[[], None] | None = None
        self._interrupted = False

    def confirm(self, plan: Plan) -> bool:
        """Go ahead, unless Ctrl-C came before the run was made."""
        return not self._interrupted

    def progress(self, update: Any) -> None:
        """Hand the update to the caller's callback; its KeyboardInterrupt stops the send."""
        if self._progress is None:
            return
        try:
            self._progress(update)
        except KeyboardInterrupt:
            self.interrupt()

    def note(self, text: str) -> None:
        """Keep the line for the result, and log it."""
        self.notes.append(text)
        log.info(text)

    def stop_with(self, stop: Callable[[], None]) -> None:
        """Keep what stops the dispatch; use it at once if Ctrl-C came before it started."""
        with self._lock:
            self._stop = stop
            pressed = self._interrupted
        if pressed:
            stop()

    def interrupt(self) -> None:
        """Ctrl-C: stop the dispatch if one runs, else keep a run from being made."""
        with self._lock:
            self._interrupted = True
            stop = self._stop
        if stop is not None:
            stop()


def _call(work: Callable[[], T], interrupt: Callable[[], None]) -> T:
    """Run `work` here, or, under a running event loop (a notebook), in a thread that runs loops
    of its own. Waiting for it there, a first KeyboardInterrupt calls `interrupt` and waits on;
    a second leaves at once (the thread finishes what is in flight and writes the report)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    done: Future[T] = Future()

    def run() -> None:
        try:
            done.set_result(work())
        except BaseException as exc:  # handed to the waiting caller
            done.set_exception(exc)

    thread = threading.Thread(target=run, name="batch-sms send")
    try:
        thread.start()  # Ctrl-C may come while this waits for the thread to start
        return _wait(done)
    except KeyboardInterrupt:
        if done.done():  # the work's own
            raise
        interrupt()
        return _wait(done)


def _wait(done: Future[T]) -> T:
    """The work's result; a Ctrl-C the system delivered to another thread is noticed too (the
    main thread checks for signals each time its wait times out)."""
    while True:
        try:
            return done.result(timeout=_POLL)
        except TimeoutError:
            continue


def _prepare(
    source: Source, options: Mapping[str, Any], allowed: frozenset[str], notes: list[str]
) -> tuple[Settings, Table | None]:
    """The settings of a call, and the table of a DataFrame source (None for a path)."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    values = dict(options)
    config = values.pop("config", None)
    name = values.pop("input_name", None)
    if isinstance(source, pd.DataFrame):
        misplaced = sorted(_FILE_ONLY & {k for k, v in values.items() if v is not None})
        if misplaced:
            raise UsageError(
                f"{misplaced[0]}= applies to files, not to a DataFrame", "leave it out"
            )
        values["input"] = name or _DATAFRAME
    elif isinstance(source, str | os.PathLike):
        if name is not None:
            raise TypeError("input_name names a DataFrame; a file is named by its path")
        values["input"] = source
    else:
        raise TypeError(f"source must be a path or a pandas DataFrame, not {type(source).__name__}")
    settings = _settings(values, config, notes)
    if isinstance(source, pd.DataFrame):
        return settings, frame.to_table(source, str(settings.input))
    return settings, None


def _settings(
    values: Mapping[str, Any], config: str | os.PathLike[str] | None, notes: list[str]
) -> Settings:
    """Merge the options into settings as the command line does (config file, environment)."""
    given = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in values.items()}
    settings = load_settings(given, config=None if config is None else Path(config))
    if note := campaign.adopt_old_state(settings):
        notes.append(note)
        log.info(note)
    return settings


def _result(outcome: RunOutcome, settings: Settings, notes: list[str]) -> Result:
    """The Result of a use case's outcome; its rows come from the pre-flight or the state db."""
    checked = outcome.checked
    if checked is not None:
        rows: Callable[[], pd.DataFrame] = lambda: _checked_frame(checked, settings)  # noqa: E731
    else:
        rows = lambda: _run_frame(outcome.run_id, settings)  # noqa: E731
    return Result(
        command=outcome.command,
        run_id=outcome.run_id,
        status=outcome.status,
        counts=dict(outcome.counts),
        report=outcome.report,
        exit_code=outcome.exit_code,
        next_steps=list(outcome.next_steps),
        notes=notes,
        plan=outcome.plan,
        _rows=rows,
    )


def _checked_frame(checked: Preflight, settings: Settings) -> pd.DataFrame:
    """The Results sheet a pre-flight report has (validate, dry run, nothing to send)."""
    rows = checked.input_rows(settings)
    return _frame(checked.table.columns, workbook.validation_rows(rows, checked.messages))


def _run_frame(run_id: str, settings: Settings) -> pd.DataFrame:
    """The Results sheet of a run in the state db."""
    with campaign.run_results(run_id, settings) as (columns, rows):
        return _frame(columns, rows)


def _frame(columns: Sequence[str], rows: Iterable[ResultRow]) -> pd.DataFrame:
    """Rows of the Results sheet, as the report writes them, in a DataFrame."""
    width = len(columns)
    data = [workbook.results_values(row, width) for row in rows]
    table = pd.DataFrame(data, columns=[*columns, *RESULT_COLUMNS], dtype=object)
    for name, kind in _NUMBER_COLUMNS.items():
        table[name] = table[name].astype(kind)
    return table
