"""Receipts per second at 50 concurrent clients: `batch-sms receipts serve` against a bare endpoint.

    python benchmarks/receipts.py                 # 10,000 receipts, 3 repetitions of each
    python benchmarks/receipts.py --quick         # 500 receipts, once each (a smoke run)

Each server runs in its own process: `batch-sms receipts serve` storing into a fresh state db
whose run holds one sent message per receipt (so every receipt maps, as in a campaign), and a
bare aiohttp endpoint that reads the same form and answers `success` without storing. The
clients (one aiohttp session, 50 connections) run in this process; the two kinds alternate in
every repetition, so load from other processes hits both alike. After each `receipts serve` run
the state db is checked: every receipt stored once and its message delivered. Goal: the
receiver's rate at least 0.7 of the bare endpoint's (exit 1 when missed).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from common import describe, machine, server, table

from batch_sms.journal import Journal, Result, RunInfo
from batch_sms.models import Message, Status

SCRIPT = Path(__file__).resolve()
GOAL = 0.7  # the receiver's rate over the bare endpoint's
RUN = "20261129-100000-bead"
TOKEN = "bench-token"  # noqa: S105 (a throwaway token for a throwaway db)


def make_db(path: Path, count: int) -> None:
    """A state db with a run of `count` messages, each accepted as M<n> (n from 1)."""
    with Journal(path) as journal:
        journal.create_run(RunInfo(RUN, time.time(), None, "b.csv", "b.csv", "0", "csv", None, {}))
        journal.add_messages(
            RUN,
            (
                Message(i + 2, 0, p, p, "Hello", 1, "GSM-7", 86, Status.READY)
                for i, p in enumerate(f"86139{i:08d}" for i in range(count))
            ),
        )
        ids = [q.id for q in journal.next_batch(RUN, 0, count)]
        journal.mark_inflight(ids, 1.0)
        journal.record([Result(i, Status.SENT, "0", "ok", f"M{i}", 1, 1.0) for i in ids])


def receipt(n: int) -> dict[str, str]:
    """The receipt the provider would push for message M<n>."""
    return {
        **{"phone": f"86139{n:08d}", "status": "2", "result": "DELIVRD"},
        **{"drtime": "2026-11-29 10:00:05", "sendtime": "2026-11-29 10:00:01"},
        **{"messageid": f"M{n}", "currency": "USD", "price": "0.0100", "rate": "0.0100"},
        **{"size": "1", "ext": f"{RUN}:{n + 1}:0"},
    }


async def push(url: str, count: int, clients: int) -> tuple[float, int]:
    """Push receipts 1..count from `clients` concurrent clients: (seconds, answers `success`)."""
    bodies = [receipt(n) for n in range(count, 0, -1)]
    ok = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal ok
            while bodies:
                async with session.post(url, data=bodies.pop()) as response:
                    ok += await response.text() == "success"

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - start, ok


def stored(path: Path) -> tuple[int, int, int]:
    """(receipts, distinct messageids, delivered messages) in a state db."""
    with sqlite3.connect(path) as db:
        total, distinct = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT messageid) FROM receipts"
        ).fetchone()
        [delivered] = db.execute(
            "SELECT COUNT(*) FROM messages WHERE status = 'delivered'"
        ).fetchone()
    return total, distinct, delivered


def bare_server() -> None:
    """Serve a bare endpoint that reads the form and answers `success`, until terminated."""

    async def receive(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="success")

    async def main() -> None:
        app = web.Application()
        app.router.add_route("POST", "/dr", receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        print(f"bare endpoint at http://127.0.0.1:{port}/dr", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def measure(kind: str, count: int, clients: int, work: Path) -> dict[str, float]:
    """One run of one kind against a fresh server process."""
    if kind == "bare":
        command = [sys.executable, str(SCRIPT), "--bare-server"]
        with server(command, r"(http://\S+)") as url:
            seconds, ok = asyncio.run(push(url, count, clients))
        return {"seconds": seconds, "ok": ok, "stored": 0}
    db = work / f"state-{time.monotonic_ns()}.db"
    make_db(db, count)
    command = [sys.executable, "-m", "batch_sms", "receipts", "serve", "--port", "0",
               "--state", str(db), "--token", TOKEN]  # fmt: skip
    with server(command, r"--dr-url '(\S+)'") as url:
        seconds, ok = asyncio.run(push(url, count, clients))
    total, distinct, delivered = stored(db)
    if not total == distinct == delivered == count:
        raise SystemExit(f"{db}: {total} stored, {distinct} distinct, {delivered} delivered")
    return {"seconds": seconds, "ok": ok, "stored": total}


def main(argv: list[str]) -> int:
    """Alternate the two kinds, print the table, the ratio and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=10_000, help="receipts per run [10,000]")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients [50]")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each [3]")
    parser.add_argument("--quick", action="store_true", help="500 receipts, once each")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_server:
        bare_server()
        return 0
    if args.quick:
        args.receipts, args.repeat = 500, 1
    kinds = {"bare": "bare aiohttp endpoint", "serve": "batch-sms receipts serve"}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="bench-receipts-") as tmp:
        for i in range(args.repeat):
            for kind in kinds:
                result = measure(kind, args.receipts, args.clients, Path(tmp))
                runs[kind].append(result)
                rate = args.receipts / result["seconds"]
                print(f"run {i + 1} {kind}: {rate:,.0f} receipts/s", file=sys.stderr)
    rates = {k: statistics.median(args.receipts / r["seconds"] for r in v) for k, v in runs.items()}
    lines = [
        [
            label,
            f"{args.receipts:,}",
            f"{args.clients}",
            f"{statistics.median(r['seconds'] for r in runs[kind]):.2f}",
            f"{rates[kind]:,.0f}",
            f"{min(r['ok'] for r in runs[kind]):,.0f}",
            f"{min(r['stored'] for r in runs[kind]):,.0f}" if kind == "serve" else "-",
        ]
        for kind, label in kinds.items()
    ]
    ratio = rates["serve"] / rates["bare"]
    print()
    header = ["endpoint", "receipts", "clients", "seconds", "receipts/s", "success", "stored"]
    print(table(header, lines))
    print()
    print(f"median of {args.repeat} runs, each server in its own process, a fresh one per run; "
          "success = answers `success` (the fewest of any run); stored = receipts in the state "
          "db after the run, each once, its message delivered")  # fmt: skip
    ok = ratio >= GOAL
    print(f"ratio receipts serve / bare: {ratio:.2f} (goal >= {GOAL}): {'met' if ok else 'MISSED'}")
    print()
    print(describe(machine()))
    print(f"- command: {shlex.join([sys.executable, *sys.argv])}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
