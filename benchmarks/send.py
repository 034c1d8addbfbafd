"""Sending throughput: `batch-sms send --tps unlimited` beside a bare aiohttp loop, same server.

    python benchmarks/send.py                    # 20,000 messages at concurrency 20, 3 repetitions
    python benchmarks/send.py --server minimal   # against the minimal provider instead
    python benchmarks/send.py --quick            # 300 messages, once (a smoke run)

Each run gets a fresh provider in its own process (fake_provider.py), timestamping every
arrival: by default batch-sms's sandbox with faults, caps, latency and receipts off (every check
the provider makes, as nxcloud-api.md says), or with `--server minimal` a server that checks
only the headers and the signature and answers code 0: so little work that the client alone
sets the pace (a harder test than any provider). The bare loop runs in a fresh process:
20 coroutines over one aiohttp session that, for each message, build the JSON body (the same
fields batch-sms sends: appKey, phone, content, sysMessageId, ext), sign it as it leaves, POST,
parse the answer and keep nothing. `batch-sms send CSV --tps unlimited --yes` sends the same
messages from a generated CSV, with a fresh state db and output folder. The two kinds alternate
in every repetition. Figures: messages per second from the first to the last request at the
server, and for the whole command (interpreter start to exit: pre-flight, state db, sending,
report) messages over its wall time. Ratios are to the bare loop's rate at the server, per
repetition, then the median.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from common import compile_once, print_results, run, run_worker
from fake_provider import Provider, provider, stats

from batch_sms.config import EVENT_LOOPS
from batch_sms.models import Credentials
from batch_sms.provider.nxcloud import ACTION, BIZ_TYPE, SEND_PATH, sign

__all__ = ["collect", "send_command", "write_campaign"]

SCRIPT = Path(__file__).resolve()
PATH_GOAL, WHOLE_GOAL = 0.9, 0.7  # of the bare loop (issue 13)
RUN_ID = "20261129-120000-0a1b"  # the shape of batch-sms's run ids: the same bytes per request
SERVERS = ("sandbox", "minimal")


def messages(count: int) -> Iterator[tuple[str, str]]:
    """`count` distinct (phone, content) pairs: valid CN mobile numbers, one text each."""
    for i in range(count):
        yield f"86138{i:08d}", f"Hello {i}, your order #{i:07d} is ready for collection."


def write_campaign(path: Path, count: int) -> Path:
    """A CSV of `count` distinct messages (phone, content)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["phone", "content"])
        writer.writerows(messages(count))
    return path


async def bare_loop(url: str, creds: Credentials, count: int, concurrency: int) -> dict[str, Any]:
    """Sign each request as it leaves, POST, parse the answer, keep nothing: seconds, accepted."""
    pending = iter(enumerate(messages(count)))
    accepted = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        for i, (phone, content) in pending:
            fields = {"appKey": creds.app_key, "phone": phone, "content": content,
                      "sysMessageId": f"{RUN_ID}-{i + 2}-0",
                      "ext": f"{RUN_ID}:{i + 2}:0"}  # fmt: skip
            body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {"accessKey": creds.access_key, "ts": str(int(time.time() * 1000)),
                       "bizType": BIZ_TYPE, "action": ACTION}  # fmt: skip
            headers["sign"] = sign(headers, body, creds.access_secret)
            headers["Content-Type"] = "application/json"
            async with session.post(url + SEND_PATH, data=body, headers=headers) as response:
                accepted += json.loads(await response.read())["code"] == "0"

    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return {"seconds": time.perf_counter() - start, "accepted": accepted}


def send_command(
    csv_path: Path, url: str, work: Path, tps: str, concurrency: int, event_loop: str = "asyncio"
) -> list[str]:
    """`batch-sms send` of the CSV to `url`, with its own state db and output folder."""
    tag = time.monotonic_ns()
    return [sys.executable, "-m", "batch_sms", "send", str(csv_path), "--tps", tps, "--yes",
            "--concurrency", str(concurrency), "--base-url", url, "--hourly-cap", "1000000",
            "--state", str(work / f"state-{tag}.db"), "--out", str(work / f"out-{tag}"),
            "--event-loop", event_loop, "--json", "--quiet"]  # fmt: skip


def finished(stdout: str, count: int) -> None:
    """Stop when the command did not send every message."""
    lines = stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    if result.get("counts") != {"sent": count}:
        raise SystemExit(f"batch-sms send did not send all {count}: {result}")


