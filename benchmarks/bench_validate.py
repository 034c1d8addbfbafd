"""Pre-flight throughput and memory against a bare phonenumbers loop over the same numbers.

Target: pre-flight of a 1,000,000-row CSV runs at >= 0.8 of the throughput of a bare
`phonenumbers.parse` + `is_valid_number` loop over the same numbers, with peak RSS under 1.5 GB.

Each measured thing runs in its own fresh interpreter, the three kinds interleaved in every
repetition (bare, pre-flight, CLI, bare, ...) so load from other processes hits all alike.

    python benchmarks/bench_validate.py                      # 1,000,000 rows, 3 repetitions
    python benchmarks/bench_validate.py --rows 100000 --repeat 5 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import (
    Measured,
    compile_once,
    describe,
    machine,
    peak_rss_mb,
    run,
    run_worker,
    table,
)
from make_data import DEFAULT_SEED, ensure

SCRIPT = Path(__file__).resolve()
TARGET_RATIO, TARGET_MB = 0.8, 1500
VALIDATE_GOAL = 0.6  # batch-sms validate, report included, over the bare loop (issue 13)
_SEPARATORS = str.maketrans({",": ";", "/": ";", "\n": ";", "\r": ";"})


def bare_numbers(path: Path) -> list[str]:
    """The numbers of the phone column as a bare loop would feed them to phonenumbers.

    A cell with several numbers is split; "00" becomes "+" and a number without "+" gets one, as
    the data holds international digits (what pre-flight must do too with no default region).
    """
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        phone = next(reader).index("phone")
        cells = [record[phone] for record in reader]
    numbers = []
    for cell in cells:
        # An empty cell still costs pre-flight one (invalid) verdict, so it stays one entry.
        parts = [p.strip() for p in cell.translate(_SEPARATORS).split(";")]
        for text in [p for p in parts if p] or [""]:
            if text.startswith("00"):
                text = text[2:]
            numbers.append(text if text.startswith("+") else "+" + text)
    return numbers


def work_bare(path: Path) -> dict[str, Any]:
    """Time `parse(n, None)` + `is_valid_number` over every number (reading them is not timed)."""
    import phonenumbers
    from phonenumbers import NumberParseException

    numbers = bare_numbers(path)
    parse, is_valid = phonenumbers.parse, phonenumbers.is_valid_number
    valid = 0
    start, cpu = time.perf_counter(), time.process_time()
    for text in numbers:
        try:
            number = parse(text, None)
        except NumberParseException:
            continue
        if is_valid(number):
            valid += 1
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "numbers": len(numbers),
        "valid": valid,
        "peak_mb": peak_rss_mb(),
    }


def work_preflight(path: Path, template: str | None, profile: bool) -> dict[str, Any]:
    """Time load_settings + run_preflight: load, detect columns, render, validate, duplicates."""
    from batch_sms.checks.preflight import run_preflight
    from batch_sms.config import load_settings
    from batch_sms.models import Status

    options: dict[str, Any] = {"input": path, "template": template}
    profiler = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    settings = load_settings(options, environ={})
    checked = run_preflight(settings)
    if profiler is not None:
        profiler.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)
    counts = Counter(str(m.status) for m in checked.messages)
    with_phone = sum(1 for m in checked.messages if m.phone)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows": len(checked.table.rows),
        "numbers": len(checked.messages),
        "valid": with_phone,
        "counts": dict(counts),
        "ready": counts.get(Status.READY, 0),
        "peak_mb": peak_rss_mb(),
    }


def cli_command(path: Path, out: Path, template: str | None) -> list[str]:
    """The `batch-sms validate` command line (the venv's console script when it is there)."""
    script = Path(sys.executable).with_name("batch-sms")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "batch_sms"]
    extra = ["--template", template] if template else []
    return [*head, "validate", str(path), "--out", str(out), "--json", "--quiet", *extra]


def _check_cli(measured: Measured) -> None:
    """Stop unless the command ran through: exit 0 or 1 and its --json line (a crash exits 1)."""
    lines = measured.stdout.strip().splitlines()
    try:
        ok = measured.returncode in (0, 1) and "counts" in json.loads(lines[-1])
    except (IndexError, ValueError):
        ok = False
    if not ok:
        raise SystemExit(f"batch-sms validate failed (exit code {measured.returncode})")


