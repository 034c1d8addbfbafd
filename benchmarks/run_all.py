"""Every benchmark of issue 13 in one command, as one Markdown table.

    python benchmarks/run_all.py                 # the full set (~30 min on 2 shared cores)
    python benchmarks/run_all.py --quick         # small sizes, once each (a smoke run, < 30 s)

In order: sending throughput beside a bare aiohttp loop against the sandbox and against the
minimal provider (send.py), rate accuracy at --tps 100,
300 and 1000 (rate.py), `batch-sms validate` beside a bare phonenumbers loop (bench_validate.py),
and a million-row send (million.py). Each measured thing runs in its own fresh process, and every
server in its own process too. The table's ratio is to the bare loop measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import bench_validate
import million
import rate
import send
from common import machine, print_results
from make_data import DEFAULT_SEED, ensure, generate

from batch_sms.config import EVENT_LOOPS

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run every benchmark, then print the table, the machine and the command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, once each")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions where alternated [3]")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the big send [1M]")
    args = parser.parse_args(argv)
    quick = args.quick
    repeat = 1 if quick else args.repeat
    load_before = machine()["load average"]
    start = time.perf_counter()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        for loop in EVENT_LOOPS:  # the goal is on asyncio; uvloop (an extra) beside it
            for server in send.SERVERS:  # the sandbox, then the minimal server (client-bound)
                rows += send.collect(300 if quick else 20_000, 20, repeat, server, loop)
        rows += rate.collect(0.5 if quick else 10.0, 0.02, 50)
        data = generate(Path(tmp) / "validate.csv", 500) if quick else ensure(200_000, DEFAULT_SEED)
        rows += bench_validate.collect(data, repeat)
        rows += million.collect(1_000 if quick else args.rows)
    took = f"{time.perf_counter() - start:,.0f} s"
    notes = {
        "load average before": load_before,
        "time of the whole set": took,
        "ratios": "to the bare loop of the same run; median of the repetitions (each in brackets)",
    }
    print_results(rows, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