def measure(
    kind: str, server: str, loop: str, count: int, concurrency: int, csv_path: Path, work: Path
) -> dict[str, Any]:
    """One run of one kind against a fresh provider process (`server`: sandbox or minimal), on
    the event loop `loop` (asyncio or uvloop)."""
    with provider(sandbox=server == "sandbox") as mock:
        if kind == "bare":
            args = ["--bare", mock.url, *_keys(mock), str(count), str(concurrency), loop]
            result = run_worker(SCRIPT, args, work)
            whole = result["seconds"]
        else:
            command = send_command(csv_path, mock.url, work, "unlimited", concurrency, loop)
            measured = run(command, work, mock.env())
            finished(measured.stdout, count)
            whole = measured.seconds
        seen = stats(mock.url)
    if seen.arrivals != count or seen.answers.get("0") != count:
        raise SystemExit(f"{kind}: the server saw {seen.arrivals} sends, answers {seen.answers}")
    return {"server": seen.rate(), "whole": count / whole, "seconds": whole}


def _keys(mock: Provider) -> list[str]:
    c = mock.credentials
    return [c.access_key, c.access_secret, c.app_key]


def collect(
    count: int, concurrency: int, repeat: int, server: str = "sandbox", loop: str = "asyncio"
) -> list[list[str]]:
    """Alternate the bare loop and `batch-sms send`; the table rows (medians over repetitions)."""
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "send": []}
    compile_once()
    with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp:
        work = Path(tmp)
        csv_path = write_campaign(work / "campaign.csv", count)
        for i in range(repeat):
            for kind in ("bare", "send") if i % 2 == 0 else ("send", "bare"):
                runs[kind].append(measure(kind, server, loop, count, concurrency, csv_path, work))
                r = runs[kind][-1]
                print(f"run {i + 1} {kind} ({server}, {loop}): {r['server']:,.0f}/s at the server, "
                      f"{r['whole']:,.0f}/s whole", file=sys.stderr)  # fmt: skip
    bare, send = runs["bare"], runs["send"]
    path = [s["server"] / b["server"] for b, s in zip(bare, send, strict=True)]
    whole = [s["whole"] / b["server"] for b, s in zip(bare, send, strict=True)]
    name = f"send {count:,} msgs, concurrency {concurrency}, {server} server"
    name += ", both on uvloop" if loop == "uvloop" else ""

    def rate(values: list[dict[str, Any]], key: str) -> str:
        return f"{statistics.median(v[key] for v in values):,.0f} msg/s"

    def ratio(values: list[float]) -> str:
        each = ", ".join(f"{v:.2f}" for v in values)
        return f"{statistics.median(values):.2f}" + (f" ({each})" if len(values) > 1 else "")

    def goal(ratio: float) -> str:
        """The issue's goals hold on asyncio, the bare loop's own; uvloop is shown beside."""
        return f">= {ratio}" if loop == "asyncio" else "(none on uvloop)"

    seconds = statistics.median(s["seconds"] for s in send)
    return [
        [name, "bare aiohttp loop, first to last request at the server", rate(bare, "server"),
         "1.00", ""],
        [name, "batch-sms send, first to last request at the server", rate(send, "server"),
         ratio(path), goal(PATH_GOAL)],
        [name, "batch-sms send, whole command", f"{rate(send, 'whole')} ({seconds:.1f} s)",
         ratio(whole), goal(WHOLE_GOAL)],
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    """Print the table, the machine and the command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages per run [20,000]")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight [20]")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each kind [3]")
    parser.add_argument("--server", choices=SERVERS, default="sandbox",
                        help="the provider process: the sandbox or the minimal one")  # fmt: skip
    parser.add_argument("--event-loop", choices=EVENT_LOOPS, default="asyncio",
                        help="the loop both kinds run on [asyncio]")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="300 messages, once")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.repeat = 300, 1
    rows = collect(args.messages, args.concurrency, args.repeat, args.server, args.event_loop)
    print_results(rows)
    return 0


def bare_worker(argv: list[str]) -> int:
    """Worker side: run the bare loop and print its JSON."""
    url, key, secret, app_key, count, concurrency, loop = argv
    main = bare_loop(url, Credentials(key, secret, app_key), int(count), int(concurrency))
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(main)
    else:
        result = asyncio.run(main)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bare"]:
        sys.exit(bare_worker(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
