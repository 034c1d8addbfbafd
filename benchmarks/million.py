"""A million rows end to end: `batch-sms send --tps unlimited` of a big CSV against the sandbox.

    python benchmarks/million.py                 # 1,000,000 rows (~15-25 min on 2 shared cores)
    python benchmarks/million.py --rows 2000     # a smoke run

The sandbox runs in its own process (fake_provider.py --sandbox: no latency, no faults, no
caps, receipts off) and timestamps every arrival. `batch-sms send CSV --tps unlimited --yes`
runs in a fresh process; its peak RSS comes from wait4's rusage. batch-sms prints no stage
timings, so the stages are timed from the outside, on one clock (time.time()):

- pre-flight: from the start to the plan on stderr (start-up, loading, checks, the plan and the
  balance call);
- state db: from the plan to the first request at the sandbox (copying the input, recording the
  run and its messages);
- sending: from the first to the last request at the sandbox;
- report: from the last request to the exit (the last answers, the report files).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from common import clean_env, compile_once, print_results
from fake_provider import provider, stats
from send import finished, send_command, write_campaign

__all__ = ["collect"]

GOAL_MB = 1024  # peak RSS of the send (issue 13)


@dataclass(frozen=True)
class Stamped:
    """One run: start and end (time.time()), stdout, each stderr line with its time, peak RSS."""

    start: float
    end: float
    stdout: str
    stderr: list[tuple[float, str]]
    peak_mb: float


def run_stamped(command: list[str], cwd: Path, env: dict[str, str]) -> Stamped:
    """Run `command` in a fresh process, noting when each line of its stderr comes."""
    lines: list[tuple[float, str]] = []
    start = time.time()
    with subprocess.Popen(
        command, cwd=cwd, env={**clean_env(), **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip

        def read_stderr(stream: IO[str]) -> None:
            for line in stream:
                lines.append((time.time(), line))

        reader = threading.Thread(target=read_stderr, args=(proc.stderr,))
        reader.start()
        stdout = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        end = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join()
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} exited {proc.returncode}: {stdout}")
    return Stamped(start, end, stdout, lines, usage.ru_maxrss / 1024)


def collect(rows: int) -> list[list[str]]:
    """One send of `rows` rows; the table rows."""
    compile_once()
    with tempfile.TemporaryDirectory(prefix="bench-million-") as tmp:
        work = Path(tmp)
        csv_path = write_campaign(work / "campaign.csv", rows)
        with provider(sandbox=True) as mock:
            command = send_command(csv_path, mock.url, work, "unlimited", 20)
            command.remove("--quiet")  # the plan line marks the end of pre-flight
            done = run_stamped(command, work, mock.env())
            seen = stats(mock.url)
    finished(done.stdout, rows)
    plan = next((t for t, line in done.stderr if line.startswith("Plan")), None)
    if plan is None:
        raise SystemExit("batch-sms send printed no plan: " + json.dumps(done.stderr[-5:]))
    start, end = done.start, done.end
    stages = {
        "pre-flight": plan - start,
        "state db": seen.first - plan,
        "sending": seen.last - seen.first,
        "report": end - seen.last,
    }
    peak = done.peak_mb
    print(f"{rows:,} rows: {end - start:.1f} s, peak {peak:,.0f} MB, "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()), file=sys.stderr)  # fmt: skip
    name = f"send {rows:,} rows, unlimited TPS, sandbox"
    return [
        [name, "peak RSS of batch-sms send (wait4)", f"{peak:,.0f} MB", "",
         f"< {GOAL_MB:,} MB"],
        [name, "whole command", f"{end - start:,.1f} s ({rows / (end - start):,.0f} rows/s)", "",
         ""],
        [name, "stages, timed from outside: " + ", ".join(stages),
         ", ".join(f"{v:,.1f} s" for v in stages.values()), "", ""],
        [name, "sending, first to last request at the sandbox",
         f"{seen.rate():,.0f} msg/s", "", ""],
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    """Print the table, the machine and the command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows [1,000,000]")
    parser.add_argument("--quick", action="store_true", help="2,000 rows")
    args = parser.parse_args(argv)
    print_results(collect(2_000 if args.quick else args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
