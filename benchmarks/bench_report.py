"""Report writing of a 1,000,000-row run: time and peak memory (target: under 1.5 GB).

Two kinds, each in its own fresh interpreter, interleaved in every repetition:

- `run`: the report of a finished send, as `batch-sms report RUN_ID` writes it: the input file
  loaded with batch_sms.input.loader, one journal.MessageRecord per recipient merged with
  workbook.result_rows, then workbook.write_report. The records are made up here, deterministically
  (about 80% delivered, 8% sent, some failed, undelivered, capped, unknown, invalid, duplicate),
  so the figure is the report's and not SQLite's.
- `validation`: the report of `batch-sms validate`: pre-flight, then workbook.validation_rows and
  workbook.write_report (peak memory includes the pre-flight's verdicts, which stay in memory).

write_report is timed; it pulls the lazily made result rows, whose cost alone is measured in the
same process and shown beside it. Peak RSS is the process's whole life; the peak while writing
is counted afresh when write_report starts (Linux /proc/self/clear_refs), because loading the
input has a larger transient peak of its own.

    python benchmarks/bench_report.py                          # 1,000,000 rows, 3 repetitions
    python benchmarks/bench_report.py --rows 100000 --kinds run --format xlsx
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import describe, machine, peak_rss_mb, reset_peak, run_worker, table
from make_data import DEFAULT_SEED, ensure

SCRIPT = Path(__file__).resolve()
TARGET_MB = 1500
RUN_ID = "20261125-001500-a1b2"
_T0 = 1_795_000_000.0

# (status, share) of a finished run's recipients; the rest of the shares go to "delivered".
_OUTCOMES = (
    ("sent", 0.08), ("failed", 0.03), ("undelivered", 0.02), ("capped", 0.004),
    ("unknown", 0.002), ("pending", 0.002),
)  # fmt: skip
_FAIL_CODES = ("6", "4", "2", "5")


def current_rss_mb() -> float:
    """This process's resident set size now, in MB."""
    import os

    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024**2


_DIGITS = str.maketrans("", "", "+ -()")


def records(rows: list[Any], seed: int) -> Iterator[Any]:
    """One journal.MessageRecord per recipient of `rows`, in (row, index) order, made up cheaply.

    The journal holds the normalised number and the error text; here the digits of the cell
    stand in for the first and a fixed share of rows is invalid or duplicate, so making a record
    costs little next to writing it (its cost alone is shown as "source s").
    """
    from batch_sms.journal import MessageRecord
    from batch_sms.models import Status

    rng = random.Random(seed)
    for row in rows:
        raw_cell, content = row.cells[1], row.cells[3]
        parts = raw_cell.replace(",", ";").split(";")
        segments = 1 if len(content) <= 160 else 2
        for index, raw in enumerate(parts):
            phone, error = raw.translate(_DIGITS), ""
            status, code, messageid, attempts = Status.DELIVERED, "0", "", 1
            sent_at: float | None = _T0 + row.number / 20
            next_at: float | None = None
            dr_status, dr_result, dr_time = "", "", ""
            roll = rng.random()
            if roll < 0.035 or not phone.isdigit():
                status, code, sent_at, attempts, phone = Status.INVALID, "", None, 0, ""
                error = f'phone "{raw}" is not a valid number'
            elif roll < 0.055:
                status, code, sent_at, attempts = Status.DUPLICATE, "", None, 0
                error = f"same number and text as row {max(2, row.number - 1000)}"
            else:
                roll, edge = rng.random(), 0.0
                for name, share in _OUTCOMES:
                    edge += share
                    if roll < edge:
                        status = Status(name)
                        break
                if status is Status.FAILED:
                    code, sent_at = rng.choice(_FAIL_CODES), None
                elif status in (Status.CAPPED, Status.PENDING, Status.UNKNOWN):
                    code, sent_at, attempts = "", None, int(status is Status.UNKNOWN)
                    next_at = _T0 + 3600 if status is Status.CAPPED else None
                if status in (Status.SENT, Status.DELIVERED, Status.UNDELIVERED):
                    messageid = f"{rng.getrandbits(128):032x}"
                if status in (Status.DELIVERED, Status.UNDELIVERED):
                    delivered = status is Status.DELIVERED
                    dr_status = "delivered" if delivered else "undeliverable"
                    dr_result = "0" if delivered else "2"
                    dr_time = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime((sent_at or 0) + 7))
            yield MessageRecord(
                row=row.number, index=index, raw_phone=raw, phone=phone, content=content,
                segments=segments, encoding="GSM-7", country_code=None, status=status, code=code,
                result="", messageid=messageid, attempts=attempts, sent_at=sent_at,
                next_at=next_at, error=error, warnings=(), dr_status=dr_status,
                dr_result=dr_result, dr_time=dr_time,
                sys_message_id=f"{RUN_ID}-{row.number}-{index}",
            )  # fmt: skip


