"""Dispatch against the sandbox: rate accuracy at a TPS limit, and throughput with no limit.

    python benchmarks/dispatch_rate.py rate --messages 2000 --tps 100
    python benchmarks/dispatch_rate.py throughput --messages 20000 --concurrency 20

`rate` sets the sandbox's TPS limit equal to --tps and reports the code-28 answers and the most
arrivals the sandbox saw in any sliding second (both must stay at 0 and <= tps). `throughput`
sends with no TPS limit and reports messages per second, with the sandbox in a background
thread (as `send --sandbox` runs it) or, with --same-loop, on the dispatcher's own event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from batch_sms.dispatch import DispatchResult, DispatchSettings, dispatch
from batch_sms.dispatch.limits import most_in_window
from batch_sms.journal import Journal, RunInfo
from batch_sms.models import Message, Status
from batch_sms.provider.client import Client
from batch_sms.provider.nxcloud import Credentials
from batch_sms.sandbox.server import Sandbox, SandboxConfig, running, serve


def tightest(times: Sequence[float], limit: int | None) -> float | None:
    """The shortest span of limit + 1 consecutive times (None without a limit)."""
    ordered = sorted(times)
    if limit is None or len(ordered) <= limit:
        return None
    return round(min(b - a for a, b in zip(ordered, ordered[limit:], strict=False)), 4)


def make_run(journal: Journal, run_id: str, count: int) -> None:
    """A run of `count` messages to distinct numbers."""
    journal.create_run(
        RunInfo(run_id, time.time(), None, "bench.csv", "bench.csv", "0" * 64, "csv", None, {})
    )
    journal.add_messages(
        run_id,
        (
            Message(i + 2, 0, p, p, f"Hello {i}", 1, "GSM-7", 86, Status.READY)
            for i, p in enumerate(f"86138{i:08d}" for i in range(count))
        ),
    )


async def _dispatch(
    url: str, creds: Credentials, journal: Journal, settings: DispatchSettings
) -> tuple[DispatchResult, float]:
    async with aiohttp.ClientSession() as session:
        client = Client(session, url, creds)
        t0 = time.perf_counter()
        result = await dispatch("bench-0000001", journal, client, settings)
        return result, time.perf_counter() - t0


async def _same_loop(
    config: SandboxConfig, journal: Journal, settings: DispatchSettings
) -> tuple[DispatchResult, float, Sandbox]:
    async with serve(config) as sandbox:
        result, seconds = await _dispatch(sandbox.url, config.credentials, journal, settings)
        return result, seconds, sandbox


def bench(mode: str, messages: int, tps: float | None, concurrency: int, same_loop: bool) -> Any:
    """Run one measurement and return its numbers."""
    limit = int(tps) if mode == "rate" and tps is not None else None
    config = SandboxConfig(tps_limit=limit, hourly_cap=None, balance=1e9, dr_delay=3600)
    settings = DispatchSettings(tps=tps if mode == "rate" else None, concurrency=concurrency)
    with tempfile.TemporaryDirectory() as tmp, Journal(Path(tmp) / "state.db") as journal:
        make_run(journal, "bench-0000001", messages)
        if same_loop:
            result, seconds, sandbox = asyncio.run(_same_loop(config, journal, settings))
        else:
            with running(config) as handle:
                result, seconds = asyncio.run(
                    _dispatch(handle.url, handle.credentials, journal, settings)
                )
                sandbox = handle.sandbox
        return {
            "mode": mode,
            "messages": messages,
            "tps": settings.tps,
            "concurrency": concurrency,
            "sandbox": "same loop" if same_loop else "thread",
            "counts": result.counts,
            "seconds": round(seconds, 2),
            "messages_per_second": round(messages / seconds, 1),
            "answers_28": sandbox.answers["28"],
            "most_arrivals_in_a_second": most_in_window(sandbox.arrivals),
            # How close the sandbox came to seeing one arrival too many: the shortest time
            # spanned by tps + 1 consecutive arrivals (more than 1.0 s keeps the limit).
            "shortest_span_of_tps_plus_1": tightest(sandbox.arrivals, limit),
        }


def main() -> None:
    """Parse the command line and print one JSON line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("rate", "throughput"))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--tps", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--same-loop", action="store_true")
    args = parser.parse_args()
    out = bench(args.mode, args.messages, args.tps, args.concurrency, args.same_loop)
    print(json.dumps(out))
    if args.mode == "rate" and (out["answers_28"] or out["most_arrivals_in_a_second"] > args.tps):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
