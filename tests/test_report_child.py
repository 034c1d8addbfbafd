"""report.child and ReportBeside: report.xlsx written by a forked child while this process writes
the CSV files.

The files must be the ones `write_report` writes; an error on either side must leave no partial
file and no child behind.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
from helpers import COLUMNS, rows_of, write

from batch_sms.models import Status
from batch_sms.report import child
from batch_sms.report.results import ResultRow
from batch_sms.report.summary import SummaryInfo
from batch_sms.report.workbook import ReportBeside, ReportFiles, write_report

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a child is forked on Linux only")

INFO = SummaryInfo(run_id="20261125-001500-a1b2", input_name="list.csv")
STATUSES = [Status.READY, Status.INVALID, Status.DUPLICATE, Status.READY, Status.FAILED]


def _rows() -> list[ResultRow]:
    return [
        ResultRow(i + 2, (f"+86138{i:08d}", "=2*3", f"00{i}"), s, error=f"e{i}" if i % 2 else "")
        for i, s in enumerate(STATUSES * 3)
    ]


def _recording(pids: Path, rows: list[ResultRow]) -> Callable[[], Iterator[ResultRow]]:
    """make_rows that notes which process made the rows."""

    def make() -> Iterator[ResultRow]:
        with pids.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        yield from rows

    return make


def _made_by(pids: Path) -> list[int]:
    return [int(line) for line in pids.read_text().split()] if pids.exists() else []


def _wait_for(pids: Path, count: int) -> None:
    """Until `count` processes have begun making rows."""
    while len(_made_by(pids)) < count:
        os.sched_yield()


def _contents(files: ReportFiles) -> dict[str, object]:
    """Every file's content: the workbooks' cell values, the CSV files' bytes."""
    found: dict[str, object] = {}
    for path in (files.report, files.results_csv, files.failed):
        if path is None:
            continue
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path)
            found[path.name] = {ws.title: list(ws.iter_rows(values_only=True)) for ws in book}
        else:
            found[path.name] = path.read_bytes()
    return found


@pytest.mark.parametrize(("fmt", "max_sheet_rows"), [("csv", 100), ("xlsx", 100), ("xlsx", 4)])
def test_the_child_writes_the_same_files_as_one_process(
    tmp_path: Path, fmt: str, max_sheet_rows: int
) -> None:
    rows, pids = _rows(), tmp_path / "pids"
    one = write_report(tmp_path / "one", COLUMNS, rows, INFO, fmt, max_sheet_rows=max_sheet_rows)
    make = _recording(pids, rows)
    beside = ReportBeside(tmp_path / "two", COLUMNS, make, fmt, max_sheet_rows=max_sheet_rows)
    with beside as report:
        two = report.finish(INFO)
    assert _contents(two) == _contents(one)
    assert (two.rows, two.counts) == (one.rows, one.counts)
    assert (two.results_csv is None) == (one.results_csv is None)
    made = _made_by(pids)
    assert os.getpid() in made
    assert len(set(made)) == 2  # the rows were made in a second process too
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        p.name for p in (tmp_path / "one").iterdir()
    )


def test_an_error_in_the_child_is_raised_here_and_the_old_report_stays(tmp_path: Path) -> None:
    write(tmp_path, rows_of(Status.SENT, Status.FAILED))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    parent = os.getpid()

    def make() -> Iterator[ResultRow]:
        yield from _rows()
        if os.getpid() != parent:
            raise OSError(28, "No space left on device")

    with (
        pytest.raises(OSError, match="No space left") as caught,
        ReportBeside(tmp_path, COLUMNS, make, "csv") as report,
    ):
        report.finish(INFO)
    assert caught.value.errno == 28
    assert any("child process" in note for note in caught.value.__notes__)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_an_error_here_ends_the_child_and_the_old_report_stays(tmp_path: Path) -> None:
    write(tmp_path, rows_of(Status.SENT, Status.FAILED))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    pids, parent = tmp_path.parent / "pids", os.getpid()
    recorded = _recording(pids, _rows())

    def make() -> Iterator[ResultRow]:
        yield from recorded()
        if os.getpid() == parent:
            _wait_for(pids, 2)  # the child is at work
            raise OSError("the input went away")

    with (
        pytest.raises(OSError, match="went away"),
        ReportBeside(tmp_path, COLUMNS, make, "csv") as report,
    ):
        report.finish(INFO)
    (writer,) = [pid for pid in _made_by(pids) if pid != parent]
    with pytest.raises(ChildProcessError):  # ended and reaped: no zombie left
        os.waitpid(writer, os.WNOHANG)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_leaving_before_finish_ends_the_child_waiting_for_its_summary(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    out = tmp_path / "out"

    def plan_fails() -> None:
        with ReportBeside(out, COLUMNS, _recording(pids, _rows()), "csv"):
            _wait_for(pids, 1)  # the child has begun its rows
            raise KeyError("the plan failed")

    with pytest.raises(KeyError):
        plan_fails()
    with pytest.raises(ChildProcessError):
        os.waitpid(_made_by(pids)[0], os.WNOHANG)
    assert list(out.iterdir()) == []


def test_with_another_thread_running_no_child_is_forked(tmp_path: Path) -> None:
    pids, stop = tmp_path / "pids", threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not child.can_fork()
        with ReportBeside(tmp_path / "out", COLUMNS, _recording(pids, _rows()), "csv") as report:
            files = report.finish(INFO)
    finally:
        stop.set()
        other.join()
    assert _made_by(pids) == [os.getpid()]
    assert files.rows == len(_rows())
    assert child.can_fork()


def test_a_child_that_dies_without_a_word_is_reported(tmp_path: Path) -> None:
    writer = child.start(lambda receive: os._exit(3))
    with pytest.raises(child.ChildFailed, match="code 3"):
        writer.join()


def test_an_error_that_does_not_pickle_comes_back_as_its_text() -> None:
    class Local(Exception):
        """A local class: it does not pickle."""

    def work(receive: Callable[[], object]) -> None:
        raise Local("the sheet broke")

    writer = child.start(work)
    with pytest.raises(child.ChildFailed, match="Local: the sheet broke"):
        writer.join()


def test_the_child_gets_the_value_sent_after_it_started() -> None:
    def work(receive: Callable[[], object]) -> None:
        value = receive()
        if value != {"cost": 1.5}:
            raise AssertionError(f"got {value!r}")

    writer = child.start(work)
    writer.send({"cost": 1.5})
    writer.join()
    wrong = child.start(work)
    wrong.send({"cost": 2})
    with pytest.raises(AssertionError, match=r"got \{'cost': 2\}"):
        wrong.join()


def test_an_interrupt_while_joining_still_lets_stop_end_the_child() -> None:
    """Ctrl-C while this process waits for the child: stop() ends and reaps it, and raises
    nothing of its own over the interrupt."""

    def work(receive: Callable[[], object]) -> None:
        time.sleep(60)  # a long report; stop() ends it long before

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    writer = child.start(work)
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            writer.join()  # blocks until the child ends
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    writer.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(writer.pid, os.WNOHANG)