def work(kind: str, path: Path, out: Path, fmt: str, seed: int) -> dict[str, Any]:
    """Load the input, build the row stream of `kind`, time write_report; report peak memory."""
    from batch_sms.checks.preflight import run_preflight
    from batch_sms.config import load_settings
    from batch_sms.input import loader
    from batch_sms.provider import nxcloud
    from batch_sms.report import workbook

    start = time.perf_counter()
    if kind == "run":
        table_ = loader.load(path)
        columns = table_.columns

        def stream() -> Any:  # an iterator of workbook.ResultRow
            return workbook.result_rows(table_.rows, records(table_.rows, seed), nxcloud.describe)
    else:
        checked = run_preflight(load_settings({"input": path}, environ={}))
        table_, columns = checked.table, checked.table.columns

        def stream() -> Any:  # an iterator of workbook.ResultRow
            return workbook.validation_rows(table_.rows, checked.messages)

    prep_seconds = time.perf_counter() - start
    # The rows are made lazily while write_report runs; made once here, kept nowhere, to time them.
    start = time.perf_counter()
    deque(stream(), 0)
    stream_seconds = time.perf_counter() - start
    before = current_rss_mb()
    summary = workbook.SummaryInfo(
        run_id=RUN_ID, title="Benchmark report", input_name=str(path), started_at=_T0,
        finished_at=_T0 + 50_000, settings={"tps": 20.0, "input": str(path)},
        describe=nxcloud.describe,
    )  # fmt: skip
    peak_before = peak_rss_mb()
    # The peak while writing, apart from the loader's (a transient that is gone by now).
    fresh_peak = reset_peak()
    start = time.perf_counter()
    files = workbook.write_report(out, columns, stream(), summary, fmt)
    seconds = time.perf_counter() - start
    write_peak = peak_rss_mb()
    sizes = {p.name: p.stat().st_size for p in (files.report, files.results_csv, files.failed) if p}
    return {
        "seconds": seconds,
        "prep_seconds": prep_seconds,
        "stream_seconds": stream_seconds,
        "rows": files.rows,
        "counts": files.counts,
        "before_mb": before,
        "peak_mb": max(peak_before, write_peak),
        "write_peak_mb": write_peak if fresh_peak else None,
        "sizes": sizes,
    }


def _mb(runs: list[dict[str, Any]]) -> str:
    """The largest peak while writing, or "n/a" where the peak could not be reset."""
    peaks = [r["write_peak_mb"] for r in runs if r["write_peak_mb"] is not None]
    return f"{max(peaks):,.0f}" if peaks else "n/a"


def worker(argv: list[str]) -> int:
    """Worker side: one measurement in this fresh process, printed as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=("run", "validation"), required=True)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--format", default="csv")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    print(json.dumps(work(args.worker, args.path, args.out, args.format, args.seed)))
    return 0


def main(argv: list[str]) -> int:
    """Parent side: interleave the kinds in fresh processes, print medians and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows [1,000,000]")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each [3]")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="data seed [1]")
    parser.add_argument(
        "--kinds", default="run,validation", help="comma-separated: run, validation [both]"
    )
    parser.add_argument(
        "--format", default="csv", choices=("csv", "xlsx"),
        help="input format the report is written for: csv adds results.csv and failed.csv, "
        "xlsx writes failed.xlsx [csv]",
    )  # fmt: skip
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    path = ensure(args.rows, args.seed)
    print(f"data: {path}", file=sys.stderr)
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        work_dir = Path(tmp)
        for i in range(args.repeat):
            for kind in kinds:
                out = work_dir / f"{kind}{i}"
                command = ["--worker", kind, "--path", str(path), "--out", str(out),
                           "--format", args.format, "--seed", str(args.seed)]  # fmt: skip
                result = run_worker(SCRIPT, command, work_dir)
                results[kind].append(result)
                print(f"run {i + 1} {kind}: write_report {result['seconds']:.2f} s, peak "
                      f"{result['peak_mb']:,.0f} MB", file=sys.stderr)  # fmt: skip
    lines = []
    worst = 0.0
    for kind, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        stream = statistics.median(r["stream_seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        worst = max(worst, peak)
        rows = runs[0]["rows"]
        label = {"run": "send report (result_rows)", "validation": "validate report"}[kind]
        lines.append([
            f"{label}, {args.format} input", f"{rows:,}", f"{seconds:.2f}", f"{stream:.2f}",
            f"{seconds - stream:.2f}", f"{rows / seconds:,.0f}",
            f"{statistics.median(r['before_mb'] for r in runs):,.0f}", _mb(runs), f"{peak:,.0f}",
            f"{statistics.median(r['prep_seconds'] for r in runs):.2f}",
        ])  # fmt: skip
    print()
    header = ["write_report of", "rows", "seconds", "rows s", "writing s", "rows/s",
              "RSS before MB", "peak writing MB", "peak RSS MB", "prep s"]  # fmt: skip
    print(table(header, lines))
    print()
    print(f"median of {args.repeat} runs (peak: the largest). seconds = write_report, which pulls "
          "the lazily made result rows; rows s = making those rows alone (the made-up records "
          "and result_rows, or validation_rows), timed in the same process; writing s = the "
          "difference; prep s = loading the input (run) or the pre-flight (validation) before, "
          "not part of seconds; RSS before = resident memory when write_report starts; peak "
          "writing = the peak during write_report (counted afresh from its start); peak RSS = "
          "the process's whole life")  # fmt: skip
    for kind, runs in results.items():
        sizes = ", ".join(f"{name} {size / 1e6:,.1f} MB" for name, size in runs[0]["sizes"].items())
        print(f"{kind}: files {sizes}; rows by status {json.dumps(runs[0]['counts'])}")
    ok = worst < TARGET_MB
    print(f"target (peak < {TARGET_MB} MB): {'met' if ok else 'MISSED'}")
    print()
    print(describe(machine()))
    print(f"- command: {shlex.join([sys.executable, *sys.argv])}")
    return 0 if ok else 1


if __name__ == "__main__":
    if "--worker" in sys.argv:
        raise SystemExit(worker(sys.argv[1:]))
    raise SystemExit(main(sys.argv[1:]))