def worker(argv: list[str]) -> int:
    """Worker side: measure one thing in this (fresh) process and print its JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=("bare", "preflight"), required=True)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--template")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    if args.worker == "bare":
        result = work_bare(args.path)
    else:
        result = work_preflight(args.path, args.template, args.profile)
    print(json.dumps(result))
    return 0


def _fmt_rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}"


def measure(
    path: Path, repeat: int, template: str | None, with_cli: bool, profile: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Measured]]:
    """Interleave fresh-process runs of the bare loop, pre-flight and (with_cli) the CLI."""
    compile_once()
    base = ["--path", str(path), *(["--template", template] if template else [])]
    bare: list[dict[str, Any]] = []
    pre: list[dict[str, Any]] = []
    cli: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        work = Path(tmp)  # cwd of every run: no batch-sms.toml is picked up by accident
        for i in range(repeat):
            bare.append(run_worker(SCRIPT, ["--worker", "bare", "--path", str(path)], work))
            pre.append(run_worker(SCRIPT, ["--worker", "preflight", *base], work))
            progress = f"run {i + 1}: bare {bare[-1]['seconds']:.2f} s, "
            progress += f"pre-flight {pre[-1]['seconds']:.2f} s"
            if with_cli:
                measured = run(cli_command(path, work / f"out{i}", template), work)
                _check_cli(measured)
                cli.append(measured)
                progress += f", batch-sms validate {measured.seconds:.2f} s"
            print(progress, file=sys.stderr)
        if profile:
            print("\ncProfile of one pre-flight run:", file=sys.stderr)
            run_worker(SCRIPT, ["--worker", "preflight", *base, "--profile"], work)
    return bare, pre, cli


def collect(path: Path, repeat: int) -> list[list[str]]:
    """The bare loop and `batch-sms validate` (report included) on the CSV at `path`: table rows
    of benchmark, measured, figure, ratio (bare seconds / its seconds, per run, median), goal."""
    bare, pre, cli = measure(path, repeat, None, True)
    name = f"validate {pre[0]['rows']:,} rows (make_data.py)"
    ratios = [b["seconds"] / c.seconds for b, c in zip(bare, cli, strict=True)]
    pre_ratios = [b["seconds"] / p["seconds"] for b, p in zip(bare, pre, strict=True)]
    t_bare = statistics.median(b["seconds"] for b in bare)
    t_pre = statistics.median(p["seconds"] for p in pre)
    t_cli = statistics.median(c.seconds for c in cli)
    mb = max(c.peak_mb for c in cli)
    return [
        [name, "bare phonenumbers parse + is_valid_number loop", f"{t_bare:.2f} s", "1.00", ""],
        [name, "run_preflight (load..duplicates)", f"{t_pre:.2f} s",
         f"{statistics.median(pre_ratios):.2f}", ""],
        [name, "batch-sms validate, report included (whole command)",
         f"{t_cli:.2f} s, peak {mb:,.0f} MB", f"{statistics.median(ratios):.2f}",
         f">= {VALIDATE_GOAL}"],
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    """Parent side: interleave fresh-process runs, print medians and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows [1,000,000]")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each [3]")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="data seed [1]")
    parser.add_argument("--template", help="render content with this template, not the column")
    parser.add_argument("--no-cli", action="store_true", help="skip the `batch-sms validate` run")
    parser.add_argument(
        "--profile", action="store_true", help="afterwards, profile one pre-flight with cProfile"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    path = ensure(args.rows, args.seed)
    print(f"data: {path} ({time.perf_counter() - start:.1f} s to find or make)", file=sys.stderr)
    bare, pre, cli = measure(path, args.repeat, args.template, not args.no_cli, args.profile)
    rows, numbers = pre[0]["rows"], pre[0]["numbers"]
    t_bare = statistics.median(r["seconds"] for r in bare)
    c_bare = statistics.median(r["cpu"] for r in bare)
    ratios = [b["seconds"] / p["seconds"] for b, p in zip(bare, pre, strict=True)]
    cpu_ratios = [b["cpu"] / p["cpu"] for b, p in zip(bare, pre, strict=True)]
    ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
    t_pre = statistics.median(r["seconds"] for r in pre)
    c_pre = statistics.median(r["cpu"] for r in pre)

    def line(
        label: str, wall: float, cpu: float, ratio: str, cpu_ratio: str, mb: float
    ) -> list[str]:
        return [label, f"{rows:,}", f"{wall:.2f}", f"{cpu:.2f}", _fmt_rate(rows, wall), ratio,
                cpu_ratio, f"{mb:,.0f}"]  # fmt: skip

    lines = [
        line("bare parse + is_valid_number", t_bare, c_bare, "1.00", "1.00",
             max(r["peak_mb"] for r in bare)),
        line("run_preflight (load..duplicates)", t_pre, c_pre, f"{ratio:.2f}", f"{cpu_ratio:.2f}",
             max(r["peak_mb"] for r in pre)),
    ]  # fmt: skip
    if cli:
        t_cli = statistics.median(m.seconds for m in cli)
        c_cli = statistics.median(m.cpu_seconds for m in cli)
        lines.append(
            line("batch-sms validate (+ report, startup)", t_cli, c_cli, f"{t_bare / t_cli:.2f}",
                 f"{c_bare / c_cli:.2f}", max(m.peak_mb for m in cli))
        )  # fmt: skip
    print()
    header = ["measured", "rows", "seconds", "cpu s", "rows/s", "ratio", "ratio (cpu)",
              "peak RSS MB"]  # fmt: skip
    print(table(header, lines))
    print()
    print(f"median of {args.repeat} interleaved runs; ratio = bare seconds / its seconds, per run "
          f"then median (wall per run: {', '.join(f'{r:.2f}' for r in ratios)}; cpu per run: "
          f"{', '.join(f'{r:.2f}' for r in cpu_ratios)})")  # fmt: skip
    print(f"numbers: {numbers:,} in {rows:,} rows; phonenumbers calls them valid: bare "
          f"{bare[0]['valid']:,}, pre-flight {pre[0]['valid']:,}")  # fmt: skip
    print(f"pre-flight statuses: {json.dumps(pre[0]['counts'], sort_keys=True)}")
    peak = max(r["peak_mb"] for r in pre)
    ok = min(ratio, cpu_ratio) >= TARGET_RATIO and peak < TARGET_MB
    verdict = "met" if ok else "MISSED"
    print(
        f"target (ratio >= {TARGET_RATIO} by wall and CPU time, peak < {TARGET_MB} MB): {verdict}"
    )
    print()
    print(describe(machine()))
    print(f"- command: {shlex.join([sys.executable, *sys.argv])}")
    if cli:
        shown = cli_command(path, Path("OUT"), args.template)
        print(f"- CLI run as: {shlex.join(shown)}")
    return 0 if ok else 1


if __name__ == "__main__":
    if "--worker" in sys.argv:
        raise SystemExit(worker(sys.argv[1:]))
    raise SystemExit(main(sys.argv[1:]))
